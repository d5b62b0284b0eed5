// number_strings.js — the reference for jcs_format_double (tests/unit/test_jcs.c).
// Reads one IEEE-754 double per line as 16 hex digits (big-endian bit pattern)
// on stdin and prints ECMAScript String(x) for each, one per line.
// Usage: node tests/jcs/number_strings.js < bits.txt > strings.txt
'use strict';
const fs = require('fs');
const lines = fs.readFileSync(0, 'latin1').split('\n');
const buf = Buffer.alloc(8);
const out = [];
for (const line of lines) {
  const hex = line.trim();
  if (hex === '') continue;
  if (!/^[0-9a-fA-F]{16}$/.test(hex)) {
    process.stderr.write(`bad line: ${JSON.stringify(line)}\n`);
    process.exit(2);
  }
  buf.write(hex, 0, 'hex');
  out.push(String(buf.readDoubleBE(0)));
}
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
