// Lint: eslint's and typescript-eslint's recommended rules (syntax-level, fast).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // wasm_exec.js is the Go toolchain's WASM support file, shipped beside the module it runs.
  { ignores: ['**/node_modules/**', 'infra/.cache/**', 'infra/.data/**', '**/dist/**', '**/wasm_exec.js', 'services/console/web/src/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', AbortSignal: 'readonly', AbortController: 'readonly', fetch: 'readonly', performance: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', structuredClone: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Ambient declarations for untyped packages (infra/src/oidc/oidc-provider.d.ts).
      '@typescript-eslint/triple-slash-reference': 'off',
    },
  },
  {
    // Tests read loosely typed JSON answers.
    files: ['**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
