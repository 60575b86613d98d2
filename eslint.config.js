// ESLint flat config: typescript-eslint recommended rules for all TypeScript sources.
import tseslint from 'typescript-eslint';

export default tseslint.config(
    { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'charts/**'] },
    ...tseslint.configs.recommended,
    {
        rules: {
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
            '@typescript-eslint/consistent-type-imports': 'error',
            'no-console': ['error', { allow: ['error'] }],
        },
    },
    {
        files: ['scripts/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
        rules: { 'no-console': 'off' },
    },
);
