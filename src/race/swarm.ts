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

function exploreDoc(doc: ScenarioDoc, scenario: Scenario, o: SwarmOptions): ExploreResult {
  return explore(docTarget(doc, scenario), { budget: o.budget ?? SWARM_BUDGET_DEFAULT, mutate: o.mutate ?? [], skip: o.skip ?? [], patch: o.patch ?? [] });
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

/** Shrinks a failing scenario while the same violation kind (not a finding) still shows. */
function shrinkFailure(index: number, doc: ScenarioDoc, r: ExploreResult, o: SwarmOptions): SwarmFailure {
  const v = undocumented(r, doc)!;
  const still = (s: Scenario, d: ScenarioDoc): boolean => undocumented(exploreDoc(d, s, o), d)?.kind === v.kind;
  const s = shrinkScenario(doc, still, o.shrinkAttempts ?? SWARM_SHRINK_ATTEMPTS);
  const last = exploreDoc(s.doc, parseCandidate(s.doc)!, o);
  return {
    index, original: doc, doc: s.doc, violation: last.run!.violations[0]!, foundBy: last.foundBy!.label,
    before: scenarioSize(doc), after: scenarioSize(s.doc), shrinkAttempts: s.attempts,
  };
}

export function swarm(o: SwarmOptions): SwarmResult {
  const t0 = performance.now();
  const shard = o.shard ?? { i: 0, n: 1 };
  const limit = o.scenarios ?? (o.timeMs !== undefined ? Infinity : SWARM_SCENARIOS_DEFAULT);
  const coverage = new Map<string, number>();
  let transitions: readonly string[] = [];
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
    const r = exploreDoc(doc, scenario, o);
    scenarios++;
    schedules += r.schedules;
    steps += r.steps;
    if (transitions.length === 0) transitions = r.transitions;
    for (const [k, n] of r.coverage) coverage.set(k, (coverage.get(k) ?? 0) + n);
    const v: RunResult['violations'][number] | undefined = r.run?.violations[0];
    const finding = v !== undefined ? knownFinding(v, releaseOf(doc)) : null;
    if (finding !== null) findings[finding.name] = { count: (findings[finding.name]?.count ?? 0) + 1, first: findings[finding.name]?.first ?? index };
    o.onScenario?.({ index, name: String(doc.name), features: g.features, schedules: r.schedules, steps: r.steps, violation: v?.kind ?? null, finding: finding?.name ?? null, foundBy: r.foundBy?.label ?? null });
    if (v !== undefined && finding === null) return result(shrinkFailure(index, doc, r, o));
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
  const explored = explore(resolveTarget(file), { budget: Math.max(o.budget ?? SWARM_BUDGET_DEFAULT, 1), mutate: o.mutate ?? [], skip: o.skip ?? [], patch: o.patch ?? [] });
  const token = explored.token ?? '';
  const tokenFile = join(dir, `${name}.token`);
  writeFileSync(tokenFile, `${token}\n`);
  return { file, tokenFile, token, reproduced: explored.found && explored.run!.violations[0]!.kind === f.violation.kind, explored };
}
