// `npm run bench [name...]`: runs the benchmark suites whose name contains one of the
// arguments (all without arguments). Each suite is a module exporting `run()`.
const suites = ['scan', 'scan-latency', 'delivery', 'delivery-subscriptions', 'pipeline', 'scale', 'activity']

const filters = process.argv.slice(2)
const selected = suites.filter(name => filters.length === 0 || filters.some(f => name.includes(f)))
if (selected.length === 0) {
  process.stderr.write(`no benchmark matches ${filters.join(', ')}; suites: ${suites.join(', ')}\n`)
  process.exitCode = 1
}
for (const name of selected) {
  const suite = await import(`./${name}.ts`) as { run: () => Promise<void> }
  await suite.run()
}
