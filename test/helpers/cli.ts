/** Runs the built `faultline` command in a child process, for the CLI tests. */

import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `faultline ARGS…` with extra environment variables; resolves with its exit code and output. */
export function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

/** Bad input as the CLI must report it: exit 2, nothing on stdout, one line `faultline: …` matching `pattern` on stderr, no stack trace. */
export function oneErrorLine(t: ExecutionContext, r: Ran, pattern: RegExp): void {
  t.is(r.code, 2, r.stderr);
  t.is(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  t.is(lines.length, 1, r.stderr);
  t.regex(lines[0] ?? '', /^faultline: /);
  t.regex(lines[0] ?? '', pattern);
  t.false(/\n\s+at /.test(r.stderr), 'no stack trace');
}
