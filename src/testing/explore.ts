/**
 * Race tests in a project's own suite: `explore(spec)` explores a scenario's interleavings
 * on the deterministic engine and says whether what happened is what the test expects
 * (clean within the budget, or a violation), and on a surprise prints the violation, the
 * column trace of the failing run and its replay token.
 *
 *   import test from 'ava';
 *   import { explore } from 'faultline';
 *   test('my patch keeps the classic race closed', explore, { scenario: 'seq-check', budget: 300 });
 *
 *   import { test } from 'node:test';
 *   import { exploreTest } from 'faultline';
 *   test('my patch keeps the classic race closed', exploreTest({ scenario: 'seq-check', budget: 300 }));
 *
 * `explore` is a function (call it, get a verdict) that ava also takes as a macro: ava
 * runs its `exec` with the test's execution context and names the test with its `title`.
 * Nothing here imports ava or node:test: a project without them can still call `explore`.
 */

import { fileURLToPath } from 'node:url';
import type { Violation, ViolationKind } from '../kvm/findings.js';
import type { KernelRelease } from '../kvm/kernel-release.js';
import { EXPLORE_BUDGET_DEFAULT } from '../kvm/limits.js';
import { explore as exploreTarget, replay, resolveTarget, type ExploreScheduler, type RaceOptions } from '../race/race.js';
import { decodeToken } from '../race/token.js';
import { formatColumnTrace } from '../report/race.js';
import { formatViolation } from '../report/text.js';

/** One race test: what to explore, on what, with which bug put in, how hard, and what must come out. */
export interface RaceSpec {
  /** A catalogue entry's name ('faultline race list') or a scenario file: a path (from the working directory) or a file: URL. */
  readonly scenario: string | URL;
  /** The kernel release the VM runs (default: the scenario's). */
  readonly kernel?: KernelRelease;
  /** Guards forced, `MACHINE.GUARD=true|false` (as `--mutate`). */
  readonly mutate?: readonly string[];
  /** Actions skipped, `MACHINE.ACTION` (as `--skip`). */
  readonly skip?: readonly string[];
  /** Candidate fixes by name (as `--patch`; src/protocol/patches.ts): the patch under test. */
  readonly patch?: readonly string[];
  /** A catalogue entry with its bug put back (its mutation, or the release before its fix); default false: the entry as the kernel has it. */
  readonly bug?: boolean;
  /** Schedules to try (default: the entry's budget, else 1000). */
  readonly budget?: number;
  /** How schedules are drawn (default: the portfolio, as `race explore`) and, for pct or dfs, PCT's depth or DFS's preemption bound (default 2). */
  readonly scheduler?: ExploreScheduler;
  readonly depth?: number;
  /** What must happen: `clean` (default: no violation within the budget), `violation` (any), or one violation kind. */
  readonly expect?: 'clean' | 'violation' | ViolationKind;
}

/** What an exploration found, and whether that is what the spec expects. */
export interface RaceVerdict {
  readonly pass: boolean;
  readonly found: boolean;
  readonly violation: Violation | null;
  /** The replay token of the violation (`faultline race replay TOKEN`). */
  readonly token: string | null;
  readonly schedules: number;
  readonly steps: number;
  /** One line on a pass; on a failure the violation, the column trace and the token. */
  readonly message: string;
}

/** The title a test gets when none is given: the scenario, the mutations and the expectation. */
function titleOf(spec: RaceSpec): string {
  const name = spec.scenario instanceof URL ? fileURLToPath(spec.scenario) : spec.scenario;
  const bug = [...(spec.bug === true ? ['the entry\'s bug'] : []), ...(spec.patch ?? []).map((p) => `patch ${p}`), ...(spec.mutate ?? []), ...(spec.skip ?? [])];
  return `${name}${spec.kernel !== undefined ? ` on ${spec.kernel}` : ''}${bug.length > 0 ? ` with ${bug.join(', ')}` : ''}: ${spec.expect === undefined || spec.expect === 'clean' ? 'clean' : spec.expect === 'violation' ? 'a violation' : spec.expect}`;
}

/** The failing run again, traced, as the column view `race replay` prints. */
function traceOf(token: string): string {
  const run = replay(decodeToken(token), { trace: true }).run;
  const fp = run.footprints.length > 0 ? (step: number) => run.footprints[step - run.setupSteps] : undefined;
  return formatColumnTrace(run.trace.filter((s) => s.step >= run.setupSteps), run.actors.map((a) => a.actor), run.violations[0] ?? null, 40, fp);
}

/** Explores the spec's scenario and judges the outcome (a bad spec throws: an unknown entry, a bad mutation). */
export function exploreRace(spec: RaceSpec): RaceVerdict {
  const target = resolveTarget(spec.scenario instanceof URL ? `file:${fileURLToPath(spec.scenario)}` : spec.scenario);
  const scheduler = spec.scheduler ?? 'portfolio';
  const o: RaceOptions = { mutate: spec.mutate ?? [], skip: spec.skip ?? [], patch: spec.patch ?? [], withoutEntryMutation: spec.bug !== true, ...(spec.kernel !== undefined ? { kernel: spec.kernel } : {}) };
  const depth = scheduler === 'pct' || scheduler === 'dfs' ? { depth: spec.depth ?? (scheduler === target.entry?.scheduler ? target.entry?.depth : undefined) ?? 2 } : {};
  const r = exploreTarget(target, { ...o, scheduler, ...depth, budget: spec.budget ?? target.entry?.budget ?? EXPLORE_BUDGET_DEFAULT });
  const v = r.run?.violations[0] ?? null;
  const expect = spec.expect ?? 'clean';
  const pass = expect === 'clean' ? v === null : expect === 'violation' ? v !== null : v?.kind === expect;
  const what = `${titleOf(spec)} — ${r.schedules} ${scheduler} schedule(s), ${r.steps} steps${r.foundBy !== null ? `, found by ${r.foundBy.label}` : ''}`;
  if (v === null) {
    return { pass, found: false, violation: null, token: null, schedules: r.schedules, steps: r.steps, message: pass ? `${what}: clean` : `${what}: no violation found (expected ${expect === 'violation' ? 'one' : expect}); a larger budget or another scheduler?` };
  }
  const head = pass ? `${what}: ${v.kind} as expected` : `${what}: ${v.kind} found (expected ${expect === 'clean' ? 'none' : expect})`;
  const message = pass ? `${head}\ntoken: ${r.token}` : `${head}\n\n${formatViolation(v).join('\n')}\n\n${traceOf(r.token!)}\nreplay: faultline race replay ${r.token}\n`;
  return { pass, found: true, violation: v, token: r.token, schedules: r.schedules, steps: r.steps, message };
}

/** What the ava macro needs of ava's execution context (structurally: no ava import). */
export interface AssertionsLike {
  pass(message?: string): void;
  fail(message?: string): void;
  log(...values: unknown[]): void;
}

/** `explore(spec)`: a verdict; and an ava macro — `test('title', explore, spec)` or `test(explore, spec)`. */
export interface ExploreMacro {
  (spec: RaceSpec): RaceVerdict;
  /** ava runs this with the test's execution context. */
  readonly exec: (t: AssertionsLike, spec: RaceSpec) => void;
  /** ava names a test without a title with this. */
  readonly title: (provided: string | undefined, spec: RaceSpec) => string;
}

export const explore: ExploreMacro = Object.assign((spec: RaceSpec) => exploreRace(spec), {
  exec: (t: AssertionsLike, spec: RaceSpec): void => {
    const v = exploreRace(spec);
    if (v.pass) {
      t.log(v.message);
      t.pass();
    } else t.fail(v.message);
  },
  title: (provided: string | undefined, spec: RaceSpec): string => provided ?? titleOf(spec),
});

/** A race test failed: its message is the verdict's (violation, column trace, token). */
export class RaceTestError extends Error {
  constructor(readonly verdict: RaceVerdict) {
    super(verdict.message);
    this.name = 'RaceTestError';
  }
}

/** For node:test (or any runner that fails a test on a throw): `test('title', exploreTest(spec))`. */
export function exploreTest(spec: RaceSpec): () => void {
  return () => {
    const v = exploreRace(spec);
    if (!v.pass) throw new RaceTestError(v);
  };
}
