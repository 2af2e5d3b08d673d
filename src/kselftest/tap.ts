/**
 * TAP version 13 as kselftest prints it: the version line, the plan `1..N`, one line per
 * test (`ok N name`, `not ok N name # reason`, `ok N name # SKIP reason`), and
 * diagnostics as `# ` lines. Names and reasons are made one line, and a `#` in a name
 * (which a TAP reader would take as the start of a directive) becomes `-`.
 */

import type { Subtest } from './harness.js';

/** One line of text: newlines and runs of whitespace become one space. */
function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** The TAP line of test `n`. */
export function tapLine(n: number, t: Subtest): string {
  const name = oneLine(t.name).replace(/#/g, '-');
  switch (t.status) {
    case 'ok': return `ok ${n} ${name}`;
    case 'skip': return `ok ${n} ${name} # SKIP ${oneLine(t.reason ?? '')}`.trimEnd();
    case 'not ok': return `not ok ${n} ${name}${t.reason !== undefined ? ` # ${oneLine(t.reason)}` : ''}`;
  }
}

/** A whole TAP 13 document: header diagnostics, the plan, the tests, trailing diagnostics. */
export function tapDocument(tests: readonly Subtest[], header: readonly string[] = [], trailer: readonly string[] = []): string {
  const lines = ['TAP version 13', ...header.map((h) => `# ${oneLine(h)}`), `1..${tests.length}`];
  tests.forEach((t, i) => lines.push(tapLine(i + 1, t)));
  for (const d of trailer) lines.push(`# ${oneLine(d)}`);
  return `${lines.join('\n')}\n`;
}
