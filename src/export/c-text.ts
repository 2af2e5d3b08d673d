/** Leaf helpers that turn values into C source text: literals, identifiers, comments. */

/** A u64 as a C literal: `0x200000ULL`. */
export function cU64(v: bigint | number): string {
  const b = BigInt(v);
  if (b < 0n || b >= 1n << 64n) throw new RangeError(`${b} is not a u64`);
  return `0x${b.toString(16)}ULL`;
}

/** A string as a C string literal (ASCII; anything else escaped as octal). */
export function cString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** An identifier from a name: `vcpu0` → `vcpu0`, `my-scenario` → `my_scenario`. */
export function cIdent(s: string): string {
  const id = s.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(id) ? `_${id}` : id;
}

/** Typographic characters of the docs' prose, as ASCII for a C file. */
const ASCII: Readonly<Record<string, string>> = { '…': '...', '—': '-', '–': '-', '↔': '<->', '→': '->', '←': '<-', '≤': '<=', '≥': '>=', '×': 'x', 'µ': 'u', '’': "'", '“': '"', '”': '"' };

/** Text as ASCII where it has a usual spelling (the rest is kept). */
export function asciiText(s: string): string {
  return s.replace(/[…—–↔→←≤≥×µ’“”]/g, (c) => ASCII[c] ?? c);
}

/** Text as a C block comment, wrapped at `width` columns; `*​/` cannot end it early. */
export function cComment(lines: readonly string[], width = 90): string {
  const out: string[] = ['/*'];
  for (const line of lines) {
    const safe = asciiText(line).replace(/\*\//g, '* /');
    if (safe === '') { out.push(' *'); continue; }
    const indent = /^ */.exec(safe)![0];
    let cur = '';
    for (const word of safe.trim().split(/ +/)) {
      if (cur !== '' && indent.length + cur.length + word.length + 4 > width) { out.push(` * ${indent}${cur}`); cur = word; }
      else cur = cur === '' ? word : `${cur} ${word}`;
    }
    out.push(` * ${indent}${cur}`);
  }
  out.push(' */');
  return out.join('\n');
}

/** A long token split into a comment's lines of at most `width` characters. */
export function chunk(s: string, width: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += width) out.push(s.slice(i, i + width));
  return out;
}
