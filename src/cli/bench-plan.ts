/**
 * The plan of `faultline bench prefault-vs-lazy`: its options checked and made the lists
 * the benchmark runs over — page sizes, guest sizes, vCPU counts, strategies, clocks —
 * with the cost model and the output directory. Every mistake is one-line bad input,
 * found before the first run (a bad --out is not found after an hour of runs).
 */

import type { KernelRelease } from '../kvm/kernel-release.js';
import { mkdirSync } from 'node:fs';
import { PAGE_SIZES, STRATEGIES, type PageSize, type Strategy } from '../bench/prefault.js';
import { PAGE_LEVEL } from '../bench/point-ops.js';
import { HOST_MEMORIES, hostMemoryPageSizeError, type HostMemory } from '../kvm/host.js';
import { CostError, costModelOf, type CostModel } from '../engine/cost-model.js';
import { BENCH_MEMORY_BYTES_MAX, BENCH_MEMORY_BYTES_MIN, BENCH_REPEAT_MAX, VCPUS_MAX } from '../kvm/limits.js';
import type { GuestWorkloadKind, Sharing } from '../workload/guest.js';
import { UsageError, parseIntIn, parseShard, parseSize, parseU32Option, splitList } from './args.js';
import type { BenchFlags } from './bench-cli.js';

export type Clock = 'sim' | 'wall';

export interface BenchPlan {
  readonly pageSizes: PageSize[];
  /** Host memories to compare; each runs at the page sizes it has (hostMemoryPageSizeError). */
  readonly hostMemories: HostMemory[];
  /** The largest of pageSizes, in bytes: every guest is a whole number of them. */
  readonly pageBytes: number;
  readonly memories: number[];
  readonly vcpuList: number[];
  readonly strategies: Strategy[];
  readonly costModel: CostModel;
  readonly seed: number;
  /** The kernel release of every run (`--kernel`); absent: the newest modelled. */
  readonly kernel?: KernelRelease;
  readonly sharing: Sharing;
  readonly kind: GuestWorkloadKind;
  readonly clocks: Clock[];
  readonly repeat: number;
  /** Only the plan's points i, i+n, … (`--shard i/n`). */
  readonly shard: { readonly i: number; readonly n: number };
}

const bytesOf = (p: PageSize): number => (p === '4K' ? 4096 : p === '2M' ? 2 << 20 : 1 << 30);

/** Host page sizes (and the largest mapping): one, or a list to compare them side by side. */
function pageSizesOf(raw: string): PageSize[] {
  const sizes = [...new Set(splitList(raw))].map((p) => {
    if (!(PAGE_SIZES as readonly string[]).includes(p)) throw new UsageError(`--page-size: unknown page size '${p}'; valid: ${PAGE_SIZES.join(', ')}`);
    return p as PageSize;
  });
  if (sizes.length === 0) throw new UsageError('--page-size needs at least one size');
  return sizes;
}

/** Host memories: one, or a list; each must have at least one of the page sizes (a 4K-only list has no hugetlbfs). */
function hostMemoriesOf(raw: string, pageSizes: readonly PageSize[]): HostMemory[] {
  const kinds = [...new Set(splitList(raw))].map((k) => {
    if (!(HOST_MEMORIES as readonly string[]).includes(k)) throw new UsageError(`--host-memory: unknown host memory '${k}'; valid: ${HOST_MEMORIES.join(', ')}`);
    const kind = k as HostMemory;
    if (pageSizes.every((p) => hostMemoryPageSizeError(kind, PAGE_LEVEL[p]) !== null)) {
      throw new UsageError(`--host-memory ${kind} with --page-size ${pageSizes.join(',')}: ${hostMemoryPageSizeError(kind, PAGE_LEVEL[pageSizes[0]!])}`);
    }
    return kind;
  });
  if (kinds.length === 0) throw new UsageError('--host-memory needs at least one kind');
  return kinds;
}

function memoriesOf(raw: string, pageSizes: readonly PageSize[]): number[] {
  const memories = splitList(raw).map((m) => {
    const bytes = parseSize('memory', m, BENCH_MEMORY_BYTES_MIN, BENCH_MEMORY_BYTES_MAX);
    for (const p of pageSizes) if (bytes % bytesOf(p) !== 0) throw new UsageError(`--memory ${m} is not a whole number of ${p} pages`);
    return bytes;
  });
  if (memories.length === 0) throw new UsageError('--memory needs at least one size');
  return memories;
}

function strategiesOf(raw: string | undefined): Strategy[] {
  return splitList(raw ?? STRATEGIES.join(',')).map((s) => {
    if (!(STRATEGIES as readonly string[]).includes(s)) throw new UsageError(`--strategies: unknown strategy '${s}'; valid: ${STRATEGIES.join(', ')}`);
    return s as Strategy;
  });
}

/** vCPU counts, each at most VCPUS_MAX — one fewer with prefault-concurrent, whose pre-faulting vCPU is one more. */
function vcpuListOf(raw: string, strategies: readonly Strategy[]): number[] {
  const counts = splitList(raw).map((x) => parseIntIn('vcpus', x, 1, VCPUS_MAX));
  if (counts.length === 0) throw new UsageError('--vcpus needs at least one count');
  if (strategies.includes('prefault-concurrent') && counts.some((n) => n >= VCPUS_MAX)) {
    throw new UsageError(`--vcpus ${VCPUS_MAX}: prefault-concurrent pre-faults from one more vCPU and the model runs at most ${VCPUS_MAX} (VCPUS_MAX); give at most ${VCPUS_MAX - 1} or leave prefault-concurrent out of --strategies`);
  }
  return counts;
}

function costModelFrom(costs: readonly string[]): CostModel {
  try {
    return costModelOf(costs);
  } catch (e) {
    if (e instanceof CostError) throw new UsageError(e.message);
    throw e;
  }
}

/** The plan, or a UsageError naming the first bad option; creates the --out directory. */
export function benchPlan(f: BenchFlags): BenchPlan {
  const pageSizes = pageSizesOf(f.pageSize);
  const hostMemories = hostMemoriesOf(f.hostMemory, pageSizes);
  const memories = memoriesOf(f.memory ?? '256MiB', pageSizes);
  const strategies = strategiesOf(f.strategies);
  const vcpuList = vcpuListOf(f.vcpus ?? '1,4', strategies);
  const costModel = costModelFrom(f.cost ?? []);
  const seed = parseU32Option('seed', f.seed);
  if (f.trace !== undefined && f.workload !== undefined) throw new UsageError('give --workload or --trace, not both');
  const clocks: Clock[] = f.clock === 'both' ? ['sim', 'wall'] : [f.clock as Clock];
  // The simulated clock is deterministic: the same point gives the same figures every time.
  if (f.repeat !== undefined && !clocks.includes('wall')) throw new UsageError('--repeat applies to the wall clock (--clock wall|both): a simulated run gives the same figures every time');
  const repeat = f.repeat !== undefined ? parseIntIn('repeat', f.repeat, 1, BENCH_REPEAT_MAX) : 1;
  if (f.out !== undefined) {
    try {
      mkdirSync(f.out, { recursive: true });
    } catch (e) {
      throw new UsageError(`--out ${f.out}: ${(e as Error).message}`);
    }
  }
  return {
    pageSizes, hostMemories, pageBytes: Math.max(...pageSizes.map(bytesOf)), memories, vcpuList, strategies, costModel, seed,
    sharing: f.sharing as Sharing, kind: (f.workload ?? 'boot') as GuestWorkloadKind, clocks, repeat, shard: f.shard !== undefined ? parseShard(f.shard) : { i: 0, n: 1 },
    // commander checked --kernel against the releases.
    ...(f.kernel !== undefined ? { kernel: f.kernel as KernelRelease } : {}),
  };
}
