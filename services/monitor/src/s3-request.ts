import { requestTimeout } from './errors.ts'
import type { ScanTarget } from './scan-context.ts'
import { withBudget } from './request-budget.ts'

export type S3Operation = 'list' | 'head'

/** Whole-answer deadline of one S3 request, SDK retries included, when the target names none. */
export const DEFAULT_REQUEST_DEADLINE_MS = 60_000

/** What a request needs of its scan: the bucket's slots, the scan's signal and the deadline. */
export type RequestScope = Pick<ScanTarget, 'region' | 'signal' | 'requestDeadlineMs' | 'onRequestTimeout' | 'budget'> & { bucket: { name: string } }

/**
 * One S3 request in one of the bucket's region slots, each of its attempts within the bucket's
 * request budget. It ends when the scan ends or when its own deadline passes, whatever the
 * store does: a store that accepts the request and never answers holds the slot for the
 * deadline at most, never for good.
 */
export async function s3Request<T> (target: RequestScope, operation: S3Operation, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return await target.region.run(async () => {
    const deadlineMs = target.requestDeadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS
    const deadline = AbortSignal.timeout(deadlineMs)
    try {
      const signal = AbortSignal.any([target.signal, deadline])
      return await withBudget(target.budget, () => send(signal))
    } catch (err) {
      throw timedOut(target, operation, err, deadline.aborted && !target.signal.aborted, deadlineMs)
    }
  })
}

function timedOut (target: RequestScope, operation: S3Operation, err: unknown, pastDeadline: boolean, deadlineMs: number): unknown {
  // The handler's own timeouts (connect, first byte, idle socket) end an attempt as a TimeoutError.
  if (!pastDeadline && (err as { name?: string }).name !== 'TimeoutError') return err
  target.onRequestTimeout?.(operation)
  const detail = pastDeadline ? `no complete answer within ${deadlineMs} ms` : (err as Error).message
  return requestTimeout(operation, target.bucket.name, detail, err)
}
