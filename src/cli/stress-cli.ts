/**
 * `faultline stress` on the command line: its options, defaults and examples. The work is
 * in stress-command.ts, imported when the command runs.
 */

import { Command, type Option } from 'commander';
import { THREADED_KICK_MS, THREADED_SCAN_INTERVAL_MS, THREADED_WATCHDOG_MS, VCPUS_MAX, WATCHDOG_MS_MIN } from '../kvm/limits.js';
import { VM_TYPE_NAMES } from '../kvm/vm-types.js';
import { HOST_MEMORIES } from '../kvm/host-memory.js';
import { CHURN_KINDS, STRESS_PRESETS, STRESS_WORKLOADS } from '../workload/stress.js';
import type { Ctx } from './ctx.js';
import { kernelOption, mutationOptions, option, patchOption, withExamples } from './options.js';
import { KERNEL_DEFAULT } from '../kvm/kernel-release.js';

/** The options of `stress`, as commander hands them over (values unparsed; stress-command.ts checks them). */
export interface StressFlags {
  readonly vcpus: string;
  readonly memory: string;
  readonly duration?: string;
  readonly accesses?: string;
  readonly workload?: string;
  readonly churn?: string;
  readonly hugepages: string;
  readonly hostMemory: string;
  readonly populated?: boolean;
  readonly vmType?: string;
  readonly writeRatio?: string;
  readonly mutate?: string[];
  readonly skip?: string[];
  readonly patch?: string[];
  readonly seed: string;
  readonly watchdog: string;
  readonly scanInterval: string;
  readonly kick: string;
  readonly manualDirtyLogProtect?: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly preset?: string;
  readonly kernel?: string;
}

const stressOptions = (): Option[] => [
  option('--vcpus <N>', `vCPU threads, 1..${VCPUS_MAX}`, { default: '4' }),
  option('--memory <SIZE>', 'guest memory, e.g. 512MiB, 4GiB', { default: '1GiB' }),
  option('--duration <TIME>', 'run for TIME, e.g. 30s, 500ms, 2m', { defaultNote: '10s; with --preset mmu-stress, until its stages are done' }),
  option('--accesses <N>', 'instead of a duration: N guest accesses per vCPU'),
  option('--workload <PATTERN>', 'guest access pattern', { choices: STRESS_WORKLOADS, defaultNote: 'uniform; partitioned with --preset' }),
  option('--churn <KIND[=RATE],...>', `what churns beside the guest, RATE in ops/s: ${CHURN_KINDS.join(', ')}, all or none`, { defaultNote: 'all; memslots=1000000 with --preset memslot-churn' }),
  option('--hugepages <SIZE>', 'host page size of guest memory (2M anonymous is THP; 1G is hugetlbfs only)', { choices: ['4K', '2M', '1G'], default: '4K' }),
  option('--host-memory <KIND>', "what backs guest memory: anonymous (QEMU's default: reads map the zero page, the first write breaks CoW), shared (memfd/shmem) or hugetlbfs", { choices: HOST_MEMORIES, default: 'anonymous' }),
  option('--populated', 'guest memory is written before the guest runs (MAP_POPULATE, -mem-prealloc)'),
  option('--vm-type <TYPE>', 'the VM type', { choices: VM_TYPE_NAMES, defaultNote: 'sw_protected; with --preset, a default VM' }),
  option('--write-ratio <F>', 'fraction of guest accesses that write, 0..1', { defaultNote: '0.5' }),
  option('--seed <N>', "seed of every actor's workload PRNG, 0..2^32-1", { default: '1' }),
  option('--watchdog <TIME>', `no step (deadlock) or no progress (livelock) for TIME is a finding; at least ${WATCHDOG_MS_MIN}ms`, { default: `${THREADED_WATCHDOG_MS / 1000}s` }),
  option('--scan-interval <TIME>', 'stop-the-world invariant scan every TIME; 0 = only at the end', { default: `${THREADED_SCAN_INTERVAL_MS / 1000}s` }),
  option('--kick <TIME>', 'the VMM signals a vCPU whose SRCU read lock stalls a memslot update this long; 0 = never', { default: `${THREADED_KICK_MS}ms` }),
  option('--manual-dirty-log-protect', 'KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: dirty-log churn uses KVM_CLEAR_DIRTY_LOG'),
  option('--preset <NAME>', "a kernel selftest's workload: mmu-stress = mmu_stress_test's stages (write, MMU reset + re-write, read, mprotect read-only where every write must fail with EFAULT, read-write again); memslot-churn = memslot_modification_stress_test (a one-page memslot added and deleted in a loop)", { choices: STRESS_PRESETS }),
  option('--json', 'print one JSON object (the summary, coverage, violations)'),
  option('--quiet', 'no progress on stderr'),
  ...mutationOptions(),
  patchOption(),
  kernelOption(KERNEL_DEFAULT),
];

/** `faultline stress [options]`. */
export function stressCli(ctx: Ctx): Command {
  const cmd = new Command('stress')
    .description('every vCPU a worker thread, faulting while the host invalidates memory and the VMM churns memslots, attributes, dirty logging and pre-faults; every invariant checked');
  for (const o of stressOptions()) cmd.addOption(o);
  cmd.action(async (flags: StressFlags) => {
    ctx.status = await (await import('./stress-command.js')).stressCommand(flags, ctx.io, ctx.isTty);
  });
  return withExamples(cmd, [
    'faultline stress --vcpus 8 --memory 4GiB --duration 30s',
    'faultline stress --churn invalidate=2000,memslots=50 --hugepages 2M',
    'faultline stress --preset mmu-stress --vcpus 4 --memory 1GiB',
    'faultline stress --vcpus 2 --accesses 100000 --mutate page-fault.mmuInvalidateRetryGfn=false --json',
  ]);
}
