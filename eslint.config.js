// Lint: type-aware TypeScript rules everywhere (no floating promises), and
// determinism rules for workflows/ (workflow code runs in Temporal's sandbox and
// is replayed: no I/O, no Node built-ins, no clients, no real randomness).
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`, `${m}/*`]);

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.tools/**', '.data/**', '.scratch/**', 'coverage/**', 'bin/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'codec/*.cjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      // Workflow and activity functions are async by contract even when they do not await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts', 'test/fixtures/*workflows*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code is deterministic: no Node built-ins (do I/O in an activity).' })),
          patterns: [
            {
              group: ['@temporalio/worker', '@temporalio/client', '@temporalio/activity', '@temporalio/testing'],
              message: 'Workflows import only @temporalio/workflow and @temporalio/common.',
            },
            {
              group: ['@kubernetes/*', '**/activities/*', '!**/activities/types*'],
              allowTypeImports: true,
              message: 'Workflows reach the cluster through activities only (import type is fine).',
            },
          ],
        },
      ],
      'no-restricted-properties': ['error', { object: 'crypto', property: 'randomUUID', message: 'Use uuid4() from @temporalio/workflow.' }],
      'no-restricted-globals': [
        'error',
        { name: 'fetch', message: 'No I/O in workflows: call an activity.' },
        { name: 'process', message: 'No process state in workflows: pass it in the workflow input.' },
      ],
    },
  },
);
