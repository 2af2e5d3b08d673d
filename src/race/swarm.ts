/**
 * `race swarm`: generate scenarios (src/race/swarm-gen.ts), explore each with the
 * portfolio on a small budget, and on a violation that is not a documented finding
 * (src/race/known-findings.ts) shrink the scenario (src/race/swarm-shrink.ts) and stop.
 * Scenario indices of shard i/n are i, i + n, …, so shards together run what one run does.
 * The failing scenario is written as a scenario file with the token `race explore` gives
 * it (writeFailure), so the file reproduces the violation on its own.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Violation } from '../kvm/findings.js';
import { SWARM_BUDGET_DEFAULT, SWARM_SCENARIOS_DEFAULT } from '../kvm/limits.js';
import { KERNEL_DEFAULT, type KernelRelease } from '../kvm/kernel-release.js';
import type { VmType } from '../kvm/vm-types.js';
import type { RunResult } from '../engine/deterministic.js';
import type { Scenario } from '../workload/scenario.js';
import { knownFinding } from './known-findings.js';
import { explore, resolveTarget, type ExploreResult, type RaceTarget } from './race.js';
import { generateScenario, type SwarmFeature } from './swarm-gen.js';
import { parseCandidate, scenarioSize, shrinkScenario, type ScenarioDoc } from './swarm-shrink.js';
import { scenarioHash } from './token.js';

/** Candidates the scenario shrinker may explore. */
export const SWARM_SHRINK_ATTEMPTS = 300;

/**
 * A scenario that reached a transition fewer than this share of the run's earlier
 * scenarios reached (or none did) is explored again with SWARM_DEEPEN times the budget.
 */
export const SWARM_RARE_SHARE = 0.01;
export const SWARM_DEEPEN = 4;

export interface SwarmOptions {
  readonly seed: number;
  /** Scenario indices below this (default SWARM_SCENARIOS_DEFAULT unless timeMs). */
  readonly scenarios?: number;
  readonly timeMs?: number;
  /** Schedules per scenario. */
  readonly budget?: number;
  readonly kernel?: KernelRelease;
  readonly vmType?: VmType;
  readonly mutate?: readonly string[];
  readonly skip?: readonly string[];
  /** Candidate fixes (`--patch`) in every scenario. */
  readonly patch?: readonly string[];
  readonly shard?: { readonly i: number; readonly n: number };
  readonly shrinkAttempts?: number;
  readonly onScenario?: (s: SwarmScenarioOutcome) => void;
}

export interface SwarmScenarioOutcome {
  readonly index: number;
  readonly name: string;
  readonly features: readonly SwarmFeature[];
  readonly schedules: number;
  readonly steps: number;
  /** The violation's kind, if the scenario showed one. */
  readonly violation: string | null;
  /** Explored again with SWARM_DEEPEN times the budget: it reached a rare transition (swarm()). */
  readonly deepened: boolean;
  /** The documented finding it is, if it is one. */
  readonly finding: string | null;
  readonly foundBy: string | null;
}

export interface SwarmFailure {
  readonly index: number;
  readonly original: ScenarioDoc;
  /** The scenario shrunk; still fails the same way. */
  readonly doc: ScenarioDoc;
  readonly violation: Violation;
  readonly foundBy: string;
  /** Schedules per exploration: the run's budget, SWARM_DEEPEN times it if the scenario was deepened. */
  readonly budget: number;
  readonly before: ReturnType<typeof scenarioSize>;
  readonly after: ReturnType<typeof scenarioSize>;
  readonly shrinkAttempts: number;
}

export interface SwarmResult {
  readonly scenarios: number;
  readonly schedules: number;
  readonly steps: number;
  readonly ms: number;
  /** Documented findings met: name → scenarios that showed it, and the first of them. */
  readonly findings: Readonly<Record<string, { count: number; first: number }>>;
  readonly failure: SwarmFailure | null;
  readonly coverage: Map<string, number>;
  readonly transitions: readonly string[];
}

/** A scenario document as an exploration target (no file: `swarm:NAME`). */
export function docTarget(doc: ScenarioDoc, scenario: Scenario): RaceTarget {
  return { id: `swarm:${String(doc.name)}`, scenario, hash: scenarioHash(doc), entry: null };
}

function exploreDoc(doc: ScenarioDoc, scenario: Scenario, o: SwarmOptions, deepen = 1): ExploreResult {
  return explore(docTarget(doc, scenario), { budget: deepen * (o.budget ?? SWARM_BUDGET_DEFAULT), mutate: o.mutate ?? [], skip: o.skip ?? [], patch: o.patch ?? [] });
}

/**
 * How many of a run's scenarios reached each transition. Energy, as coverage-guided fuzzers
 * give it: a scenario that reaches a transition few earlier ones did (a table replaced by a
 * huge SPTE, recovery in place, a zap that yields) is one whose interleavings are worth
 * more schedules than the portfolio's one turn — the races around a rare path need the
 * path first. It depends on the run's earlier scenarios (a shard's own), not on the
 * scenario alone; the written failure records the budget that found it.
 */
class Rarity {
  private readonly seen = new Map<string, number>();
  private scenarios = 0;

  /** Whether `coverage` reaches a rare transition; then counts it. */
  add(coverage: ReadonlyMap<string, number>): boolean {
    const bar = Math.max(1, SWARM_RARE_SHARE * this.scenarios);
    let rare = false;
    for (const [k, n] of coverage) {
      if (n === 0) continue;
      const c = this.seen.get(k) ?? 0;
      if (c < bar) rare = true;
      this.seen.set(k, c + 1);
    }
    this.scenarios++;
    return rare;
  }
}

/** One scenario's exploration: one turn of the portfolio, and more if it reached a rare transition. */
function exploreScenario(doc: ScenarioDoc, scenario: Scenario, o: SwarmOptions, rarity: Rarity): { r: ExploreResult; deepened: boolean } {
  const r = exploreDoc(doc, scenario, o);
  if (!rarity.add(r.coverage) || r.found) return { r, deepened: false };
  return { r: exploreDoc(doc, scenario, o, SWARM_DEEPEN), deepened: true };
}

/** The release a scenario document runs (generated ones say it). */
function releaseOf(doc: ScenarioDoc): KernelRelease {
  return (doc.vm.kernel ?? KERNEL_DEFAULT) as KernelRelease;
}

/** The violation an exploration of `doc` ended in, unless it is a documented finding. */
function undocumented(r: ExploreResult, doc: ScenarioDoc): Violation | null {
  const v = r.run?.violations[0];
  return v !== undefined && knownFinding(v, releaseOf(doc)) === null ? v : null;
}

/** Shrinks a failing scenario while the same violation kind (not a finding) still shows, with the budget that found it. */
function shrinkFailure(index: number, doc: ScenarioDoc, r: ExploreResult, o: SwarmOptions, deepen: number): SwarmFailure {
  const v = undocumented(r, doc)!;
  const still = (s: Scenario, d: ScenarioDoc): boolean => undocumented(exploreDoc(d, s, o, deepen), d)?.kind === v.kind;
  const s = shrinkScenario(doc, still, o.shrinkAttempts ?? SWARM_SHRINK_ATTEMPTS);
  const last = exploreDoc(s.doc, parseCandidate(s.doc)!, o, deepen);
  return {
    index, original: doc, doc: s.doc, violation: last.run!.violations[0]!, foundBy: last.foundBy!.label, budget: deepen * (o.budget ?? SWARM_BUDGET_DEFAULT),
    before: scenarioSize(doc), after: scenarioSize(s.doc), shrinkAttempts: s.attempts,
  };
}

export function swarm(o: SwarmOptions): SwarmResult {
  const t0 = performance.now();
  const shard = o.shard ?? { i: 0, n: 1 };
  const limit = o.scenarios ?? (o.timeMs !== undefined ? Infinity : SWARM_SCENARIOS_DEFAULT);
  const coverage = new Map<string, number>();
  let transitions: readonly string[] = [];
  const rarity = new Rarity();
  const findings: Record<string, { count: number; first: number }> = {};
  let scenarios = 0;
  let schedules = 0;
  let steps = 0;
  const result = (failure: SwarmFailure | null): SwarmResult => ({ scenarios, schedules, steps, ms: performance.now() - t0, findings, failure, coverage, transitions });
  for (let index = shard.i; index < limit; index += shard.n) {
    if (o.timeMs !== undefined && performance.now() - t0 > o.timeMs) break;
    const g = generateScenario(o.seed, index, { ...(o.kernel !== undefined ? { kernel: o.kernel } : {}), ...(o.vmType !== undefined ? { vmType: o.vmType } : {}) });
    const doc = g.doc as unknown as ScenarioDoc;
    const scenario = parseCandidate(doc);
    if (scenario === null) throw new Error(`swarm scenario ${index} of seed ${o.seed} is not a valid scenario file`);
    const { r, deepened } = exploreScenario(doc, scenario, o, rarity);
    scenarios++;
    schedules += r.schedules;
    steps += r.steps;
    if (transitions.length === 0) transitions = r.transitions;
    for (const [k, n] of r.coverage) coverage.set(k, (coverage.get(k) ?? 0) + n);
    const v: RunResult['violations'][number] | undefined = r.run?.violations[0];
    const finding = v !== undefined ? knownFinding(v, releaseOf(doc)) : null;
    if (finding !== null) findings[finding.name] = { count: (findings[finding.name]?.count ?? 0) + 1, first: findings[finding.name]?.first ?? index };
    o.onScenario?.({ index, name: String(doc.name), features: g.features, schedules: r.schedules, steps: r.steps, violation: v?.kind ?? null, deepened, finding: finding?.name ?? null, foundBy: r.foundBy?.label ?? null });
    if (v !== undefined && finding === null) return result(shrinkFailure(index, doc, r, o, deepened ? SWARM_DEEPEN : 1));
  }
  return result(null);
}

export interface WrittenFailure {
  readonly file: string;
  readonly tokenFile: string;
  readonly token: string;
  /** `race explore FILE` (with the run's mutations) finds the same violation kind. */
  readonly reproduced: boolean;
  readonly explored: ExploreResult;
}

/**
 * Writes the shrunk scenario to DIR/NAME.json, explores that file as `race explore FILE`
 * would (the run's mutations, the same budget), and writes the token it prints to
 * DIR/NAME.token.
 */
export function writeFailure(f: SwarmFailure, dir: string, o: SwarmOptions): WrittenFailure {
  mkdirSync(dir, { recursive: true });
  const name = String(f.doc.name);
  const file = join(dir, `${name}.json`);
  const doc = { ...f.doc, description: `${String(f.original.description ?? '')}; shrunk from ${f.before.ops} ops, ${f.before.vcpus} vCPUs, ${f.before.memslots} memslots; shows ${f.violation.kind}` };
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  const explored = explore(resolveTarget(file), { budget: f.budget, mutate: o.mutate ?? [], skip: o.skip ?? [], patch: o.patch ?? [] });
  const token = explored.token ?? '';
  const tokenFile = join(dir, `${name}.token`);
  writeFileSync(tokenFile, `${token}\n`);
  return { file, tokenFile, token, reproduced: explored.found && explored.run!.violations[0]!.kind === f.violation.kind, explored };
}
