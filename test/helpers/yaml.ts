/**
 * The subset of YAML the repository's manifests are written in, read without a YAML
 * library: block mappings and sequences by indentation, `#` comment lines, plain,
 * double-quoted and JSON-flow (`[2, 3]`, `["sh", "-c", "…"]`) scalars. Anything else is
 * an error, so a manifest that leaves the subset fails its test instead of being misread.
 */

interface Line {
  readonly indent: number;
  readonly text: string;
  readonly no: number;
}

function scalar(raw: string, no: number): unknown {
  const s = raw.trim();
  if (s.startsWith('"') || s.startsWith('[') || s.startsWith('{')) {
    try {
      return JSON.parse(s);
    } catch {
      throw new Error(`line ${no}: '${s}' is outside the YAML subset (JSON-compatible quoted and flow values only)`);
    }
  }
  if (s === 'true' || s === 'false') return s === 'true';
  if (s === 'null' || s === '~') return null;
  if (/^-?[0-9]+(\.[0-9]+)?$/.test(s)) return Number(s);
  if (/^['|>&*!]/.test(s)) throw new Error(`line ${no}: '${s}' is outside the YAML subset`);
  return s;
}

function block(lines: Line[], at: number, indent: number): [unknown, number] {
  const first = lines[at]!;
  if (first.text === '-' || first.text.startsWith('- ')) {
    const seq: unknown[] = [];
    let i = at;
    while (i < lines.length && lines[i]!.indent === indent && (lines[i]!.text === '-' || lines[i]!.text.startsWith('- '))) {
      const rest = lines[i]!.text.slice(2);
      if (rest.trim() === '') {
        const [v, next] = block(lines, i + 1, lines[i + 1]!.indent);
        seq.push(v);
        i = next;
      } else if (/^[A-Za-z0-9_.\/-]+:( |$)/.test(rest)) {
        lines[i] = { indent: indent + 2, text: rest, no: lines[i]!.no };
        const [v, next] = block(lines, i, indent + 2);
        seq.push(v);
        i = next;
      } else {
        seq.push(scalar(rest, lines[i]!.no));
        i++;
      }
    }
    return [seq, i];
  }
  const map: Record<string, unknown> = {};
  let i = at;
  while (i < lines.length && lines[i]!.indent === indent && !lines[i]!.text.startsWith('- ')) {
    const m = /^([A-Za-z0-9_.\/-]+):(?: (.*))?$/.exec(lines[i]!.text);
    if (!m) throw new Error(`line ${lines[i]!.no}: '${lines[i]!.text}' is not 'key: value'`);
    const next = lines[i + 1];
    if (m[2] !== undefined && m[2].trim() !== '') [map[m[1]!], i] = [scalar(m[2], lines[i]!.no), i + 1];
    else if (next !== undefined && (next.indent > indent || (next.indent === indent && next.text.startsWith('- ')))) [map[m[1]!], i] = block(lines, i + 1, next.indent);
    else [map[m[1]!], i] = [null, i + 1];
  }
  if (i < lines.length && lines[i]!.indent > indent) throw new Error(`line ${lines[i]!.no}: unexpected indentation`);
  return [map, i];
}

/** One YAML document of the subset, as plain values. */
export function parseYamlSubset(text: string): unknown {
  const lines: Line[] = [];
  text.split('\n').forEach((raw, k) => {
    if (raw.trim() === '' || raw.trim().startsWith('#') || raw.trim() === '---') return;
    if (raw.includes('\t')) throw new Error(`line ${k + 1}: a tab`);
    lines.push({ indent: raw.length - raw.trimStart().length, text: raw.trim(), no: k + 1 });
  });
  if (lines.length === 0) return null;
  const [v, end] = block(lines, 0, lines[0]!.indent);
  if (end !== lines.length) throw new Error(`line ${lines[end]!.no}: unexpected indentation`);
  return v;
}
