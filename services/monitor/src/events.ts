import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { eventId, isRecent, type ChangeEvent, type EventType } from '@internal/events'
import type { ObjectVersion } from './fingerprint.ts'
import type { ScanTarget } from './scan-context.ts'
import { s3Request } from './s3-request.ts'

export interface HeadInfo {
  contentType: string
  metadata: Record<string, string>
  /** Why HeadObject gave no answer for an object that exists; the event carries it as `head_error`. */
  error?: string
}

/** What `detected` objects carry without a HeadObject, as the Python monitor sent them. */
export const NO_HEAD: HeadInfo = { contentType: 'application/octet-stream', metadata: {} }

/** An event with exactly the Python monitor's payload fields plus `event_id`. */
export function buildEvent (target: Pick<ScanTarget, 'bucket' | 'regionName' | 'idEpoch'>, key: string, version: ObjectVersion, type: EventType, head: HeadInfo, nowMs: number): ChangeEvent {
  const lastModified = version.lastModifiedMs / 1000
  const nowSec = nowMs / 1000
  const bucket = target.bucket.name
  return {
    bucket,
    key,
    region: target.regionName,
    etag: version.etag,
    size: version.size,
    last_modified: lastModified,
    event_type: type,
    content_type: head.contentType,
    metadata: head.metadata,
    detection_time: nowSec,
    is_recent: isRecent(lastModified, nowSec),
    event_id: eventId({ bucket, key, etag: version.etag, last_modified: lastModified, event_type: type }, target.idEpoch),
    ...(head.error !== undefined && { head_error: head.error })
  }
}

/**
 * content_type and metadata of an object; undefined when it is gone (deleted since listed).
 * Any other failure (after the SDK's own retries) comes back as `error`, unless the scan
 * itself has ended: the caller decides whether to retry the object on a later scan.
 */
export async function headObject (target: ScanTarget, key: string): Promise<HeadInfo | undefined> {
  try {
    const head = await s3Request(target, 'head', abortSignal => target.client.send(
      new HeadObjectCommand({ Bucket: target.bucket.name, Key: key }), { abortSignal }
    ))
    return { contentType: head.ContentType ?? NO_HEAD.contentType, metadata: head.Metadata ?? {} }
  } catch (err) {
    const e = err as { name?: string, $metadata?: { httpStatusCode?: number } }
    const status = e.$metadata?.httpStatusCode
    if (e.name === 'NotFound' || status === 404) return undefined
    // Refused for this one object (400 for an SSE-C object read without its key, 403 from an
    // object ACL): the same answer on every rescan, so failing the page would hold back the
    // rest of the bucket forever. The event goes out with what a `detected` one carries.
    if (status === 400 || status === 403) return NO_HEAD
    if (target.signal.aborted) throw err
    return { ...NO_HEAD, error: describeHeadError(err) }
  }
}

function describeHeadError (err: unknown): string {
  const e = err as { name?: string, message?: string, code?: string, $metadata?: { httpStatusCode?: number } }
  const status = e.$metadata?.httpStatusCode
  const message = (e.message ?? '').split('\n')[0]!.slice(0, 200)
  return [e.name ?? 'Error', status !== undefined ? `(HTTP ${status})` : e.code && `(${e.code})`].filter(Boolean).join(' ') + (message ? `: ${message}` : '')
}
