/**
 * `faultline bench prefault-vs-lazy` on the command line: its options, defaults and
 * examples. The work is in bench-command.ts, imported when the command runs.
 */

import { HOST_MEMORIES } from '../kvm/host-memory.js';
import { KERNEL_DEFAULT } from '../kvm/kernel-release.js';
import { Command, type Option } from 'commander';
import { PAGE_SIZES, STRATEGIES } from '../bench/point-ops.js';
import { BENCH_REPEAT_MAX, VCPUS_MAX } from '../kvm/limits.js';
import { GUEST_WORKLOADS } from '../workload/guest.js';
import type { Ctx } from './ctx.js';
import { withWords } from './errors.js';
import { kernelOption, option, withExamples } from './options.js';

/** The options of `bench prefault-vs-lazy`, as commander hands them over (values unparsed; bench-plan.ts checks them). */
export interface BenchFlags {
  readonly memory?: string;
  readonly vcpus?: string;
  readonly workload?: string;
  readonly sharing: string;
  readonly trace?: string;
  readonly strategies?: string;
  readonly pageSize: string;
  readonly hostMemory: string;
  readonly clock: string;
  readonly repeat?: string;
  readonly cost?: string[];
  readonly seed: string;
  readonly json?: boolean;
  readonly out?: string;
  readonly kernel?: string;
  readonly shard?: string;
}

const benchOptions = (): Option[] => [
  option('--memory <SIZE[,SIZE…]>', 'guest sizes, e.g. 64MiB,1GiB', { defaultNote: '256MiB' }),
  option('--vcpus <N[,N…]>', `vCPU counts, each 1..${VCPUS_MAX}`, { defaultNote: '1,4' }),
  option('--workload <KIND>', 'what the guest touches', { choices: GUEST_WORKLOADS, defaultNote: 'boot' }),
  option('--sharing <HOW>', 'each vCPU its own slice of memory, or all of it', { choices: ['partitioned', 'shared'], default: 'partitioned' }),
  option('--trace <FILE>', 'a kvm:kvm_page_fault trace (trace-cmd report / perf script / ftrace text) as the workload, its vCPUs the guest\'s'),
  option('--strategies <S[,S…]>', `the strategies to compare: ${STRATEGIES.join(', ')}`, { defaultNote: 'all' }),
  option('--page-size <SIZE[,SIZE…]>', `host backing and the largest mapping: ${PAGE_SIZES.join(', ')}; a list compares them`, { default: '4K' }),
  option('--host-memory <KIND[,KIND…]>', `what backs guest memory: ${HOST_MEMORIES.join(', ')} (anonymous is QEMU's default: a pre-fault maps the zero page and each first write still exits); a list compares them, each at the page sizes it has`, { default: 'anonymous' }),
  option('--clock <CLOCK>', 'simulated (cost model, deterministic engine) or wall clock (threaded engine)', { choices: ['sim', 'wall', 'both'], default: 'sim' }),
  option('--repeat <N>', `wall clock: run each point N times (1..${BENCH_REPEAT_MAX}), report the median run`, { defaultNote: '1' }),
  option('--cost <KEY=NS>', 'override a cost of the simulated clock, e.g. vmExit=900 (repeatable)', { repeatable: true }),
  option('--seed <N>', 'seed of the workload, 0..2^32-1', { default: '1' }),
  option('--json', 'print one JSON object (every result, the cost model)'),
  option('--shard <i/n>', "only points i, i+n, i+2n, … of the plan (a point: one clock, guest, page size and host memory, every strategy); 'faultline race merge' joins the shards' --json", { defaultNote: '0/1' }),
  option('--out <DIR>', 'also write DIR/results.json and the charts (SVG and their Vega-Lite specs)'),
  kernelOption(KERNEL_DEFAULT),
];

function prefaultVsLazyCommand(ctx: Ctx): Command {
  const cmd = new Command('prefault-vs-lazy')
    .description('pre-populating guest memory (KVM_PRE_FAULT_MEMORY, KVM_MAP_MEMORY) versus lazy faults: every (memory, vCPUs, page size) point, every strategy, with its ratio to lazy');
  for (const o of benchOptions()) cmd.addOption(o);
  cmd.action(async (flags: BenchFlags) => {
    ctx.status = await (await import('./bench-command.js')).benchPrefaultVsLazy(flags, ctx.io, ctx.isTty);
  });
  return withExamples(cmd, [
    'faultline bench prefault-vs-lazy --memory 256MiB,1GiB --vcpus 1,4,16',
    'faultline bench prefault-vs-lazy --page-size 4K,2M --strategies lazy,prefault,prefault-parallel --out results/',
    'faultline bench prefault-vs-lazy --host-memory anonymous,shared --strategies lazy,prefault,populate,populate-lazy',
    'faultline bench prefault-vs-lazy --clock both --repeat 5 --json',
    'faultline bench prefault-vs-lazy --trace boot-trace.txt --strategies lazy,prefault',
    'faultline bench prefault-vs-lazy --memory 256MiB,1GiB --vcpus 1,4 --shard 0/2 --json > shard-0.json',
  ]);
}

/** `faultline bench prefault-vs-lazy`. */
export function benchCli(ctx: Ctx): Command {
  const cmd = new Command('bench')
    .description('benchmarks: pre-populating guest memory versus lazy faulting (prefault-vs-lazy)')
    .addCommand(prefaultVsLazyCommand(ctx));
  withExamples(cmd, ['faultline bench prefault-vs-lazy', 'faultline bench prefault-vs-lazy --help']);
  return withWords(cmd, { needs: "'bench' needs a benchmark: prefault-vs-lazy" });
}
