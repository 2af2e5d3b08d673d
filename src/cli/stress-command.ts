/**
 * `faultline stress`: the threaded engine on a stress workload — vCPU worker threads
 * faulting while the host invalidates, the VMM churns memslots, attributes and dirty
 * logging, and pre-fault ioctls run. Progress on stderr while it runs (one updating line
 * on a TTY, a plain line every two seconds otherwise); the summary (or one JSON object
 * with --json) on stdout. Exit 0 clean, 1 violation or watchdog finding, 2 bad input.
 */

import { KERNEL_DEFAULT, type KernelRelease } from '../kvm/kernel-release.js';
import { hostMemoryPageSizeError, type HostMemory } from '../kvm/host.js';
import { auditTime } from 'rxjs';
import { startStress } from '../workload/presets/index.js';
import { statsOf } from '../engine/streams.js';
import { COMPILED } from '../protocol/machines.js';
import { buildMutations } from '../protocol/mutations.js';
import { patchNames, patchSpecs } from '../protocol/patches.js';
import { buildStressReport, describeConfig, formatStressReport, progressLine } from '../report/stress.js';
import { CHURN_DEFAULT_RATES, CHURN_KINDS, type ChurnKind, type StressConfig, type StressPreset, type StressWorkload } from '../workload/stress.js';
import { checkVmTypeSupported, type VmType } from '../kvm/vm-types.js';
import { STRESS_ACCESSES_MAX, STRESS_DURATION_MS_DEFAULT, STRESS_MEMORY_BYTES_MAX, STRESS_MEMORY_BYTES_MIN, VCPUS_MAX, WATCHDOG_MS_MIN } from '../kvm/limits.js';
import { UsageError, parseDuration, parseIntIn, parseSize, parseU32Option } from './args.js';
import type { Io } from './io.js';
import type { StressFlags } from './stress-cli.js';

/** `invalidate,memslots=50,prefault` (rates in ops/s; a bare name takes its default), `all` or `none`. */
export function parseChurn(raw: string): Partial<Record<ChurnKind, number>> {
  const s = raw.trim();
  if (s === 'none' || s === '') return {};
  const out: Partial<Record<ChurnKind, number>> = {};
  for (const part of s.split(',')) {
    const [name, rate] = part.trim().split('=') as [string, string | undefined];
    if (name === 'all') {
      for (const k of CHURN_KINDS) out[k] ??= CHURN_DEFAULT_RATES[k];
      continue;
    }
    if (!(CHURN_KINDS as readonly string[]).includes(name)) throw new UsageError(`--churn: unknown kind '${name}'; kinds: ${CHURN_KINDS.join(', ')} (or all, none), each optionally =RATE per second`);
    const kind = name as ChurnKind;
    if (rate === undefined) out[kind] = CHURN_DEFAULT_RATES[kind];
    else {
      const r = Number(rate.replace(/\/s$/, ''));
      if (!Number.isFinite(r) || r <= 0 || r > 1_000_000) throw new UsageError(`--churn: the rate of '${kind}' must be a number of ops per second in (0, 1000000], got '${rate}'`);
      out[kind] = r;
    }
  }
  return out;
}

export interface StressCommandOptions {
  readonly stress: StressConfig;
  readonly mutate: string[];
  readonly skip: string[];
  readonly watchdogMs: number;
  readonly scanIntervalMs: number;
  readonly kickMs: number;
  readonly manualDirtyLogProtect: boolean;
  readonly json: boolean;
  readonly quiet: boolean;
}

/** Checks the options of `faultline stress` and makes them a configuration; bad input throws UsageError. */
export function parseStressOptions(f: StressFlags): StressCommandOptions {
  const preset = f.preset as StressPreset | undefined;
  if (f.duration !== undefined && f.accesses !== undefined) throw new UsageError('give --duration or --accesses, not both');
  if (preset === 'mmu-stress') {
    for (const [k, given] of [['accesses', f.accesses], ['churn', f.churn], ['workload', f.workload], ['write-ratio', f.writeRatio]] as const) {
      if (given !== undefined) throw new UsageError(`--preset mmu-stress runs the selftest's own stages over each vCPU's partition; --${k} does not apply`);
    }
  }
  const accesses = f.accesses !== undefined ? parseIntIn('accesses', f.accesses, 1, STRESS_ACCESSES_MAX) : null;
  // mmu-stress runs until its stages are done (--duration caps it); the others for 10 s by default.
  const durationMs = accesses !== null ? null : f.duration !== undefined ? parseDuration('duration', f.duration) : preset === 'mmu-stress' ? null : STRESS_DURATION_MS_DEFAULT;
  if (durationMs !== null && (durationMs <= 0 || durationMs > 24 * 3600_000)) throw new UsageError(`--duration must be more than 0 and at most 24h, got '${f.duration}'`);
  const writeRatio = f.writeRatio !== undefined ? Number(f.writeRatio) : 0.5;
  if (!Number.isFinite(writeRatio) || writeRatio < 0 || writeRatio > 1) throw new UsageError(`--write-ratio must be a number in [0, 1], got '${f.writeRatio}'`);
  const backingLevel = f.hugepages === '4K' ? 1 : f.hugepages === '2M' ? 2 : 3;
  const hostMemory = f.hostMemory as HostMemory; // commander checked the choice
  const badSize = hostMemoryPageSizeError(hostMemory, backingLevel);
  if (badSize !== null) throw new UsageError(`--hugepages ${f.hugepages} with --host-memory ${hostMemory}: ${badSize}`);
  const stress: StressConfig = {
    vcpus: parseIntIn('vcpus', f.vcpus, 1, VCPUS_MAX),
    memoryBytes: parseSize('memory', f.memory, STRESS_MEMORY_BYTES_MIN, STRESS_MEMORY_BYTES_MAX),
    durationMs, accesses,
    workload: (f.workload ?? (preset === undefined ? 'uniform' : 'partitioned')) as StressWorkload,
    churn: preset === 'mmu-stress' ? {} : parseChurn(f.churn ?? (preset === 'memslot-churn' ? 'memslots=1000000' : 'all')),
    backingLevel,
    hostMemory,
    populated: f.populated === true,
    // The kernel's stress tests use a default VM; plain stress runs an SW_PROTECTED one (attributes churn).
    vmType: (f.vmType ?? (preset === undefined ? 'sw_protected' : 'default')) as VmType,
    seed: parseU32Option('seed', f.seed),
    writeRatio,
    ...(preset !== undefined ? { preset } : {}),
    // commander checked --kernel against the releases.
    ...(f.kernel !== undefined ? { kernel: f.kernel as KernelRelease } : {}),
  };
  checkVmTypeSupported(stress.vmType, stress.kernel ?? KERNEL_DEFAULT); // before the run starts
  // A patch runs on the threads as the guard forces it stands for.
  const patched = patchSpecs(patchNames(f.patch));
  const mutate = [...(f.mutate ?? []), ...patched.mutate];
  const skip = [...(f.skip ?? []), ...patched.skip];
  buildMutations(COMPILED, mutate, skip); // validates the names (MutationError is bad input)
  const watchdogMs = parseDuration('watchdog', f.watchdog);
  if (watchdogMs < WATCHDOG_MS_MIN) throw new UsageError(`--watchdog must be at least ${WATCHDOG_MS_MIN}ms, got '${f.watchdog}'`);
  const scanIntervalMs = parseDuration('scan-interval', f.scanInterval);
  const kickMs = parseDuration('kick', f.kick);
  return { stress, mutate, skip, watchdogMs, scanIntervalMs, kickMs, manualDirtyLogProtect: f.manualDirtyLogProtect === true, json: f.json === true, quiet: f.quiet === true };
}

/** `faultline stress [options]` */
export async function stressCommand(flags: StressFlags, io: Io, isTty: boolean): Promise<number> {
  const o = parseStressOptions(flags);
  const run = startStress({
    stress: o.stress, mutate: o.mutate, skip: o.skip, watchdogMs: o.watchdogMs, scanIntervalMs: o.scanIntervalMs, kickMs: o.kickMs,
    manualDirtyLogProtect: o.manualDirtyLogProtect,
  });
  const t0 = performance.now();
  let lastFaults = 0;
  let lastAt = t0;
  let lastLine = 0;
  if (!o.quiet) io.err(`faultline stress — ${describeConfig(o.stress, o.stress.preset ?? null)}\n`);
  const sub = o.quiet ? null : statsOf(run.events$, o.stress.vcpus + 2).pipe(auditTime(isTty ? 250 : 2000)).subscribe((st) => {
    const now = performance.now();
    const fps = ((st.faults - lastFaults) * 1000) / Math.max(1, now - lastAt);
    lastFaults = st.faults;
    lastAt = now;
    const line = progressLine(st, now - t0, fps, o.stress.durationMs);
    if (isTty) io.err(`\r${line.padEnd(lastLine)}`);
    else io.err(`${line}\n`);
    lastLine = line.length;
  });
  const result = await run.result;
  sub?.unsubscribe();
  if (!o.quiet && isTty) io.err('\n');
  const report = buildStressReport(result, o.stress.preset ?? null);
  if (o.json) io.out(`${JSON.stringify(report)}\n`);
  else io.out(formatStressReport(report));
  return report.violations.length === 0 ? 0 : 1;
}
