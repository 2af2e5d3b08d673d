/**
 * What every modelled selftest shares: a scenario document (the scenario file format,
 * built in code because its VM type and addresses vary), run on the deterministic engine
 * on one kernel release, and cases — the selftest's steps, each a range of the scenario's
 * ops — checked against the selftest's TEST_ASSERTs. A case passes when its checks hold;
 * a run stopped by a violation (a livelock where the selftest would hang) fails the case
 * whose op never completed, and the cases after it are not reached, as a hung or aborted
 * selftest never reaches them.
 */

import { runDeterministic, type RunResult } from '../engine/deterministic.js';
import type { KernelRelease } from '../kvm/kernel-release.js';
import type { OpResult } from '../kvm/ops.js';
import type { Mutations } from '../protocol/mutations.js';
import type { Interleaving } from './interleaving.js';
import type { Scheduler, SchedulerName } from '../sched/scheduler.js';
import { parseScenario, scenarioToRunConfig, type Scenario } from '../workload/scenario.js';

/** One TAP line: a case of a selftest, on one VM type where the selftest runs per type. */
export interface Subtest {
  readonly name: string;
  readonly status: 'ok' | 'not ok' | 'skip';
  /** Why it failed or was skipped (the TAP directive's text). */
  readonly reason?: string;
}

/** A selftest of tools/testing/selftests/kvm, as faultline models it. */
export interface Selftest {
  /** The selftest's binary name (`pre_fault_memory_test`). */
  readonly name: string;
  /** Its source file in the kernel tree. */
  readonly source: string;
  /** What of it is modelled, one line. */
  readonly summary: string;
  /** Its cases on `kernel`. */
  run(kernel: KernelRelease, options?: SelftestOptions): Subtest[];
}

export interface SelftestOptions {
  /** Forced guards and skipped actions (`--mutate`, `--skip`): which selftest notices a bug put back. */
  readonly mutations?: Mutations;
  /** Where a racing memslot delete meets the pre-fault (default `invalid-slot`). */
  readonly interleaving?: Interleaving;
}

/** A check on the run: null when it holds, else the TEST_ASSERT's message. */
export type Check = (r: RunResult) => string | null;

/** A case: its ops (scenario op indices, file order) and the checks the selftest makes on them. */
export interface Case {
  readonly name: string;
  readonly ops: readonly number[];
  readonly checks: readonly Check[];
}

/** Steps bound for one selftest scenario: far above what any modelled case takes (a few 10⁴). */
export const KSELFTEST_STEPS_MAX = 2_000_000;

/** Parses a scenario document built in code (a bug in it is an internal error, not bad input). */
export function scenarioOf(doc: object): Scenario {
  return parseScenario(JSON.stringify(doc), `kselftest:${(doc as { name?: string }).name ?? '?'}`);
}

/** How a selftest's scenario runs: the interleaving, its seed, multi-op gates, and mutations of the protocol. */
export interface ScenarioRun {
  readonly scheduler?: Scheduler | SchedulerName;
  readonly seed?: number;
  /** Ops that wait for several ops of other actors (OpList.gates): their whole `after`. */
  readonly gates?: ReadonlyMap<number, readonly number[]>;
  /** Forced guards and skipped actions (`--mutate`, `--skip`): which selftest notices a bug put back. */
  readonly mutations?: Mutations;
}

/** Runs a scenario on `kernel` (default the sequential scheduler, seed 1). */
export function runScenario(s: Scenario, kernel: KernelRelease, run: ScenarioRun = {}): RunResult {
  const cfg = scenarioToRunConfig(s, { kernel, scheduler: run.scheduler ?? 'sequential', seed: run.seed ?? 1, stepsMax: KSELFTEST_STEPS_MAX, ...(run.mutations !== undefined ? { mutations: run.mutations } : {}) });
  const gates = run.gates ?? new Map<number, readonly number[]>();
  const ops = cfg.ops.map((o, i) => (gates.has(i) ? { ...o, after: gates.get(i)! } : o));
  return runDeterministic({ ...cfg, ops });
}

/** Why a run stopped early, in one line: its first violation, or the engine's error. */
export function stopReason(r: RunResult): string {
  const v = r.violations[0];
  if (v !== undefined) return `${v.kind}: ${v.message}`;
  return r.error ?? 'the run stopped early';
}

/**
 * Each case's TAP line: the first failing check; or, when a violation stopped the run (a
 * livelock where the selftest hangs), the violation on the first case with an op that
 * never completed (the last case if every op did) and "not reached" on the cases after it.
 */
export function judgeCases(prefix: string, cases: readonly Case[], r: RunResult): Subtest[] {
  const stopped = r.violations.length > 0 || r.error !== null ? stoppedCase(cases, r) : -1;
  return cases.map((c, i): Subtest => {
    const name = `${prefix}${c.name}`;
    if (stopped >= 0 && i > stopped) return { name, status: 'not ok', reason: `not reached: the selftest stopped in "${cases[stopped]!.name}"` };
    if (i === stopped) return { name, status: 'not ok', reason: stopReason(r) };
    const failed = c.checks.map((check) => check(r)).find((m) => m !== null);
    return failed === undefined || failed === null ? { name, status: 'ok' } : { name, status: 'not ok', reason: failed };
  });
}

/** The case a stopped run stopped in: the first with an op that never completed, else the last. */
function stoppedCase(cases: readonly Case[], r: RunResult): number {
  const i = cases.findIndex((c) => c.ops.some((o) => r.results[o] === null));
  return i >= 0 ? i : cases.length - 1;
}

/** Every case skipped with one reason (the selftest's own skip). */
export function skipCases(prefix: string, cases: readonly { readonly name: string }[], reason: string): Subtest[] {
  return cases.map((c) => ({ name: `${prefix}${c.name}`, status: 'skip' as const, reason }));
}

/** The result of op `i`, narrowed to its kind (a wrong kind is a bug of the case). */
export function resultOf<K extends OpResult['op']>(r: RunResult, i: number, kind: K): Extract<OpResult, { op: K }> {
  const x = r.results[i];
  if (x === null || x === undefined || x.op !== kind) throw new Error(`kselftest: op ${i} is not a completed ${kind} (${x?.op ?? 'not run'})`);
  return x as Extract<OpResult, { op: K }>;
}

/** `0x…` as a bigint (op results carry u64 fields as hex strings). */
export const hex = (s: string): bigint => BigInt(s);
