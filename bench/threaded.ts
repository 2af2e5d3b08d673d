/**
 * Threaded-engine figures (a benchmark, not a test: it asserts nothing, it prints). Every
 * figure comes from real worker threads running the full model, all in one run:
 *
 *  1. raw        — the walk + 64-bit CAS fault loop of bench/common.ts on this thread:
 *                  what a fault fundamentally costs on the layout, no lock, no protocol.
 *  2. per thread — one vCPU worker faulting every page of fresh memory once (first
 *                  touch: every access is an EPT violation) through the compiled machines
 *                  and the whole model; faults per second of the vCPU's step loop, beside
 *                  the raw rate.
 *  3. scaling    — the same on disjoint memory with 1 and 2 vCPU threads (each its own
 *                  partition, every page once): aggregate faults/s and the ratio
 *                  (goal ≥ 1.6× on this 2-core machine); and on shared memory (uniform
 *                  accesses over one region, so vCPUs race for the same SPTEs):
 *                  aggregate accesses/s and faults/s, 1 vs 2 threads.
 *  4. stress     — `faultline stress` with all churn on (4 vCPUs): accesses, faults,
 *                  retries, invalidations, memslot changes and pre-fault pages per second.
 *
 * Each figure is the median of a few runs (min–max beside it). Thread time is the
 * vCPU's step loop (worker start and machine binding excluded); aggregate rates divide
 * by the slowest vCPU's loop. This is a noisy 2-vCPU VM: trust ratios over absolutes.
 *
 * Usage: node build/bench/threaded.js [--quick] [--reps 3]
 */

import { Worker } from 'node:worker_threads';
import { sumCounters } from '../src/engine/counters.js';
import { startStress, type StressResult } from '../src/workload/presets/index.js';
import type { StressConfig } from '../src/workload/stress.js';
import { CHURN_DEFAULT_RATES } from '../src/workload/stress.js';
import { PAGE_BYTES, addRate, addRow, fmt, printTable, rawSample, repeat, stats, type Stats } from './common.js';

interface Options {
  readonly quick: boolean;
  readonly reps: number;
}

function parseOptions(argv: readonly string[]): Options {
  let quick = false;
  let reps = 3;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--reps') {
      reps = Number(argv[++i]);
      if (!Number.isInteger(reps) || reps < 1 || reps > 50) throw new Error(`--reps must be an integer in 1..50, got '${argv[i]}'`);
    } else throw new Error(`unknown option '${a}'; options: --quick, --reps N`);
  }
  return { quick, reps };
}

function base(over: Partial<StressConfig>): StressConfig {
  return { vcpus: 1, memoryBytes: 64 << 20, durationMs: null, accesses: null, workload: 'sequential', churn: {}, backingLevel: 1, vmType: 'default', seed: 1, writeRatio: 1, ...over };
}

async function runOnce(stress: StressConfig): Promise<StressResult> {
  const r = await startStress({ stress, scanIntervalMs: 0 }).result;
  if (r.violations.length > 0) throw new Error(`bench run found violations: ${r.violations.map((v) => v.kind).join(', ')}`);
  return r;
}

interface ThreadFigures {
  readonly faultsPerSec: number;
  readonly accessesPerSec: number;
  readonly faults: number;
  readonly loopMs: number;
}

/** Aggregate rates over the vCPU threads: totals over the span from the first loop's start to the last loop's end. */
function vcpuFigures(r: StressResult): ThreadFigures {
  const vcpus = r.actors.filter((a) => a.name.startsWith('vcpu'));
  const loopMs = Math.max(...vcpus.map((a) => a.loopEndMs)) - Math.min(...vcpus.map((a) => a.loopStartMs));
  const { faults, accesses } = sumCounters(vcpus);
  return { faultsPerSec: (faults * 1000) / loopMs, accessesPerSec: (accesses * 1000) / loopMs, faults, loopMs };
}

async function repeatRuns(reps: number, stress: StressConfig): Promise<ThreadFigures[]> {
  await runOnce(stress); // warm-up (the OS page cache, the JIT of the main thread)
  const out: ThreadFigures[] = [];
  for (let i = 0; i < reps; i++) out.push(vcpuFigures(await runOnce(stress)));
  return out;
}

const med = (xs: readonly number[]): Stats => stats(xs);

/** The raw loop in `threads` workers at once, each on its own VM: aggregate faults/s. */
async function rawThreads(threads: number, faults: number): Promise<number> {
  const go = new SharedArrayBuffer(8);
  const flag = new Int32Array(go);
  const file = new URL('./raw-worker.js', import.meta.url);
  const workers = Array.from({ length: threads }, () => new Worker(file, { workerData: { faults, go } }));
  const done = workers.map((w) => new Promise<number>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
  while (Atomics.load(flag, 1) < threads) await new Promise((r) => setTimeout(r, 1));
  const t0 = performance.now();
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  await Promise.all(done);
  const ms = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  return (threads * faults * 1000) / ms;
}

/** 2. One vCPU thread, every access a first-touch fault, beside the raw rate. */
async function perThread(o: Options, pagesPerVcpu: number, raw: Stats): Promise<void> {
  const one = await repeatRuns(o.reps, base({ vcpus: 1, memoryBytes: pagesPerVcpu * PAGE_BYTES, accesses: pagesPerVcpu }));
  const rate = med(one.map((f) => f.faultsPerSec));
  addRate('2 per thread', 'faultsPerSec 1 vCPU thread', rate, `${pagesPerVcpu} first-touch write faults, full protocol on a worker`);
  addRow('2 per thread', 'nsPerFault', 1e9 / rate.median);
  addRow('2 per thread', 'ratio thread/raw', `${((100 * rate.median) / raw.median).toFixed(1)}%`, null, 'the protocol and model on a worker vs the bare walk + CAS');
}

/**
 * 3. Scaling on disjoint memory: each vCPU its own partition, every page once. Rounds
 * alternate 1 and 2 threads, for the model and for the raw loop, so background load on
 * this shared VM hits all four alike; ratios are medians of per-round ratios.
 */
async function scalingDisjoint(o: Options, pagesPerVcpu: number): Promise<void> {
  const mem1 = pagesPerVcpu * PAGE_BYTES;
  const agg1: number[] = [];
  const agg2: number[] = [];
  const raw1: number[] = [];
  const raw2: number[] = [];
  await runOnce(base({ vcpus: 2, memoryBytes: 2 * mem1, accesses: pagesPerVcpu })); // warm-up
  for (let i = 0; i < o.reps + 4; i++) {
    agg1.push(vcpuFigures(await runOnce(base({ vcpus: 1, memoryBytes: mem1, accesses: pagesPerVcpu }))).faultsPerSec);
    agg2.push(vcpuFigures(await runOnce(base({ vcpus: 2, memoryBytes: 2 * mem1, accesses: pagesPerVcpu }))).faultsPerSec);
    raw1.push(await rawThreads(1, pagesPerVcpu));
    raw2.push(await rawThreads(2, pagesPerVcpu));
  }
  const ratios = agg2.map((x, i) => x / agg1[i]!);
  const rawRatios = raw2.map((x, i) => x / raw1[i]!);
  addRate('3 scaling disjoint', 'faultsPerSec 1 thread', med(agg1), `${pagesPerVcpu} first-touch faults per thread, ${o.reps + 4} alternating rounds`);
  addRate('3 scaling disjoint', 'faultsPerSec 2 threads', med(agg2), 'aggregate over the span both loops ran');
  const ratio = med(ratios);
  addRow('3 scaling disjoint', 'ratio 2/1 threads', `${ratio.median.toFixed(2)}×`, null, `per-round ${ratios.map((r) => r.toFixed(2)).join(' ')}; goal ≥ 1.6×: ${ratio.median >= 1.6 ? 'holds' : 'MISSED'} (compare the raw ratio below)`);
  addRate('3 scaling disjoint', 'raw faultsPerSec 1 worker', med(raw1), 'the raw loop in worker threads, each on its own VM');
  addRate('3 scaling disjoint', 'raw faultsPerSec 2 workers', med(raw2));
  const rawRatio = med(rawRatios);
  addRow('3 scaling disjoint', 'raw ratio 2/1 workers', `${rawRatio.median.toFixed(2)}×`, null, `per-round ${rawRatios.map((r) => r.toFixed(2)).join(' ')}: what this machine gives two threads sharing nothing`);
}

/** 3b. Shared memory: uniform accesses over one region by 1 and 2 threads (same count each). */
async function scalingShared(o: Options): Promise<void> {
  const sharedPages = o.quick ? 1 << 13 : 1 << 15;
  const sharedAccesses = sharedPages * 4;
  const s1 = await repeatRuns(o.reps, base({ vcpus: 1, memoryBytes: sharedPages * PAGE_BYTES, accesses: sharedAccesses, workload: 'uniform', writeRatio: 0.5 }));
  const s2 = await repeatRuns(o.reps, base({ vcpus: 2, memoryBytes: sharedPages * PAGE_BYTES, accesses: sharedAccesses, workload: 'uniform', writeRatio: 0.5 }));
  const sa1 = med(s1.map((f) => f.accessesPerSec));
  const sa2 = med(s2.map((f) => f.accessesPerSec));
  addRate('3 scaling shared', 'accessesPerSec 1 thread', sa1, `${sharedAccesses} uniform accesses per thread over ${sharedPages} shared pages`);
  addRate('3 scaling shared', 'accessesPerSec 2 threads', sa2);
  addRow('3 scaling shared', 'faults 1 / 2 threads', `${fmt(s1[0]!.faults)} / ${fmt(s2[0]!.faults)}`, null, 'with 2 threads some faults race for the same SPTE (spurious, CAS lost)');
  addRow('3 scaling shared', 'ratio 2/1 threads', `${(sa2.median / sa1.median).toFixed(2)}×`);
}

/** 4. Stress with all churn on. */
async function stressFigures(o: Options): Promise<void> {
  const stressMs = o.quick ? 3000 : 10_000;
  const stressRuns: StressResult[] = [];
  for (let i = 0; i < Math.max(1, Math.min(o.reps, 2)); i++) {
    stressRuns.push(await runOnce(base({ vcpus: 4, memoryBytes: 256 << 20, durationMs: stressMs, workload: 'uniform', writeRatio: 0.5, vmType: 'sw_protected', churn: { ...CHURN_DEFAULT_RATES } })));
  }
  const per = (f: (r: StressResult) => number): Stats => med(stressRuns.map((r) => (f(r) * 1000) / r.elapsedMs));
  const sum = (m: Record<string, number>): number => Object.values(m).reduce((a, b) => a + b, 0);
  const note = `4 vCPUs, 256 MiB SW_PROTECTED, all churn at default rates, ${stressMs / 1000} s`;
  addRate('4 stress', 'accessesPerSec', per((r) => r.stats.accesses), note);
  addRate('4 stress', 'faultsPerSec', per((r) => r.stats.faults));
  addRate('4 stress', 'retriesPerSec', per((r) => r.stats.retries));
  addRate('4 stress', 'invalidationsPerSec', per((r) => sum(r.stats.invalidations)));
  addRate('4 stress', 'memslotChangesPerSec', per((r) => sum(r.stats.memslotChanges)));
  addRate('4 stress', 'preFaultPagesPerSec', per((r) => r.stats.preFaultPages));
  addRow('4 stress', 'violations', stressRuns.reduce((n, r) => n + r.violations.length, 0));
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const pagesPerVcpu = o.quick ? 1 << 16 : 1 << 18;
  const t0 = performance.now();
  console.log(`faultline threaded bench — ${o.quick ? 'quick' : 'full'}, ${o.reps} runs after 1 warm-up, node ${process.version}`);
  // 1. raw
  const raw = repeat(o.reps, () => rawSample(pagesPerVcpu));
  addRate('1 raw', 'rawFaultsPerSec', raw.rate, `${pagesPerVcpu} faults: walk + link + 64-bit CAS on the main thread`);
  await perThread(o, pagesPerVcpu, raw.rate);
  await scalingDisjoint(o, pagesPerVcpu);
  await scalingShared(o);
  await stressFigures(o);
  console.log('');
  printTable();
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

await main();
