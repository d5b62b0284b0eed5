// canonical_cases.js — the reference for jcs_canonicalize_text (tests/unit/test_jcs.c).
// Generates N random JSON texts (seeded: the same cases every run) with keys
// and strings that hold U+0000, controls, astral characters, escapes in any
// spelling, and numbers in many forms, and prints for each one line:
//   hex(UTF-8 input text) TAB hex(UTF-8 canonical form)
// where the canonical form is ECMAScript's own: JSON.parse, keys sorted by
// UTF-16 code units (Array.prototype.sort), JSON.stringify for leaves —
// exactly what RFC 8785 specifies.
// Usage: node tests/jcs/canonical_cases.js [N] [SEED] > cases.txt
'use strict';
const N = Number(process.argv[2] || 3000);
let seed = BigInt(process.argv[3] || '0x6a63732d636173');
function rnd() {                       // xorshift64*, as a float in [0, 1)
  seed ^= seed >> 12n; seed ^= (seed << 25n) & 0xffffffffffffffffn; seed ^= seed >> 27n;
  const x = (seed * 0x2545F4914F6CDD1Dn) & 0xffffffffffffffffn;
  return Number(x >> 11n) / 2 ** 53;
}
const int = (n) => Math.floor(rnd() * n);
const pick = (a) => a[int(a.length)];

const POOLS = [
  () => 0x20 + int(95),                                  // printable ASCII
  () => int(0x20),                                       // controls, U+0000 included
  () => pick([0x22, 0x5c, 0x2f, 0x7f]),                  // " \ / DEL
  () => pick([0xe9, 0x4e2d, 0xfb33, 0x2028, 0x2029, 0xfeff, 0xffff, 0x80]),
  () => pick([0x1f600, 0x10ffff, 0x10000, 0x1d11e]),     // astral
];
function randString(max) {
  const cps = [];
  for (let n = int(max + 1); n > 0; n--) cps.push(pick(POOLS)());
  return cps;
}
const hex4 = (u) => { const h = u.toString(16).padStart(4, '0'); return rnd() < 0.5 ? h : h.toUpperCase(); };
function writeString(cps) {
  let s = '"';
  for (const cp of cps) {
    const short = { 0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x2f: '\\/' }[cp];
    const must = cp < 0x20 || cp === 0x22 || cp === 0x5c;
    if (short && (must || rnd() < 0.3) && rnd() < 0.7) s += short;
    else if (must || rnd() < 0.2) {
      if (cp >= 0x10000) { const v = cp - 0x10000; s += '\\u' + hex4(0xd800 + (v >> 10)) + '\\u' + hex4(0xdc00 + (v & 0x3ff)); }
      else s += '\\u' + hex4(cp);
    } else s += String.fromCodePoint(cp);
  }
  return s + '"';
}
function digits(n, first) { let s = first ? String(1 + int(9)) : ''; while (s.length < n) s += int(10); return s; }
function writeNumber() {
  let s = rnd() < 0.3 ? '-' : '';
  s += rnd() < 0.2 ? '0' : digits(1 + int(20), true);
  if (rnd() < 0.5) s += '.' + digits(1 + int(20), false);
  if (rnd() < 0.4) s += pick(['e', 'E']) + pick(['', '+', '-']) + int(280);   // 20 digits e+280 stays finite
  return s;
}
const ws = () => pick(['', '', '', ' ', '\n', '\t', '\r\n  ']);
function writeValue(depth) {
  const r = rnd();
  if (depth < 4 && r < 0.25) {
    const keys = new Set(), parts = [];
    for (let n = int(6); n > 0; n--) {
      const k = randString(6), ks = String.fromCodePoint(...k);
      if (keys.has(ks)) continue;                       // no duplicates: JSON.parse keeps the last
      keys.add(ks);
      parts.push(ws() + writeString(k) + ws() + ':' + writeValue(depth + 1));
    }
    return ws() + '{' + parts.join(',') + ws() + '}' + ws();
  }
  if (depth < 4 && r < 0.4) {
    const parts = [];
    for (let n = int(5); n > 0; n--) parts.push(writeValue(depth + 1));
    return ws() + '[' + parts.join(',') + ws() + ']' + ws();
  }
  if (r < 0.6) return ws() + writeString(randString(10)) + ws();
  if (r < 0.85) return ws() + writeNumber() + ws();
  return ws() + pick(['true', 'false', 'null']) + ws();
}
function canon(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
}
const out = [];
for (let i = 0; i < N; i++) {
  const text = writeValue(0);
  out.push(Buffer.from(text, 'utf8').toString('hex') + '\t' +
           Buffer.from(canon(JSON.parse(text)), 'utf8').toString('hex'));
}
process.stdout.write(out.join('\n') + '\n');
