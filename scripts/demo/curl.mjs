// A stand-in for the few curl options the demo uses (-s -f -X -H -d URL), for machines
// without curl. Prints the body; with -f, exits 22 on an HTTP error as curl does.
const args = process.argv.slice(2)
const headers = {}
let method; let body; let url; let fail = false
for (let i = 0; i < args.length; i++) {
  const a = args[i]
  if (a === '-X') method = args[++i]
  else if (a === '-H') { const h = args[++i]; const at = h.indexOf(':'); headers[h.slice(0, at).trim()] = h.slice(at + 1).trim() } else if (a === '-d') body = args[++i]
  else if (/^-[a-zA-Z]+$/.test(a)) fail ||= a.includes('f')
  else url = a
}
try {
  const res = await fetch(url, { method: method ?? (body === undefined ? 'GET' : 'POST'), headers, body })
  process.stdout.write(await res.text())
  process.exitCode = fail && res.status >= 400 ? 22 : 0
} catch {
  process.exitCode = 7 // curl: failed to connect
}
