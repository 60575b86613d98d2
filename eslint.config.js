// ESLint flat config: typescript-eslint's recommended rules for all TypeScript sources, plus the
// type-aware rules that catch promises nobody awaits or handles (a rejected floating promise is
// a silent failure, or an unhandled rejection, in a long-running controller).
import tseslint from 'typescript-eslint';

export default tseslint.config(
    { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'charts/**', 'eslint.config.js'] },
    ...tseslint.configs.recommended,
    {
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        rules: {
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
            '@typescript-eslint/consistent-type-imports': 'error',
            '@typescript-eslint/no-floating-promises': [
                'error',
                // node:test's describe/it return promises the runner itself tracks.
                { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
            ],
            '@typescript-eslint/no-misused-promises': 'error',
            'no-console': ['error', { allow: ['error'] }],
        },
    },
    {
        files: ['scripts/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
        rules: { 'no-console': 'off' },
    },
);
