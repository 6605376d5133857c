/** Resolves with `work`'s result, or `undefined` once `timeoutMs` has passed. */
export async function withDeadline<T> (work: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<undefined>(resolve => { timer = setTimeout(() => resolve(undefined), timeoutMs).unref() })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Runs every close step in order, carrying on past failures, and reports whether all
 * finished within the deadline.
 */
export async function closeWithDeadline (steps: Array<() => Promise<unknown>>, timeoutMs: number, onError: (err: unknown) => void): Promise<boolean> {
  const all = (async () => {
    for (const step of steps) {
      try { await step() } catch (err) { onError(err) }
    }
    return true
  })()
  return (await withDeadline(all, timeoutMs)) ?? false
}
