#!/usr/bin/env node
/**
 * The `faultline` command. Exit status: 0 clean, 1 a violation was found (or the run
 * stopped with an error), 2 bad input (one line `faultline: <message>` on stderr, never a
 * stack trace), 3 an internal error of faultline itself.
 *
 * The command modules are imported lazily, inside the error handling, so that even a bad
 * FAULTLINE_* environment override (read when the model's limits load) is reported as
 * one line of bad input.
 */

import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';
import { processIo, type Io } from './io.js';

const USAGE = `faultline — a concurrent model of the Linux KVM x86 TDP MMU

usage:
  faultline scenario run FILE [options]   run a scenario (FILE, or a built-in name) on the deterministic engine
      --json                       print one JSON object (results, violations, actors, coverage)
      --scheduler sequential|random  interleaving (default sequential: ops in file order)
      --seed N                     seed of the run's PRNG (default 1)
      --mutate MACHINE.GUARD=true|false   force a guard (repeatable), e.g. page-fault.mmuInvalidateRetryGfn=false
      --skip MACHINE.ACTION        skip an action (repeatable), e.g. invalidation.kvmFlushRemoteTlbs
      --runner compiled|reference  step the compiled tables (default) or xstate's interpreter
      --trace                      print every step (step, actor, transition, wait)
  faultline scenario list [--json]        list the built-in scenarios
  faultline stress [options]              every vCPU a worker thread, faulting while the host and the VMM churn
      --vcpus N                    vCPU threads (default 4)
      --memory SIZE                guest memory, e.g. 1GiB (default 1GiB)
      --duration TIME | --accesses N   run for TIME (default 10s) or N guest accesses per vCPU
      --workload uniform|sequential|partitioned|shared-hot   guest access pattern (default uniform)
      --churn KIND[=RATE],...      invalidate, memslots, attributes, prefault, dirty-log (ops/s), all, none (default all)
      --hugepages 4K|2M|1G         host backing of guest memory (default 4K)
      --vm-type default|sw_protected|snp|tdx   (default sw_protected)
      --write-ratio F              fraction of guest accesses that write (default 0.5)
      --mutate, --skip             as for scenarios
      --seed N                     seed of every actor's workload PRNG (default 1)
      --watchdog TIME              no step (deadlock) or no progress (livelock) for TIME is a finding (default 5s)
      --scan-interval TIME         stop-the-world invariant scan every TIME, 0 = only at the end (default 2s)
      --kick TIME                  the VMM signals a vCPU whose SRCU read lock stalls a memslot update this long (default 100ms; 0 = never)
      --manual-dirty-log-protect   KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: dirty-log churn uses KVM_CLEAR_DIRTY_LOG
      --json                       print one JSON object (the summary, coverage, violations)
      --quiet                      no progress on stderr
      --preset mmu-stress          mmu_stress_test's stages: write, MMU reset + re-write, read, host mprotect
                                   read-only (every write must fail with EFAULT), read-write again
      --preset memslot-churn       memslot_modification_stress_test: a one-page memslot added and deleted in a
                                   loop next to the memory the vCPUs keep touching
  faultline race list [--json]             the catalogue of historical KVM MMU races (scenario + the mutation that puts the bug back)
  faultline race explore TARGET [options] explore interleavings of a catalogue entry or scenario file until a violation
      --scheduler random|pct|dfs   how schedules are drawn (default: the entry's, else random)
      --depth N                    PCT bug depth; for dfs, the preemption bound (default 2)
      --no-sleep-sets              dfs without partial-order reduction (re-runs reorderings of independent steps)
      --coverage                   list, per machine, the transitions the exploration fired (with counts) and those it never did
      --budget N | --time TIME     schedules to try (default: the entry's, else 1000), or a time limit
      --mutate, --skip             extra mutations (on top of the entry's)
      --control                    a catalogue entry without its mutation (must stay clean)
      --shard i/n                  schedules i, i+n, i+2n, … (disjoint slices for a CI matrix)
      --json                       JSON lines: one per schedule, then a summary
      --trace-out FILE             the failing run as Chrome trace-event JSON (Perfetto)
  faultline race replay TOKEN [--json] [--trace-out FILE]   replay a token exactly, with the column trace
  faultline race shrink TOKEN [--json] [--attempts N]        fewer context switches and ops, same violation
  faultline bench prefault-vs-lazy [options]   pre-populating guest memory versus lazy faults
      --memory SIZE[,SIZE…]        guest sizes (default 256MiB)
      --vcpus N[,N…]               vCPU counts (default 1,4)
      --workload boot|uniform|sequential|zipf   what the guest touches (default boot)
      --sharing partitioned|shared each vCPU its own slice of memory, or all of it
      --trace FILE                 a kvm:kvm_page_fault trace (trace-cmd report / perf script / ftrace) as the workload
      --strategies S[,S…]          lazy, prefault, prefault-parallel, prefault-concurrent, map-memory, prefault-churn, prefault-invalidate
      --page-size 4K|2M|1G[,…]     host backing and the largest mapping (default 4K); a list compares them
      --clock sim|wall|both        simulated (cost model, deterministic engine; default) or wall clock (threaded engine)
      --repeat N                   wall clock: run each point N times, report the median run
      --cost KEY=NS                override a cost of the model (repeatable)
      --seed N, --json, --out DIR  seed of the workload; one JSON object; also write DIR/results.json
  faultline machines export [--format mermaid|json] [--machine ID]... [--markdown]
                                          every protocol machine as a Mermaid stateDiagram-v2 or its transition table
  faultline help | --help                 this text
  faultline --version                     the version

exit status: 0 clean, 1 violation found (or the run stopped with an error), 2 bad input, 3 internal error
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** Runs one command line; returns the exit status. Throws for bad input and internal errors. */
async function run(argv: readonly string[], io: Io): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  switch (cmd) {
    case undefined:
      throw new UsageError("missing command; try 'faultline --help'");
    case 'help':
    case '--help':
    case '-h':
      io.out(USAGE);
      return 0;
    case '--version':
    case '-V':
    case 'version':
      io.out(`faultline ${version()}\n`);
      return 0;
    case 'scenario': {
      const m = await import('./scenario-command.js');
      if (sub === 'run') return m.scenarioRun(rest, io);
      if (sub === 'list') return m.scenarioList(rest, io);
      throw new UsageError(sub === undefined ? "'scenario' needs a subcommand: run, list" : `unknown subcommand 'scenario ${sub}'; try: run, list`);
    }
    case 'race': {
      const m = await import('./race-command.js');
      if (sub === 'list') return m.raceList(rest, io);
      if (sub === 'explore') return m.raceExplore(rest, io);
      if (sub === 'replay') return m.raceReplay(rest, io);
      if (sub === 'shrink') return m.raceShrink(rest, io);
      throw new UsageError(sub === undefined ? "'race' needs a subcommand: list, explore, replay, shrink" : `unknown subcommand 'race ${sub}'; try: list, explore, replay, shrink`);
    }
    case 'stress':
      return (await import('./stress-command.js')).stressCommand(argv.slice(1), io);
    case 'bench':
      return (await import('./bench-command.js')).benchCommand(argv.slice(1), io);
    case 'machines': {
      if (sub === 'export') return (await import('./machines-command.js')).machinesExport(rest, io);
      throw new UsageError(sub === undefined ? "'machines' needs a subcommand: export" : `unknown subcommand 'machines ${sub}'; try: export`);
    }
    default:
      throw new UsageError(`unknown command '${cmd}'; commands: scenario run, scenario list, stress, race list|explore|replay|shrink, bench prefault-vs-lazy, machines export, help (try 'faultline --help')`);
  }
}

const BAD_INPUT = new Set(['UsageError', 'ScenarioError', 'MutationError', 'FieldError', 'TokenError', 'TargetError', 'ReplayMismatch']);

/** Bad input: our own input errors, and a bad FAULTLINE_* override met while the model's limits load. */
function isBadInput(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return BAD_INPUT.has(e.name) || BAD_INPUT.has(e.constructor.name) || /^FAULTLINE_[A-Z_]+ must be/.test(e.message);
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

/** main(): run, map errors to exit statuses, set process.exitCode. */
async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let status: number;
  try {
    status = await run(argv, io);
  } catch (e) {
    if (isBadInput(e)) {
      io.err(`faultline: ${oneLine((e as Error).message)}\n`);
      status = 2;
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
