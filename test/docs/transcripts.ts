/**
 * Docs that run: finds the command transcripts in README.md and docs/**, runs them with the
 * built CLI, and renders them from current output.
 *
 * The convention, for every Markdown page of the project:
 *
 * - A fenced block ```console whose first line is `$ faultline ARGS` is a *checked*
 *   transcript: the test runs `faultline ARGS` and compares its stdout with the lines below
 *   the command (trailing spaces and trailing empty lines ignored). A command may continue
 *   on the next line after a `\`; arguments are split as a shell would (quotes allowed, no
 *   pipes or variables). A block may hold several commands; `$ echo $?` followed by a
 *   number checks the exit status of the command before it. A line that is only `…`
 *   stands for any number of lines (to leave out a long middle, or a line that holds a
 *   time). Stderr (progress, warnings) is not compared.
 * - Output that depends on threads or timing goes in a ```text block after a line that
 *   begins `Example output` (e.g. "Example output (threads and timing vary):"). Those are
 *   never run.
 * - A ```console block that does not start with `$ faultline`, or a `$ faultline` block of
 *   another kind without the example line, is an error: a transcript is either checked or
 *   labelled as an example.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from build/test/docs/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A line of expected output that matches any number of output lines. */
export const ELISION = '…';

/** One `$ faultline …` of a checked transcript. */
export interface DocCommand {
  /** 1-based line of the command in its page. */
  readonly line: number;
  /** The lines of the command as written (with `$ ` and any `\` continuations). */
  readonly commandLines: readonly string[];
  /** The arguments after `faultline`. */
  readonly argv: readonly string[];
  /** The output lines shown under it. */
  readonly expected: readonly string[];
  /** The exit status shown by a following `$ echo $?`, or null when the block shows none. */
  readonly code: number | null;
}

/** A checked transcript: the body lines [bodyStart, bodyEnd) of a ```console block. */
export interface Transcript {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly bodyStart: number;
  readonly bodyEnd: number;
  readonly commands: readonly DocCommand[];
}

/** A block that breaks the convention. */
export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface Page {
  readonly file: string;
  readonly lines: readonly string[];
  readonly transcripts: readonly Transcript[];
  readonly problems: readonly Problem[];
}

/** README.md and every Markdown file under docs/, as paths relative to the root. */
export function docFiles(root: string = ROOT): string[] {
  const docs = readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f))
    .sort();
  return ['README.md', ...docs];
}

/** Reads and parses one page. */
export function readPage(file: string, root: string = ROOT): Page {
  return parsePage(relative(root, join(root, file)), readFileSync(join(root, file), 'utf8'));
}

const FENCE = /^(`{3,}|~{3,})\s*([\w-]*)/;

/** Finds the fenced blocks of a page and parses its checked transcripts. */
export function parsePage(file: string, text: string): Page {
  const lines = text.split('\n');
  const transcripts: Transcript[] = [];
  const problems: Problem[] = [];
  let lastProse = '';
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) {
      if (lines[i]!.trim() !== '') lastProse = lines[i]!.trim();
      continue;
    }
    const fence = open[1]!;
    const lang = open[2]!;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith(fence)) end++;
    const body = lines.slice(i + 1, end);
    const shown = body[0]?.startsWith('$ faultline') ?? false;
    if (lang === 'console') {
      if (!shown) problems.push({ file, line: i + 1, message: 'a ```console block must start with `$ faultline …` (use ```text for other output)' });
      else {
        const parsed = parseCommands(body, i + 2);
        if (typeof parsed === 'string') problems.push({ file, line: i + 1, message: parsed });
        else transcripts.push({ file, line: i + 1, bodyStart: i + 1, bodyEnd: end, commands: parsed });
      }
    } else if (shown && !lastProse.startsWith('Example output')) {
      problems.push({ file, line: i + 1, message: 'a `$ faultline` transcript that is not ```console must follow a line beginning "Example output"' });
    }
    lastProse = '';
    i = end;
  }
  return { file, lines, transcripts, problems };
}

/** Splits a console block's body (its first line is line `firstLine` of the page) into commands; a string is the reason it cannot. */
function parseCommands(body: readonly string[], firstLine: number): DocCommand[] | string {
  const commands: { line: number; commandLines: string[]; argv: string[]; expected: string[]; code: number | null }[] = [];
  let i = 0;
  while (i < body.length) {
    const line = firstLine + i;
    const commandLines = [body[i]!];
    while (commandLines[commandLines.length - 1]!.endsWith('\\') && i + 1 < body.length) commandLines.push(body[++i]!);
    i++;
    const text = commandLines.map((l) => l.replace(/\\$/, '')).join(' ').slice(2).trim();
    if (text === 'echo $?') {
      const prev = commands[commands.length - 1];
      const code = Number(body[i]?.trim());
      if (prev === undefined || !Number.isInteger(code)) return '`$ echo $?` must follow a command and be followed by a number';
      prev.code = code;
      i++;
      continue;
    }
    const argv = shellSplit(text);
    if (typeof argv === 'string') return argv;
    if (argv[0] !== 'faultline') return `only faultline commands can be checked, not '${text}'`;
    const expected: string[] = [];
    while (i < body.length && !body[i]!.startsWith('$ ')) expected.push(body[i++]!);
    commands.push({ line, commandLines, argv: argv.slice(1), expected, code: null });
  }
  return commands;
}

/** Splits a command line as a POSIX shell would for plain words and quotes; rejects pipes, redirections and variables. */
export function shellSplit(text: string): string[] | string {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'" || c === '"') {
      const close = text.indexOf(c, i + 1);
      if (close < 0) return `unterminated quote in '${text}'`;
      word = (word ?? '') + text.slice(i + 1, close);
      i = close;
    } else if ('|<>;&$`'.includes(c)) {
      return `a checked transcript runs one faultline command: '${c}' in '${text}' is not supported`;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** Output as the docs show it: no trailing spaces, no trailing empty lines. */
export function normalise(out: string): string[] {
  const lines = out.split('\n').map((l) => l.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Whether the expected lines (with `…` elisions) match the actual ones. */
export function matches(expected: readonly string[], actual: readonly string[]): boolean {
  const exp = normaliseExpected(expected);
  // memo[i][j]: exp[i..] matches actual[j..]; bounded by |exp|·|actual|.
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (actual.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let r: boolean;
    if (i === exp.length) r = j === actual.length;
    else if (exp[i] === ELISION) r = go(i + 1, j) || (j < actual.length && go(i, j + 1));
    else r = j < actual.length && exp[i] === actual[j] && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

function normaliseExpected(expected: readonly string[]): string[] {
  return normalise(expected.join('\n'));
}

/**
 * The lines to show for a command's current output: the expected lines when they still
 * match. Otherwise the output, where each stretch of lines the block showed (between its
 * `…` lines) is kept if the output still has it, in order, and an elision between two kept
 * stretches stays an elision; where a stretch is gone, the output around it is shown in
 * full, for the writer to trim again.
 */
export function rendered(expected: readonly string[], actual: readonly string[]): string[] {
  const exp = normaliseExpected(expected);
  if (matches(exp, actual)) return exp;
  if (!exp.includes(ELISION)) return [...actual];
  const segments = splitAtElisions(exp);
  const at = locate(segments, actual);
  const out: string[] = [];
  let cursor = 0;
  for (let i = 0; i < segments.length; i++) {
    const start = at[i];
    if (start === null || start === undefined) continue;
    if (start > cursor) {
      if (i > 0 && at[i - 1] !== null) out.push(ELISION);
      else out.push(...actual.slice(cursor, start));
    }
    out.push(...segments[i]!);
    cursor = start + segments[i]!.length;
  }
  out.push(...actual.slice(cursor));
  return out;
}

function splitAtElisions(exp: readonly string[]): string[][] {
  const segments: string[][] = [[]];
  for (const line of exp) {
    if (line === ELISION) segments.push([]);
    else segments[segments.length - 1]!.push(line);
  }
  return segments;
}

/** Where each segment sits in the output: the first at the start, the last at the end, the others in order; null where it is gone. */
function locate(segments: readonly string[][], actual: readonly string[]): (number | null)[] {
  const at: (number | null)[] = [];
  let pos = 0;
  segments.forEach((seg, i) => {
    let found: number | null = null;
    if (i === 0) found = startsAt(actual, seg, 0) ? 0 : null;
    else if (i === segments.length - 1) found = actual.length - seg.length >= pos && startsAt(actual, seg, actual.length - seg.length) ? actual.length - seg.length : null;
    else for (let j = pos; found === null && j + seg.length <= actual.length; j++) if (startsAt(actual, seg, j)) found = j;
    at.push(found);
    if (found !== null) pos = found + seg.length;
  });
  return at;
}

function startsAt(actual: readonly string[], seg: readonly string[], from: number): boolean {
  return from >= 0 && seg.every((line, k) => actual[from + k] === line);
}
