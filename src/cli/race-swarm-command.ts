/**
 * `faultline race swarm`: generated scenarios explored with the portfolio. Exit 0 when
 * every scenario was clean or showed only documented findings, 1 when one showed anything
 * else (the scenario shrunk and written with its token), 2 on bad input.
 */

import { KERNEL_DEFAULT, type KernelRelease } from '../kvm/kernel-release.js';
import { EXPLORE_BUDGET_MAX } from '../kvm/limits.js';
import { checkVmTypeSupported, type VmType } from '../kvm/vm-types.js';
import { COMPILED } from '../protocol/machines.js';
import { buildMutations } from '../protocol/mutations.js';
import { KNOWN_FINDINGS } from '../race/known-findings.js';
import { SWARM_DEEPEN, swarm, writeFailure, type SwarmOptions, type SwarmResult, type WrittenFailure } from '../race/swarm.js';
import { formatViolation } from '../report/text.js';
import { catalogueEntry } from '../workload/catalogue.js';
import { parseSeed } from '../sched/prng.js';
import { UsageError, parseDuration, parseIntIn, parseShard } from './args.js';
import type { Io } from './io.js';
import type { SwarmFlags } from './race-cli.js';
import { coverageByMachine } from './race-command.js';

/** Scenario indices a run may ask for. */
const SWARM_SCENARIOS_MAX = 1_000_000_000;

/** The options checked, as the swarm's options (bad input: UsageError, MutationError, VmCreateError). */
function swarmOptions(f: SwarmFlags): SwarmOptions & { kernel: KernelRelease } {
  if (f.time !== undefined && f.scenarios !== undefined) throw new UsageError('give --time or --scenarios, not both');
  const kernel = (f.kernel ?? KERNEL_DEFAULT) as KernelRelease;
  let seed: number;
  try {
    seed = parseSeed(f.seed);
  } catch (e) {
    throw new UsageError(`--seed: ${(e as Error).message}`);
  }
  if (f.vmType !== undefined) checkVmTypeSupported(f.vmType as VmType, kernel);
  buildMutations(COMPILED, f.mutate ?? [], f.skip ?? []);
  return {
    seed, kernel, budget: parseIntIn('budget', f.budget, 1, EXPLORE_BUDGET_MAX), shard: f.shard !== undefined ? parseShard(f.shard) : { i: 0, n: 1 },
    ...(f.time !== undefined ? { timeMs: parseDuration('time', f.time) } : {}),
    ...(f.scenarios !== undefined ? { scenarios: parseIntIn('scenarios', f.scenarios, 1, SWARM_SCENARIOS_MAX) } : {}),
    ...(f.vmType !== undefined ? { vmType: f.vmType as VmType } : {}),
    mutate: f.mutate ?? [], skip: f.skip ?? [], patch: [...new Set(f.patch ?? [])],
  };
}

function mutationArgs(o: SwarmOptions): string {
  return [...(o.mutate ?? []).map((m) => ` --mutate ${m}`), ...(o.skip ?? []).map((s) => ` --skip ${s}`), ...(o.patch ?? []).map((p) => ` --patch ${p}`)].join('');
}

/** The summary line of `--json`, shaped like `race explore --json`'s, plus the swarm's own fields. */
function jsonSummary(o: SwarmOptions & { kernel: KernelRelease }, f: SwarmFlags, r: SwarmResult, w: WrittenFailure | null): Record<string, unknown> {
  return {
    type: 'summary', target: 'swarm', kernel: o.kernel, scheduler: 'portfolio', depth: null, shard: o.shard, seed: o.seed, budget: o.budget,
    mutate: o.mutate ?? [], skip: o.skip ?? [], patch: o.patch ?? [], vmType: o.vmType ?? null, time: f.time ?? null,
    found: r.failure !== null, foundBy: r.failure?.foundBy ?? null, schedules: r.schedules, steps: r.steps, ms: Math.round(r.ms),
    token: w?.token ?? null, violation: r.failure?.violation ?? null, coverage: coverageByMachine(r.coverage, r.transitions),
    scenarios: r.scenarios, findings: r.findings, file: w?.file ?? null, reproduced: w?.reproduced ?? null,
    shrunk: r.failure === null ? null : { index: r.failure.index, before: r.failure.before, after: r.failure.after, attempts: r.failure.shrinkAttempts },
  };
}

function printSummary(o: SwarmOptions & { kernel: KernelRelease }, r: SwarmResult, io: Io): void {
  const rate = (r.scenarios * 1000) / Math.max(1, r.ms);
  io.out(`${r.scenarios.toLocaleString('en-US')} scenario(s), ${r.schedules.toLocaleString('en-US')} schedules, ${r.steps.toLocaleString('en-US')} steps, ${(r.ms / 1000).toFixed(1)} s (${rate.toFixed(1)} scenarios/s)\n`);
  for (const [name, n] of Object.entries(r.findings)) {
    const e = catalogueEntry(name);
    const doc = KNOWN_FINDINGS.find((k) => k.name === name)?.doc ?? (e !== undefined ? `catalogue race ${e.ref}, fixed by ${e.commit.hash}: this release has it` : '');
    io.out(`documented finding ${name}: ${n.count} scenario(s), first ${n.first} — ${doc} (not a failure)\n`);
  }
  const cover = coverageByMachine(r.coverage, r.transitions);
  io.out(`coverage: ${Object.entries(cover).map(([m, c]) => `${m} ${c.fired}/${c.total}`).join(', ')}\n`);
}

function printFailure(o: SwarmOptions, r: SwarmResult, w: WrittenFailure, io: Io): void {
  const f = r.failure!;
  io.out(`\nscenario ${f.index}: ${f.violation.kind}, found by ${f.foundBy}\n`);
  io.out(`shrunk: ops ${f.before.ops} → ${f.after.ops}, vCPUs ${f.before.vcpus} → ${f.after.vcpus}, memslots ${f.before.memslots} → ${f.after.memslots} (${f.shrinkAttempts} smaller scenarios explored)\n\n`);
  for (const line of formatViolation(w.explored.run?.violations[0] ?? f.violation)) io.out(`${line}\n`);
  io.out(`\nwrote ${w.file} and ${w.tokenFile}${w.reproduced ? '' : ' (the written file did NOT reproduce it)'}\n`);
  io.out(`explore: faultline race explore ${w.file}${mutationArgs(o)} --budget ${f.budget}\n`);
  if (w.token !== '') io.out(`replay: faultline race replay ${w.token}\n`);
}

/** `race swarm [options]` */
export function raceSwarm(flags: SwarmFlags, io: Io): number {
  const o = swarmOptions(flags);
  const json = flags.json === true;
  const shard = o.shard!;
  const range = o.timeMs !== undefined ? `for ${flags.time}` : `${o.scenarios ?? 'the default number of'} scenario indices`;
  if (!json) io.out(`swarm — seed ${o.seed}, kernel ${o.kernel}${o.vmType !== undefined ? `, vm type ${o.vmType}` : ''}, ${range}${shard.n > 1 ? `, shard ${shard.i}/${shard.n}` : ''}, ${o.budget} schedules per scenario (portfolio; ${SWARM_DEEPEN * (o.budget ?? 1)} if it reaches a rare transition)${mutationArgs(o) !== '' ? `,${mutationArgs(o)}` : ''}\n`);
  const r = swarm({ ...o, ...(json ? { onScenario: (s) => io.out(`${JSON.stringify({ type: 'scenario', ...s })}\n`) } : {}) });
  const w = r.failure !== null ? writeFailure(r.failure, flags.out, o) : null;
  if (json) {
    io.out(`${JSON.stringify(jsonSummary(o, flags, r, w))}\n`);
    return w !== null ? 1 : 0;
  }
  printSummary(o, r, io);
  if (w === null) {
    io.out('violations: none (beyond documented findings)\n');
    return 0;
  }
  printFailure(o, r, w, io);
  return 1;
}
