import type { Recorder } from '@internal/redis'

interface QueuedFields { event_id: string, bucket: string, key: string, event_type: string, detection_time?: number }

/**
 * What the scanner reports of its commits: each enqueued event is recorded in the attempt
 * history (so a bucket's event list shows it before any delivery) and announced as a
 * detection on the activity stream, both in the background.
 */
export function recordDetections (recorder: Recorder, now: () => number): (events: string[]) => void {
  return events => {
    const at = new Date(now()).toISOString()
    for (const json of events) {
      const event = JSON.parse(json) as QueuedFields & Record<string, unknown>
      recorder.add({ event }, { kind: 'detection', at, bucket: event.bucket, key: event.key, event_id: event.event_id, type: event.event_type })
    }
  }
}
