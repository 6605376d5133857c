import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { unsupportedNode } from '@internal/telemetry'
// @ts-expect-error plain JavaScript script without type declarations
import { nodeProblem, NODE_MAJOR } from '../scripts/ensure-node.mjs'

const engines = JSON.parse(readFileSync('package.json', 'utf8')).engines.node as string

test('the project runs on Node.js 24, stated once in package.json engines', () => {
  assert.equal(engines, '>=24')
  assert.equal(NODE_MAJOR, 24)
  assert.ok(Number(process.versions.node.split('.')[0]) >= 24, `tests run on ${process.version}`)
})

test('an older node gets one line naming the version needed and how to get it', () => {
  for (const line of [nodeProblem('v20.20.2'), unsupportedNode('v20.20.2')]) {
    assert.match(line, /Node\.js 24 or newer/)
    assert.match(line, /v20\.20\.2/)
    assert.match(line, /nodejs\.org/)
    assert.doesNotMatch(line, /\n/)
  }
  assert.equal(nodeProblem('v24.0.0'), undefined)
  assert.equal(unsupportedNode('v24.22.3'), undefined)
  assert.equal(unsupportedNode('v25.1.0'), undefined)
})
