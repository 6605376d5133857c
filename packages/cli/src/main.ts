#!/usr/bin/env node
import { run } from './program.ts'

// The only file of the CLI that reads the environment, handles signals or exits.

const controller = new AbortController()
process.once('SIGINT', () => controller.abort())
process.once('SIGTERM', () => controller.abort())

async function readStdin (): Promise<string[]> {
  if (process.stdin.isTTY) return []
  let text = ''
  for await (const chunk of process.stdin) text += String(chunk)
  return text.split(/\r?\n/)
}

const code = await run(process.argv.slice(2), {
  env: process.env, stdout: process.stdout, stderr: process.stderr, readStdin, now: Date.now, signal: controller.signal
})
process.exitCode = code
if (controller.signal.aborted) process.exit(code)
