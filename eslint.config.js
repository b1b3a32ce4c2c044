import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // src/config/generated holds ajv's code, written by scripts/write-validators.ts and checked against it by a test.
  { ignores: ['dist/**', '.test-build/**', 'node_modules/**', 'coverage/**', 'src/config/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
