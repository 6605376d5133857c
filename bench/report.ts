// Writes a benchmark's JSON result, a short Markdown report and SVG charts under results/
// (git-ignored), so a run can be read by a person and compared by a machine.
import { mkdirSync, writeFileSync } from 'node:fs'

export const RESULTS_DIR = 'results'

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

export function summarize (values: number[]) {
  const sorted = [...values].sort((a, b) => a - b)
  return { n: sorted.length, min: sorted[0] ?? NaN, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN }
}

export function writeResult (name: string, result: unknown, markdown: string, charts: Record<string, string> = {}): void {
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(`${RESULTS_DIR}/${name}.json`, JSON.stringify(result, null, 2))
  writeFileSync(`${RESULTS_DIR}/${name}.md`, markdown)
  for (const [file, svg] of Object.entries(charts)) writeFileSync(`${RESULTS_DIR}/${file}`, svg)
}

const escape = (s: string) => s.replace(/[<>&]/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!)

/** A bar chart: one bar per bucket of values (a histogram) or per time step (throughput). */
export function barChart ({ title, bars, xLabel, yLabel }: { title: string, bars: Array<{ label: string, value: number }>, xLabel: string, yLabel: string }): string {
  const width = 640
  const height = 320
  const pad = { left: 56, right: 16, top: 36, bottom: 56 }
  const plotW = width - pad.left - pad.right
  const plotH = height - pad.top - pad.bottom
  const max = Math.max(1, ...bars.map(b => b.value))
  const barW = plotW / Math.max(1, bars.length)
  const labelEvery = Math.max(1, Math.ceil(bars.length / 12))
  const rects = bars.map((b, i) => {
    const h = (b.value / max) * plotH
    const x = pad.left + i * barW
    const label = i % labelEvery === 0 ? `<text x="${x + barW / 2}" y="${height - pad.bottom + 14}" font-size="10" text-anchor="middle">${escape(b.label)}</text>` : ''
    return `<rect x="${x + 1}" y="${pad.top + plotH - h}" width="${Math.max(1, barW - 2)}" height="${h}" fill="#3b82f6"><title>${escape(b.label)}: ${b.value}</title></rect>${label}`
  }).join('')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="20" font-size="14" text-anchor="middle">${escape(title)}</text>
<line x1="${pad.left}" y1="${pad.top + plotH}" x2="${width - pad.right}" y2="${pad.top + plotH}" stroke="#333"/>
<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${pad.top + plotH}" stroke="#333"/>
<text x="${pad.left - 6}" y="${pad.top + 4}" font-size="10" text-anchor="end">${max}</text>
<text x="${pad.left - 6}" y="${pad.top + plotH}" font-size="10" text-anchor="end">0</text>
${rects}
<text x="${width / 2}" y="${height - 12}" font-size="11" text-anchor="middle">${escape(xLabel)}</text>
<text x="14" y="${pad.top + plotH / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${pad.top + plotH / 2})">${escape(yLabel)}</text>
</svg>
`
}

/** Counts values into `bins` equal-width bins between 0 and the maximum. */
export function histogram (values: number[], bins: number, unit: string): Array<{ label: string, value: number }> {
  const max = Math.max(...values, 1e-9)
  const width = max / bins
  const counts = new Array<number>(bins).fill(0)
  for (const v of values) counts[Math.min(bins - 1, Math.floor(v / width))]!++
  return counts.map((value, i) => ({ label: `${(i * width).toFixed(width < 1 ? 2 : 1)}${unit}`, value }))
}
