// The start-batch flags of the whole-suite step.
import { parseStartArgs, UsageError } from '../../../src/cli/start-args.js';

const base = ['--workers', 'w', '--workspace', 'ws', '--python-root', 'wingman'];

test('--suite CMD and --no-suite; neither means the default suite', () => {
  expect(parseStartArgs(base)).toMatchObject({ suite: undefined, noSuite: false });
  expect(parseStartArgs([...base, '--suite', 'python -m pytest tests -q'])).toMatchObject({
    suite: 'python -m pytest tests -q',
    noSuite: false,
  });
  expect(parseStartArgs([...base, '--no-suite'])).toMatchObject({ noSuite: true });
  expect(() => parseStartArgs([...base, '--suite'])).toThrow(UsageError);
  expect(() => parseStartArgs([...base, '--suite', ''])).toThrow(/--suite/);
});
