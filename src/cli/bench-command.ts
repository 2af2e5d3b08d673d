/**
 * `faultline bench prefault-vs-lazy`: every (memory, vCPUs) point of the lists, every
 * strategy, on the deterministic engine with the simulated clock and/or on the threaded
 * engine with the wall clock (`--clock sim|wall|both`); a table with each
 * strategy's ratio to lazy, or one JSON object; `--out DIR` also writes the results and
 * the charts (SVG, with their Vega-Lite specs) there.
 */

import { closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { PAGE_SIZES, STRATEGIES, runSimPoint, runWallPoint, type PageSize, type SimMetrics, type Strategy } from '../bench/prefault.js';
import { COST_DEFAULTS, CostError, costModelOf } from '../engine/cost-model.js';
import { formatBenchTable } from '../report/bench.js';
import { benchCharts, renderSvg } from '../report/charts.js';
import { GUEST_WORKLOADS, guestWorkload, traceWorkload, type GuestWorkload, type GuestWorkloadKind, type Sharing } from '../workload/guest.js';
import { TraceFormatError, readKvmTraceFile } from '../workload/kvm-trace.js';
import { formatSize } from '../workload/numbers.js';
import { VCPUS_MAX } from '../kvm/limits.js';
import { UsageError, parseArgs, parseU32Option, type OptionSpec } from './args.js';
import type { Io } from './io.js';
import { parseIntIn, parseSize } from './stress-command.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'memory', kind: 'value' },
  { name: 'vcpus', kind: 'value' },
  { name: 'workload', kind: 'value', choices: [...GUEST_WORKLOADS] },
  { name: 'sharing', kind: 'value', choices: ['partitioned', 'shared'] },
  { name: 'trace', kind: 'value' },
  { name: 'strategies', kind: 'value' },
  { name: 'page-size', kind: 'value' },
  { name: 'cost', kind: 'multi' },
  { name: 'seed', kind: 'value' },
  { name: 'json', kind: 'flag' },
  { name: 'out', kind: 'value' },
  { name: 'clock', kind: 'value', choices: ['sim', 'wall', 'both'] },
  { name: 'repeat', kind: 'value' },
];

/** A binary recording given where its text is wanted: trace-cmd's trace.dat or perf's perf.data (by magic), else null. */
function recordingKind(path: string): 'trace-cmd' | 'perf' | null {
  let head: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      head = Buffer.alloc(10);
      readSync(fd, head, 0, 10, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  if (head[0] === 0x17 && head[1] === 0x08 && head[2] === 0x44 && head.subarray(3, 10).toString('latin1') === 'tracing') return 'trace-cmd';
  if (head.subarray(0, 8).toString('latin1') === 'PERFILE2') return 'perf';
  return null;
}

/** The progress bar: runs done of all. */
function bar(done: number, total: number): string {
  const width = 24;
  const filled = Math.round((width * done) / total);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** 75 → `1m15s`, 8.2 → `8s`. */
function formatDuration(s: number): string {
  const r = Math.round(s);
  return r >= 60 ? `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s` : `${r}s`;
}

const list = (raw: string): string[] => raw.split(',').map((s) => s.trim()).filter((s) => s !== '');

export async function benchCommand(argv: readonly string[], io: Io, isTty = process.stderr.isTTY === true): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'prefault-vs-lazy') throw new UsageError(sub === undefined ? "'bench' needs a benchmark: prefault-vs-lazy" : `unknown benchmark '${sub}'; try: prefault-vs-lazy`);
  const args = parseArgs(rest, OPTIONS, 'bench prefault-vs-lazy');
  if (args.positionals.length > 0) throw new UsageError(`'bench prefault-vs-lazy' takes no positional arguments, got: ${args.positionals.join(' ')}`);
  const v = (k: string): string | undefined => args.values.get(k);
  // Host page sizes (and the largest mapping): one, or a list to compare them side by side.
  const pageSizes = [...new Set(list(v('page-size') ?? '4K'))].map((p) => {
    if (!(PAGE_SIZES as readonly string[]).includes(p)) throw new UsageError(`--page-size: unknown page size '${p}'; valid: ${PAGE_SIZES.join(', ')}`);
    return p as PageSize;
  });
  if (pageSizes.length === 0) throw new UsageError('--page-size needs at least one size');
  const bytesOf = (p: PageSize): number => (p === '4K' ? 4096 : p === '2M' ? 2 << 20 : 1 << 30);
  const pageBytes = Math.max(...pageSizes.map(bytesOf));
  const memories = list(v('memory') ?? '256MiB').map((m) => {
    const bytes = parseSize('memory', m, 2 << 20, 256 * 2 ** 30);
    for (const p of pageSizes) if (bytes % bytesOf(p) !== 0) throw new UsageError(`--memory ${m} is not a whole number of ${p} pages`);
    return bytes;
  });
  if (memories.length === 0) throw new UsageError('--memory needs at least one size');
  const vcpuList = list(v('vcpus') ?? '1,4').map((x) => parseIntIn('vcpus', x, 1, 64));
  if (vcpuList.length === 0) throw new UsageError('--vcpus needs at least one count');
  const strategies = list(v('strategies') ?? STRATEGIES.join(',')).map((s) => {
    if (!(STRATEGIES as readonly string[]).includes(s)) throw new UsageError(`--strategies: unknown strategy '${s}'; valid: ${STRATEGIES.join(', ')}`);
    return s as Strategy;
  });
  let costModel;
  try {
    costModel = costModelOf(args.multi.get('cost') ?? []);
  } catch (e) {
    if (e instanceof CostError) throw new UsageError(e.message);
    throw e;
  }
  const seed = v('seed') !== undefined ? parseU32Option('seed', v('seed')!) : 1;
  const sharing = (v('sharing') ?? 'partitioned') as Sharing;
  const kind = (v('workload') ?? 'boot') as GuestWorkloadKind;
  if (v('trace') !== undefined && v('workload') !== undefined) throw new UsageError('give --workload or --trace, not both');

  // The guests: one per (memory, vCPUs), or the trace's own vCPUs at each memory size.
  const guests: { w: GuestWorkload; label: string }[] = [];
  if (v('trace') !== undefined) {
    let trace;
    try {
      trace = await readKvmTraceFile(v('trace')!);
    } catch (e) {
      if (e instanceof TraceFormatError) throw new UsageError(`--trace ${v('trace')}: ${e.message}`);
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== undefined) throw new UsageError(`--trace ${v('trace')}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      throw e;
    }
    if (trace.faults.length === 0) {
      const binary = recordingKind(v('trace')!);
      if (binary !== null) throw new UsageError(`--trace ${v('trace')}: a binary ${binary} recording; give its text: ${binary === 'trace-cmd' ? `trace-cmd report -i ${v('trace')}` : `perf script -i ${v('trace')}`} > trace.txt`);
      throw new UsageError(`--trace ${v('trace')}: no kvm_page_fault events (${trace.skipped} other lines)`);
    }
    if (v('vcpus') !== undefined) throw new UsageError('--vcpus does not apply to --trace: the trace names its vCPUs');
    // (prefault-concurrent adds a spare vCPU.)
    if (trace.vcpuIds.length > VCPUS_MAX - 1) throw new UsageError(`--trace ${v('trace')}: ${trace.vcpuIds.length} vCPUs; the model runs at most ${VCPUS_MAX - 1}`);
    for (const m of v('memory') !== undefined ? memories : [undefined]) {
      let w;
      try {
        w = traceWorkload(trace, m);
      } catch (e) {
        throw new UsageError(`--trace ${v('trace')}: ${(e as Error).message}`);
      }
      if (w.memoryBytes % pageBytes !== 0) w = traceWorkload(trace, Math.ceil(w.memoryBytes / pageBytes) * pageBytes);
      const left = w.dropped === undefined ? '' : `; untouched gpa ${w.dropped.map(([a, b]) => `0x${a.toString(16)}-0x${b.toString(16)}`).join(', ')} left out`;
      guests.push({ w, label: `trace ${v('trace')} (${trace.faults.length} faults, ${trace.vcpuIds.length} vCPUs, ${trace.skipped} other lines skipped${left})` });
    }
  } else {
    for (const m of memories) for (const n of vcpuList) guests.push({ w: guestWorkload({ kind, vcpus: n, memoryBytes: m, sharing, seed }), label: `${kind}, ${sharing}` });
  }

  const clockOpt = v('clock') ?? 'sim';
  const clocks: ('sim' | 'wall')[] = clockOpt === 'both' ? ['sim', 'wall'] : [clockOpt as 'sim' | 'wall'];
  // The simulated clock is deterministic: the same point gives the same figures every time.
  if (v('repeat') !== undefined && !clocks.includes('wall')) throw new UsageError('--repeat applies to the wall clock (--clock wall|both): a simulated run gives the same figures every time');
  const repeat = v('repeat') !== undefined ? parseIntIn('repeat', v('repeat')!, 1, 99) : 1;
  // The output directory before any run: a bad --out is found now, not after an hour of runs.
  if (v('out') !== undefined) {
    try {
      mkdirSync(v('out')!, { recursive: true });
    } catch (e) {
      throw new UsageError(`--out ${v('out')}: ${(e as Error).message}`);
    }
  }
  const results: SimMetrics[] = [];
  const total = guests.length * pageSizes.length * strategies.length * clocks.length;
  let done = 0;
  const t0 = performance.now();
  for (const clock of clocks) {
    for (const g of guests) for (const pageSize of pageSizes) {
      for (const s of strategies) {
        // On a terminal, a long simulated run shows how far it has got and about how long is left.
        const runStart = performance.now();
        const what = `${formatSize(g.w.memoryBytes)} ${g.w.vcpus.length} vCPU ${pageSize} ${s}`;
        const onProgress = (f: number): void => {
          const el = (performance.now() - runStart) / 1000;
          const left = f > 0.02 ? ` ~${formatDuration((el * (1 - f)) / f)} left` : '';
          io.err(`\r\x1b[K${bar(done, total)} ${done}/${total} ${what}: ${Math.floor(f * 100)}%${left}`);
        };
        const point = { strategy: s, pageSize, workload: g.w, costModel, seed, ...(isTty ? { onProgress } : {}) };
        const m = clock === 'sim' ? runSimPoint(point) : await runWallPoint(point, repeat);
        results.push(m);
        done++;
        const median = m.runsNs !== undefined ? ` (median of ${m.runsNs.length})` : '';
        const line = `${what}: ${(m.totalNs / 1e6).toFixed(3)} ms ${clock === 'sim' ? 'simulated' : 'wall clock'}${median} (${((performance.now() - t0) / 1000).toFixed(1)} s)`;
        if (isTty) {
          // A bar redrawn in place; the last run's figure beside it.
          io.err(`\r\x1b[K${bar(done, total)} ${done}/${total} ${line}${done === total ? '\n' : ''}`);
        } else {
          io.err(`[${done}/${total}] ${line}\n`);
        }
      }
    }
  }
  const label = guests[0]!.label;
  const doc = {
    benchmark: 'prefault-vs-lazy', clock: clockOpt, workload: v('trace') !== undefined ? { trace: v('trace') } : { kind, sharing, seed }, pageSize: pageSizes.join(','),
    pageSizes, costModel: { ...costModel }, costDefaults: { ...COST_DEFAULTS }, results,
  };
  const written: string[] = [];
  if (v('out') !== undefined) {
    const out = v('out')!;
    try {
      writeFileSync(join(out, 'results.json'), `${JSON.stringify(doc, null, 2)}\n`);
      written.push('results.json');
      // The charts: Vega-Lite specs beside their SVG renderings.
      const charts = clocks.flatMap((c) => benchCharts(results.filter((r) => r.clock === c), `${label}, ${pageSizes.join('/')} pages`));
      for (const c of charts) {
        writeFileSync(join(out, `${c.name}.vl.json`), `${JSON.stringify(c.spec, null, 2)}\n`);
        writeFileSync(join(out, `${c.name}.svg`), await renderSvg(c.spec));
        written.push(`${c.name}.svg`);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== undefined) throw new UsageError(`--out ${out}: ${(e as Error).message}`);
      throw e;
    }
  }
  if (args.flags.has('json')) io.out(`${JSON.stringify(doc)}\n`);
  else {
    io.out(formatBenchTable(results, label));
    if (clocks.includes('sim')) io.out('simulated times: virtual ns from the cost model (--cost KEY=NS to change one), noise-free\n');
    if (clocks.includes('wall')) io.out(`wall-clock times: the threaded engine on this machine (${availableParallelism()} CPUs) — the model's own speed, noisy; not KVM's${repeat > 1 ? `; each the median of ${repeat} runs` : ''}\n`);
    if (written.length > 0) io.out(`written to ${v('out')}: ${written.join(', ')} (and each chart's Vega-Lite spec as .vl.json)\n`);
  }
  return results.some((r) => r.violations.length > 0) ? 1 : 0;
}
