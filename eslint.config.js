// Lint rules: typescript-eslint's recommended set, lines of at most 120 columns (Prettier wraps code, not strings or
// comments), and no locale-dependent comparison in workflow code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'test/fixtures/', 'bench/results/', '.temporal/', '.wingman/', 'results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // A handler registered before the plan loads reads a variable assigned after it.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'max-len': ['error', { code: 120 }],
    },
  },
  {
    // Workflow code is replayed: it must not depend on the machine's locale or clock.
    files: ['src/workflows/**/*.ts', 'src/instructions/ordering.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='localeCompare']",
          message: 'locale-dependent: use compareIds',
        },
      ],
    },
  },
);
