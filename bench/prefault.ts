/**
 * Figures of `faultline bench prefault-vs-lazy` itself (a benchmark, not a test: it
 * asserts nothing, it prints), all in one run:
 *
 *  1. simulated clock, the model's speed — how long the deterministic engine takes to
 *     step a point through the model: wall ms per run, ns per step, µs per unit of work
 *     (a guest access or a 4K page to pre-fault), and what that makes a 64 GiB point.
 *  2. the TDP MMU's scaling shape (reference §7.2), both clocks side by side — lazy
 *     faulting of every page once (`sequential`), 1 and 2 vCPUs, on disjoint memory and on
 *     shared memory: time until the workload completes and the 1→2 ratio. The simulated
 *     figures are exact; the wall-clock ones are medians of a few runs of real threads on
 *     this machine (noisy: trust the direction of the ratio, not its digits).
 *
 * Usage: node build/bench/prefault.js [--quick] [--reps 3]
 */

import { runSimPoint, runWallPoint, type SimMetrics, type Strategy } from '../src/bench/prefault.js';
import { guestWorkload, type GuestWorkloadKind, type Sharing } from '../src/workload/guest.js';
import { PAGE_BYTES, addRow, printTable, stats } from './common.js';

const MiB = 2 ** 20;
/** Default runs per figure (the wall-clock ones are medians of them). */
const REPS_DEFAULT = 3;
/** Guest of the simulated-clock speed figures (section 1), quick and full. */
const SIM_SPEED_MIB_QUICK = 64;
const SIM_SPEED_MIB_FULL = 256;
/** Guest of the wall-clock scaling figures (section 2), quick and full; the simulated ones always use SIM_SCALE_MIB. */
const WALL_SCALE_MIB_QUICK = 256;
const WALL_SCALE_MIB_FULL = 1024;
const SIM_SCALE_MIB = 256;
/** The guest size the per-unit speed is extrapolated to, as the README's largest point (64 GiB). */
const EXTRAPOLATE_MIB = 64 * 1024;

function options(argv: readonly string[]): { quick: boolean; reps: number } {
  let quick = false;
  let reps = REPS_DEFAULT;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') quick = true;
    else if (argv[i] === '--reps') reps = Number(argv[++i]);
    else throw new Error(`unknown option ${argv[i]}; options: --quick, --reps N`);
  }
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps must be a positive integer');
  return { quick, reps };
}

const point = (strategy: Strategy, kind: GuestWorkloadKind, memoryBytes: number, vcpus: number, sharing: Sharing) => ({
  strategy, pageSize: '4K' as const, workload: guestWorkload({ kind, memoryBytes, vcpus, sharing, seed: 1 }),
});

async function main(): Promise<void> {
  const { quick, reps } = options(process.argv.slice(2));

  // 1. The simulated clock's own speed.
  const simMem = (quick ? SIM_SPEED_MIB_QUICK : SIM_SPEED_MIB_FULL) * MiB;
  for (const [strategy, vcpus] of [['lazy', 1], ['prefault', 1], ['lazy', 4], ['prefault-parallel', 4]] as const) {
    const p = point(strategy, 'boot', simMem, vcpus, 'partitioned');
    const work = p.workload.vcpus.reduce((s, v) => s + v.gfns.length, 0) + (strategy === 'lazy' ? 0 : simMem / PAGE_BYTES);
    runSimPoint(p); // warm-up
    const ms: number[] = [];
    let m: SimMetrics | null = null;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      m = runSimPoint(p);
      ms.push(performance.now() - t0);
    }
    const s = stats(ms);
    const usPerUnit = (s.median * 1e3) / work;
    addRow(`1. sim speed (${simMem / MiB} MiB boot)`, `${strategy}, ${vcpus} vCPU: run ms`, s.median, s,
      `${((s.median * 1e6) / m!.steps).toFixed(0)} ns/step, ${usPerUnit.toFixed(2)} µs per access or page; 64 GiB ≈ ${((usPerUnit * work * (EXTRAPOLATE_MIB * MiB / simMem)) / 1e6).toFixed(0)} s`);
  }

  // 2. The scaling shape on both clocks.
  const wallMem = (quick ? WALL_SCALE_MIB_QUICK : WALL_SCALE_MIB_FULL) * MiB;
  const simScaleMem = SIM_SCALE_MIB * MiB;
  for (const sharing of ['partitioned', 'shared'] as const) {
    const sim = [1, 2].map((v) => runSimPoint(point('lazy', 'sequential', simScaleMem, v, sharing)));
    addRow(`2. scaling, ${sharing}`, `sim ${simScaleMem / MiB} MiB: 1 → 2 vCPUs ms`, `${(sim[0]!.totalNs / 1e6).toFixed(1)} → ${(sim[1]!.totalNs / 1e6).toFixed(1)}`, null,
      `speed-up ${(sim[0]!.totalNs / sim[1]!.totalNs).toFixed(2)}×; exits ${sim[0]!.exits} → ${sim[1]!.exits}`);
    const wall: SimMetrics[] = [];
    for (const v of [1, 2]) wall.push(await runWallPoint(point('lazy', 'sequential', wallMem, v, sharing), reps));
    addRow(`2. scaling, ${sharing}`, `wall ${wallMem / MiB} MiB: 1 → 2 vCPUs ms`, `${(wall[0]!.totalNs / 1e6).toFixed(0)} → ${(wall[1]!.totalNs / 1e6).toFixed(0)}`, null,
      `speed-up ${(wall[0]!.totalNs / wall[1]!.totalNs).toFixed(2)}× (median of ${reps}); exits ${wall[0]!.exits} → ${wall[1]!.exits}, retries ${retries(wall[0]!)} → ${retries(wall[1]!)}`);
  }
  printTable();
}

const retries = (m: SimMetrics): number => Object.values(m.retriesByReason).reduce((a, b) => a + b, 0);

main().catch((e: unknown) => {
  console.error(`bench/prefault: ${(e as Error).message}`);
  process.exit(1);
});
