/**
 * `faultline race export TOKEN --c FILE` and `race export --scenario TARGET --c FILE`: a
 * race token (or any scenario) as one standalone C reproducer for a real /dev/kvm. The
 * token is replayed first, to say in the file which ops its violation leaves unfinished.
 * Exit 0 written, 2 bad input (a damaged token, a scenario no real host can run).
 */

import { writeFileSync } from 'node:fs';
import { exportC, ExportError, type EntryFacts, type TokenFacts } from '../export/export.js';
import { describeOp } from '../export/c-tables.js';
import type { KernelRelease } from '../kvm/kernel-release.js';
import { kernelOf, replay, resolveTarget, targetOfToken, TargetError, withoutOps, type RaceTarget } from '../race/race.js';
import { decodeToken, kernelField, TokenError, tokenKernel, type RaceToken } from '../race/token.js';
import { ReplayMismatch } from '../sched/replay.js';
import type { Scenario } from '../workload/scenario.js';
import { ScenarioError } from '../workload/scenario.js';
import { UsageError, parseIntIn } from './args.js';
import type { Io } from './io.js';

/** The options of `race export`. */
export interface ExportFlags {
  readonly c?: string;
  readonly scenario?: string;
  readonly kernel?: string;
  readonly runs?: string;
}

/** Model runs for the allowed outcomes, at most. */
const EXPORT_RUNS_MAX = 1000;

interface Source {
  readonly scenario: Scenario;
  readonly target: string;
  readonly kernel: KernelRelease;
  readonly token: TokenFacts | null;
  readonly entry?: EntryFacts;
}

function entryOf(t: RaceTarget): { entry?: EntryFacts } {
  const e = t.entry;
  return e === null ? {} : { entry: { ref: e.ref, fix: e.commit, summary: e.summary, ...(e.kernel !== undefined ? { kernel: e.kernel } : {}) } };
}

/** A token: its scenario without the dropped ops, its kernel, and what its replay left unfinished. */
function fromToken(text: string, kernel: string | undefined): Source {
  const decoded = decodeToken(text);
  const tok: RaceToken = kernel === undefined ? decoded : { ...decoded, kernel: undefined, ...kernelField(kernel as KernelRelease) };
  const t = targetOfToken(tok);
  const scenario: Scenario = tok.dropOps.length === 0 ? t.scenario : { ...t.scenario, ops: withoutOps(t.scenario.ops, new Set(tok.dropOps)) };
  const run = replay(tok).run;
  const stuck = run.results.flatMap((r, i) => (r === null ? [`op #${i} ${scenario.ops[i]!.actor} ${describeOp(scenario.ops[i]!.op)}`] : []));
  return { scenario, target: t.id, kernel: tokenKernel(tok), ...entryOf(t), token: { text: text.trim(), violation: tok.violation, mutate: tok.mutate, skip: tok.skip, ...(tok.patch !== undefined ? { patch: tok.patch } : {}), stuck } };
}

function fromScenario(spec: string, kernel: string | undefined): Source {
  const t = resolveTarget(spec);
  return { scenario: t.scenario, target: t.id, kernel: (kernel as KernelRelease | undefined) ?? kernelOf(t, {}), ...entryOf(t), token: null };
}

function sourceOf(token: string | undefined, f: ExportFlags): Source {
  if ((token === undefined) === (f.scenario === undefined)) throw new UsageError("'race export' takes a TOKEN or --scenario TARGET (a catalogue entry or a scenario file), not both");
  try {
    return token !== undefined ? fromToken(token, f.kernel) : fromScenario(f.scenario!, f.kernel);
  } catch (e) {
    if (e instanceof TokenError || e instanceof TargetError || e instanceof ReplayMismatch || e instanceof ScenarioError) throw new UsageError(e.message);
    throw e;
  }
}

/** `race export TOKEN|--scenario TARGET --c FILE [--kernel X.Y] [--runs N]` */
export function raceExport(token: string | undefined, flags: ExportFlags, io: Io): number {
  if (flags.c === undefined) throw new UsageError("'race export' needs --c FILE (the C file to write; - for stdout)");
  const runs = flags.runs !== undefined ? parseIntIn('runs', flags.runs, 0, EXPORT_RUNS_MAX) : undefined;
  const src = sourceOf(token, flags);
  let out;
  try {
    out = exportC({ ...src, ...(runs !== undefined ? { runs } : {}) });
  } catch (e) {
    if (e instanceof ExportError) throw new UsageError(`${src.target}: ${e.message}`);
    throw e;
  }
  if (flags.c === '-') {
    io.out(out.c);
    return 0;
  }
  try {
    writeFileSync(flags.c, out.c);
  } catch (e) {
    throw new UsageError(`cannot write ${flags.c}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const what = src.token === null ? 'scenario' : `token (${src.token.violation}${src.token.mutate.length + src.token.skip.length > 0 ? ', mutated model' : ''})`;
  io.out(`wrote ${flags.c}: C reproducer of ${src.target} from its ${what}, model kernel ${src.kernel}; ${src.scenario.ops.length} ops, allowed outcomes from ${out.expectations.clean} clean of ${out.expectations.runs} model runs\n`);
  io.out(`build: cc -Wall -Werror -pthread -o repro ${flags.c} && ./repro   (exit 0 pass, 1 fail, 4 skip)\n`);
  return 0;
}
