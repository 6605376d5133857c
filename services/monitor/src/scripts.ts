import type { Redis } from 'ioredis'
import { defineScript } from '@internal/redis'

const lua = (name: string) => new URL(`../lua/${name}.lua`, import.meta.url)

/** The monitor's Lua commands on one connection, typed. */
export function monitorScripts (redis: Redis) {
  const compareRange = defineScript<Array<string | Buffer>, Array<number | string>>(redis, 'wfCompareRange', lua('compareRange'), 1)
  const commit = defineScript<string[], number[]>(redis, 'wfCommitChunks', lua('commitChunks'), 5)
  const finish = defineScript<string[], number>(redis, 'wfFinishScan', lua('finishScan'), 8)
  const renew = defineScript<[string, number, number, string], number>(redis, 'wfRenewLease', lua('renewLease'), 2)
  const finishFast = defineScript<string[], number>(redis, 'wfFinishFastScan', lua('finishFastScan'), 4)
  const progress = defineScript<string[], number>(redis, 'wfScanProgress', lua('scanProgress'), 2)
  return { compareRange, commit, finish, finishFast, renew, progress, claim: defineScript<Array<string | number>, string[]>(redis, 'wfClaimBuckets', lua('claimBuckets'), 'variadic') }
}

export type MonitorScripts = ReturnType<typeof monitorScripts>
