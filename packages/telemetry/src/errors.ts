/** Turns anything thrown into an Error, keeping the original as `cause`. */
export function toError (thrown: unknown): Error {
  if (thrown instanceof Error) return thrown
  return new Error(typeof thrown === 'string' ? thrown : 'non-error thrown', { cause: thrown })
}
