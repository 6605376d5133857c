import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { chromium, type Browser } from 'playwright-core'
import { startApi, type Harness } from './api-harness.ts'

// The docs page at /api/docs, opened by headless Chromium (Debian's chromium package): the
// page loads only from the monitor (no CDN) and lists every operation of /api/openapi.json.

const CHROMIUM = '/usr/bin/chromium'
// Without the background-networking flags Chromium keeps calling Google's hosts, which this
// machine's closed network refuses, many at a time.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']

let h: Harness
let browser: Browser
let base: string
before(async () => {
  h = await startApi()
  base = await h.app.listen({ host: '127.0.0.1', port: 0 })
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 }) // a fresh temporary profile
})
after(async () => {
  await browser?.close()
  await h.close()
})

test('/api/docs in headless Chromium lists every operation, loading nothing from elsewhere', { timeout: 60_000 }, async () => {
  const doc = await (await fetch(`${base}/api/openapi.json`)).json() as { paths: Record<string, Record<string, { operationId: string }>> }
  const expected = Object.values(doc.paths).flatMap(methods => Object.values(methods).map(op => op.operationId)).sort()
  const page = await browser.newPage()
  const foreign: string[] = []
  page.on('request', request => { if (!request.url().startsWith(base) && !request.url().startsWith('data:')) foreign.push(request.url()) })
  const res = await page.goto(`${base}/api/docs`)
  assert.equal(res?.status(), 200)
  await page.waitForSelector('.opblock', { timeout: 20_000 })
  // Swagger UI renders one block per operation, with its operationId shown (displayOperationId).
  const shown = (await page.locator('.opblock-summary-operation-id').allTextContents()).map(s => s.trim()).sort()
  assert.deepEqual(shown, expected)
  assert.deepEqual(foreign, [], 'every file comes from the monitor')
  assert.match(await page.title(), /watch-folder API/)
})
