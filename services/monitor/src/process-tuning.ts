/**
 * The Node, V8 and allocator settings the monitor is shipped with. Dockerfile.monitor (CMD
 * and ENV) and package.json's `monitor` script write them out, the k8s manifests and
 * docker-compose.yml run the image as built, and the benchmarks start their monitor
 * processes with these: test/process-tuning.test.ts checks that every place says exactly
 * this. Measured with `npm run bench -- scan-latency` (README: Performance).
 *
 * Without them a first scan of 1,000,000 objects took the process from 130 MB to 450-495 MB
 * of RSS while its live heap stayed under 40 MB: V8 sized its young generation and its
 * old-generation limit for the machine (64 MB semi-spaces, a 4 GB limit), and glibc kept
 * freed page buffers in per-thread arenas.
 */
export const MONITOR_NODE_FLAGS = [
  // Short-lived page, event and command strings die young; 2 MB semi-spaces collect them
  // often instead of letting the young generation grow to 3 x 64 MB.
  '--max-semi-space-size=2',
  // Half the pod's 512 Mi limit (k8s/base/monitor/deployment.yaml): a 2,000-bucket monitor
  // lives in well under that, and the limit keeps V8 from letting garbage pile up toward 4 GB.
  '--max-old-space-size=256'
] as const

export const MONITOR_ENV = {
  // Two malloc arenas instead of eight per core: freed buffers are reused, not spread out.
  MALLOC_ARENA_MAX: '2',
  // Buffers above 128 KiB (response bodies, Redis replies) are mapped and unmapped on their
  // own; glibc would otherwise raise this threshold and keep such blocks after free.
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072'
} as const
