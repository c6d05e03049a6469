// What start-batch --no-worker can tell from the pollers' identities about claim checks.
import { expect, test } from '@jest/globals';
import { judgeStores, parseIdentity } from '../../../src/cli/blob-stores.js';
import { workerIdentity } from '../../../src/worker.js';

const ws = (store: string, inline = 1000) => parseIdentity('workspace', `1@a blobs=${store} inline=${inline}`);
const llm = (store: string) => parseIdentity('llm-openai', `2@b blobs=${store} inline=1000`);
const small = [{ id: 'WORKER_001', bytes: 700 }];

test('the identity a worker advertises is what the starter reads back', () => {
  expect(parseIdentity('q', workerIdentity({ where: 'local:host-a:/srv/state/artifacts' }, 262144))).toMatchObject({
    store: 'local:host-a:/srv/state/artifacts',
    inlineMax: 262144,
  });
});

test('one store (one machine, or a shared bucket): nothing to say', () => {
  expect(judgeStores([ws('local:a:/s')], [llm('local:a:/s')], small)).toEqual({ refuse: null, warn: null });
  expect(judgeStores([ws('s3:http://minio:9000/w')], [llm('s3:http://minio:9000/w')], small)).toEqual({
    refuse: null,
    warn: null,
  });
});

test('different stores: a warning while every instruction fits inline, a refusal when one does not', () => {
  const warned = judgeStores([ws('local:a:/s')], [llm('local:b:/s')], small);
  expect(warned.refuse).toBeNull();
  expect(warned.warn).toMatch(/do not share a blob store .*texts over 1000 bytes will fail as ArtifactMissing/);
  const refused = judgeStores(
    [ws('local:a:/s')],
    [llm('s3:http://minio:9000/w')],
    [...small, { id: 'WORKER_002', bytes: 5000 }],
  );
  expect(refused.refuse).toMatch(/WORKER_002 is larger than their inline limit \(1000 bytes\)/);
});

test('workers that do not say where they put claim checks (older versions) are not judged', () => {
  const old = parseIdentity('llm-openai', '3@c');
  expect(old.store).toBeNull();
  expect(judgeStores([ws('local:a:/s')], [old], [{ id: 'WORKER_003', bytes: 99_999 }])).toEqual({
    refuse: null,
    warn: null,
  });
  expect(judgeStores([], [llm('local:b:/s')], small)).toEqual({ refuse: null, warn: null });
});
