/**
 * `faultline bench prefault-vs-lazy`: every (memory, vCPUs) point of the lists, every
 * strategy, on the deterministic engine with the simulated clock and/or on the threaded
 * engine with the wall clock (`--clock sim|wall|both`); a table with each
 * strategy's ratio to lazy, or one JSON object; `--out DIR` also writes the results and
 * the charts (SVG, with their Vega-Lite specs) there. The options are checked in
 * bench-plan.ts, the guests made in bench-guests.ts.
 */

import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { runSimPoint, runWallPoint, type SimMetrics } from '../bench/prefault.js';
import { PAGE_LEVEL } from '../bench/point-ops.js';
import { hostMemoryPageSizeError } from '../kvm/host.js';
import { COST_DEFAULTS } from '../engine/cost-model.js';
import { formatBenchTable } from '../report/bench.js';
import { formatSize } from '../workload/numbers.js';
import { UsageError } from './args.js';
import type { BenchFlags } from './bench-cli.js';
import { benchGuests, type Guest } from './bench-guests.js';
import { benchPlan, type BenchPlan } from './bench-plan.js';
import { BenchProgress } from './bench-progress.js';
import type { Io } from './io.js';

/** Every run of the plan, clock by clock, guest by guest, page size by page size (each host memory that has it), strategy by strategy; with `--shard i/n` only points i, i+n, … (a point: clock, guest, backing). */
async function runAll(plan: BenchPlan, guests: readonly Guest[], io: Io, isTty: boolean): Promise<{ results: SimMetrics[]; points: number[] }> {
  const results: SimMetrics[] = [];
  const points: number[] = [];
  const backings = plan.pageSizes.flatMap((pageSize) => plan.hostMemories.filter((m) => hostMemoryPageSizeError(m, PAGE_LEVEL[pageSize]) === null).map((hostMemory) => ({ pageSize, hostMemory })));
  const all = plan.clocks.flatMap((clock) => guests.flatMap((g) => backings.map((b) => ({ clock, g, ...b }))));
  const mine = all.map((p, point) => ({ ...p, point })).filter((p) => p.point % plan.shard.n === plan.shard.i);
  const progress = new BenchProgress(io, isTty, mine.length * plan.strategies.length);
  for (const { clock, g, pageSize, hostMemory, point: index } of mine) {
    for (const strategy of plan.strategies) {
      const what = `${formatSize(g.w.memoryBytes)} ${g.w.vcpus.length} vCPU ${pageSize} ${hostMemory} ${strategy}`;
      const onProgress = progress.onProgress(what);
      const point = { strategy, pageSize, hostMemory, workload: g.w, costModel: plan.costModel, seed: plan.seed, ...(plan.kernel !== undefined ? { kernel: plan.kernel } : {}), ...(onProgress !== undefined ? { onProgress } : {}) };
      const m = clock === 'sim' ? runSimPoint(point) : await runWallPoint(point, plan.repeat);
      results.push(m);
      points.push(index);
      progress.finished(what, m);
    }
  }
  return { results, points };
}

/** DIR/results.json and the charts: Vega-Lite specs beside their SVG renderings. Returns the files written. */
async function writeOut(out: string, doc: object, plan: BenchPlan, results: readonly SimMetrics[], label: string): Promise<string[]> {
  const written: string[] = [];
  // The charts (vega, vega-lite) load only when they are written: about half a second of
  // start-up that a run printing its table or JSON does not need.
  const { benchCharts, renderSvg } = await import('../report/charts.js');
  try {
    writeFileSync(join(out, 'results.json'), `${JSON.stringify(doc, null, 2)}\n`);
    written.push('results.json');
    const charts = plan.clocks.flatMap((c) => benchCharts(results.filter((r) => r.clock === c), `${label}, ${plan.pageSizes.join('/')} pages`));
    for (const c of charts) {
      writeFileSync(join(out, `${c.name}.vl.json`), `${JSON.stringify(c.spec, null, 2)}\n`);
      writeFileSync(join(out, `${c.name}.svg`), await renderSvg(c.spec));
      written.push(`${c.name}.svg`);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== undefined) throw new UsageError(`--out ${out}: ${(e as Error).message}`);
    throw e;
  }
  return written;
}

/** The table, with what its times mean and where the files went. */
function printTable(results: readonly SimMetrics[], label: string, plan: BenchPlan, out: string | undefined, written: readonly string[], io: Io): void {
  io.out(formatBenchTable(results, label));
  if (plan.clocks.includes('sim')) io.out('simulated times: virtual ns from the cost model (--cost KEY=NS to change one), noise-free\n');
  if (plan.clocks.includes('wall')) io.out(`wall-clock times: the threaded engine on this machine (${availableParallelism()} CPUs) — the model's own speed, noisy; not KVM's${plan.repeat > 1 ? `; each the median of ${plan.repeat} runs` : ''}\n`);
  if (written.length > 0) io.out(`written to ${out}: ${written.join(', ')} (and each chart's Vega-Lite spec as .vl.json)\n`);
}

/** `faultline bench prefault-vs-lazy [options]`: exit 0, or 1 when a run found a violation. */
export async function benchPrefaultVsLazy(f: BenchFlags, io: Io, isTty: boolean): Promise<number> {
  const plan = benchPlan(f);
  const guests = await benchGuests(plan, f.trace, f.memory !== undefined, f.vcpus !== undefined);
  const { results, points } = await runAll(plan, guests, io, isTty);
  const label = guests[0]!.label;
  // A shard says which plan it is part of and where in it each result belongs (race merge joins them).
  const sharded = plan.shard.n > 1 ? { shard: plan.shard, plan: { memories: plan.memories, vcpus: plan.vcpuList, strategies: plan.strategies, repeat: plan.repeat }, points, label } : {};
  const doc = {
    benchmark: 'prefault-vs-lazy', clock: f.clock, ...(plan.kernel !== undefined ? { kernel: plan.kernel } : {}), workload: f.trace !== undefined ? { trace: f.trace } : { kind: plan.kind, sharing: plan.sharing, seed: plan.seed },
    pageSize: plan.pageSizes.join(','), pageSizes: plan.pageSizes, hostMemories: plan.hostMemories, costModel: { ...plan.costModel }, costDefaults: { ...COST_DEFAULTS }, ...sharded, results,
  };
  const written = f.out !== undefined ? await writeOut(f.out, doc, plan, results, label) : [];
  if (f.json === true) io.out(`${JSON.stringify(doc)}\n`);
  else printTable(results, label, plan, f.out, written, io);
  return results.some((r) => r.violations.length > 0) ? 1 : 0;
}
