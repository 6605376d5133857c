import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createConfig, lintFromString } from '@redocly/openapi-core'
import { startApi, type Harness } from './api-harness.ts'

// /api/openapi.json as tools take it: fetched without a token, linted by Redocly's
// recommended rules with zero errors, and describing the bodies the routes really take.

let h: Harness
before(async () => { h = await startApi() })
after(async () => { await h.close() })

const fetchDocument = async () => {
  const res = await h.app.inject({ method: 'GET', url: '/api/openapi.json', headers: { host: 'monitor.example:8080' } })
  assert.equal(res.statusCode, 200)
  return res.json()
}

// Two warnings are facts, not omissions: the repository states no license, and fetching this
// document cannot fail with a 4xx.
const EXPECTED_WARNINGS = ['info-license', 'operation-4xx-response']

test('Redocly\'s recommended rules find no error in the document, and only the expected warnings', async () => {
  const doc = await fetchDocument()
  const config = await createConfig({ extends: ['recommended'] })
  const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config })
  const shown = problems.map(p => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)
  assert.deepEqual(shown.filter(p => p.startsWith('error')), [], shown.join('\n'))
  assert.deepEqual(problems.filter(p => !EXPECTED_WARNINGS.includes(p.ruleId)).map(p => p.ruleId), [], shown.join('\n'))
  assert.ok(problems.every(p => p.ruleId !== 'operation-4xx-response' || p.location[0]?.pointer === '#/paths/~1api~1openapi.json/get/responses'), shown.join('\n'))
})

test('every operation has an operationId, summary, description and its error answers; servers and scopes are set', async () => {
  const doc = await fetchDocument()
  assert.deepEqual(doc.servers, [{ url: 'http://monitor.example:8080', description: 'This monitor' }])
  assert.deepEqual(Object.keys(doc.components.securitySchemes.oauth2.flows.clientCredentials.scopes), ['read', 'write'])
  const ids = new Set<string>()
  for (const [path, methods] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(methods)) {
      const where = `${method} ${path}`
      for (const key of ['operationId', 'summary', 'description']) assert.ok(op[key], `${where} ${key}`)
      assert.ok(!ids.has(op.operationId), `${where} operationId unique`)
      ids.add(op.operationId)
      assert.ok(op.responses['500'], `${where} 500`)
      if (op.security.length > 0) {
        assert.deepEqual(op.security[0], { oauth2: [method === 'get' ? 'read' : 'write'] }, where)
        for (const status of ['401', '403', '503']) assert.ok(op.responses[status], `${where} ${status}`)
      }
    }
  }
  for (const [name, schema] of Object.entries<any>(doc.components.schemas)) assert.ok(schema.description, `schema ${name}`)
})

test('request bodies are declared as the routes take them', async () => {
  const doc = await fetchDocument()
  const resync = doc.paths['/api/buckets/{name}/resync'].post
  assert.equal(resync.requestBody.required, false, 'the resync body is optional')
  const noBody = await h.app.inject({ method: 'POST', url: '/api/buckets/nope/resync', headers: { authorization: `Bearer ${await h.token()}` } })
  assert.equal(noBody.statusCode, 404, 'a resync without a body reaches the route')
  const token = doc.paths['/api/auth/token'].post
  assert.deepEqual(Object.keys(token.requestBody.content), ['application/json', 'application/x-www-form-urlencoded'])
  assert.deepEqual(token.security, [])
  assert.deepEqual(Object.keys(token.responses['429'].headers), ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After'])
  assert.ok(doc.paths['/api/buckets'].get.responses['503'].headers['Retry-After'])
  assert.deepEqual(doc.components.schemas.AddBucket.required, ['name', 'access_key', 'secret_key'])
})
