// One linter for the whole repository: neostandard with TypeScript, as fastify, pino, undici
// and platformatic use it.
import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['node_modules/**', '.tools/**', 'results/**'] }),
  {
    rules: {
      // `void promise` as a statement marks a promise deliberately left to run (its errors are
      // handled inside); as an expression it hides what is returned.
      'no-void': ['error', { allowAsStatement: true }]
    }
  },
  {
    files: ['**/*.ts'],
    rules: {
      // A zod schema and the type inferred from it share one name on purpose (`const Bucket` and
      // `type Bucket`); TypeScript itself refuses real redeclarations.
      '@typescript-eslint/no-redeclare': 'off',
      // A leading underscore names what is there only to be skipped (`for await (const _ of pages)`).
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', ignoreRestSiblings: true }]
    }
  },
  {
    // Tests send `${...}` on purpose: placeholders that must arrive as written.
    files: ['**/test/**', 'test/**'],
    rules: { 'no-template-curly-in-string': 'off' }
  }
]
