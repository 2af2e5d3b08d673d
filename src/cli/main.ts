#!/usr/bin/env node
/**
 * The `faultline` command. Exit status: 0 clean, 1 a violation was found (or the run
 * stopped with an error), 2 bad input (one line `faultline: <message>` on stderr, never a
 * stack trace), 3 an internal error of faultline itself.
 *
 * The command line (program.ts, on commander) and the command modules are imported
 * lazily, inside the error handling, so that even a bad FAULTLINE_* environment override
 * (read when the model's limits load) is reported as one line of bad input.
 */

import { processIo, type Io } from './io.js';

const BAD_INPUT = new Set(['UsageError', 'ScenarioError', 'MutationError', 'FieldError', 'TokenError', 'TargetError', 'ReplayMismatch', 'PatchError', 'VmCreateError']);

/** Bad input: our own input errors, and a bad FAULTLINE_* override met while the model's limits load. */
function isBadInput(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return BAD_INPUT.has(e.name) || BAD_INPUT.has(e.constructor.name) || /^FAULTLINE_[A-Z_]+ must be/.test(e.message);
}

/** A run a mutation left unable to go on (src/kvm/vm.ts ModelStuck): stopped with an error, exit 1. */
const RUN_STOPPED = new Set(['ModelStuck']);

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

/** main(): run, map errors to exit statuses, set process.exitCode. */
async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let status: number;
  try {
    status = await (await import('./program.js')).runCli(argv, io);
  } catch (e) {
    if (isBadInput(e)) {
      io.err(`faultline: ${oneLine((e as Error).message)}\n`);
      status = 2;
    } else if (e instanceof Error && RUN_STOPPED.has(e.name)) {
      io.err(`faultline: the run stopped: ${oneLine(e.message)}\n`);
      status = 1;
    } else {
      const msg = e instanceof Error ? e.message : String(e);
      io.err(`faultline: internal error: ${oneLine(msg)}\n`);
      if (process.env.FAULTLINE_DEBUG && e instanceof Error && e.stack) io.err(`${e.stack}\n`);
      status = 3;
    }
  }
  process.exitCode = status;
  return status;
}

// A closed pipe (`faultline … | head`) ends the output quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

await main(process.argv.slice(2));
