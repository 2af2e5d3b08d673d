/**
 * `faultline stress`: the threaded engine on a stress workload — vCPU worker threads
 * faulting while the host invalidates, the VMM churns memslots, attributes and dirty
 * logging, and pre-fault ioctls run. Progress on stderr while it runs (one updating line
 * on a TTY, a plain line every two seconds otherwise); the summary (or one JSON object
 * with --json) on stdout. Exit 0 clean, 1 violation or watchdog finding, 2 bad input.
 */

import { auditTime } from 'rxjs';
import { startStress } from '../workload/presets/index.js';
import { statsOf } from '../engine/streams.js';
import { COMPILED } from '../protocol/machines.js';
import { buildMutations } from '../protocol/mutations.js';
import { buildStressReport, describeConfig, formatStressReport, progressLine } from '../report/stress.js';
import { FieldError, parseUnsigned } from '../workload/numbers.js';
import { CHURN_DEFAULT_RATES, CHURN_KINDS, STRESS_PRESETS, STRESS_WORKLOADS, type ChurnKind, type StressConfig, type StressPreset, type StressWorkload } from '../workload/stress.js';
import { VM_TYPE_NAMES, type VmType } from '../kvm/vm-types.js';
import { UsageError, parseArgs, parseU32Option, type OptionSpec } from './args.js';
import type { Io } from './io.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'vcpus', kind: 'value' },
  { name: 'memory', kind: 'value' },
  { name: 'duration', kind: 'value' },
  { name: 'accesses', kind: 'value' },
  { name: 'workload', kind: 'value', choices: STRESS_WORKLOADS },
  { name: 'churn', kind: 'value' },
  { name: 'hugepages', kind: 'value', choices: ['4K', '2M', '1G'] },
  { name: 'vm-type', kind: 'value', choices: VM_TYPE_NAMES },
  { name: 'write-ratio', kind: 'value' },
  { name: 'mutate', kind: 'multi' },
  { name: 'skip', kind: 'multi' },
  { name: 'seed', kind: 'value' },
  { name: 'watchdog', kind: 'value' },
  { name: 'scan-interval', kind: 'value' },
  { name: 'kick', kind: 'value' },
  { name: 'manual-dirty-log-protect', kind: 'flag' },
  { name: 'json', kind: 'flag' },
  { name: 'quiet', kind: 'flag' },
  { name: 'preset', kind: 'value', choices: STRESS_PRESETS },
];

/** `10s`, `500ms`, `2m`, or a bare number of seconds. */
export function parseDuration(name: string, raw: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!m) throw new UsageError(`--${name} must be a duration like 10s, 500ms or 2m, got '${raw}'`);
  const v = Number(m[1]);
  return m[2] === 'ms' ? v : m[2] === 'm' ? v * 60_000 : v * 1000;
}

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

export function parseSize(name: string, raw: string, min: number, max: number): number {
  let v: bigint;
  try {
    v = parseUnsigned(raw, `--${name}`);
  } catch (e) {
    throw new UsageError(e instanceof FieldError ? `--${name}: ${e.detail}` : (e as Error).message);
  }
  if (v < BigInt(min) || v > BigInt(max)) throw new UsageError(`--${name} must be between ${min} and ${max} bytes (${max / 2 ** 30} GiB), got '${raw}'`);
  if (v % 4096n !== 0n) throw new UsageError(`--${name} must be a multiple of 4KiB, got '${raw}'`);
  return Number(v);
}

export function parseIntIn(name: string, raw: string, min: number, max: number): number {
  const v = Number(raw);
  if (!/^[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}, got '${raw}'`);
  return v;
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

/** Parses `faultline stress` options into a configuration; bad input throws UsageError. */
export function parseStressOptions(argv: readonly string[]): StressCommandOptions {
  const args = parseArgs(argv, OPTIONS, 'stress');
  if (args.positionals.length > 0) throw new UsageError(`'stress' takes no positional arguments, got: ${args.positionals.join(' ')}`);
  const v = (k: string): string | undefined => args.values.get(k);
  const preset = v('preset') as StressPreset | undefined;
  if (v('duration') !== undefined && v('accesses') !== undefined) throw new UsageError('give --duration or --accesses, not both');
  if (preset === 'mmu-stress') {
    for (const k of ['accesses', 'churn', 'workload', 'write-ratio']) {
      if (v(k) !== undefined) throw new UsageError(`--preset mmu-stress runs the selftest's own stages over each vCPU's partition; --${k} does not apply`);
    }
  }
  const accesses = v('accesses') !== undefined ? parseIntIn('accesses', v('accesses')!, 1, 1e12) : null;
  // mmu-stress runs until its stages are done (--duration caps it); the others for 10 s by default.
  const durationMs = accesses !== null ? null : v('duration') !== undefined ? parseDuration('duration', v('duration')!) : preset === 'mmu-stress' ? null : 10_000;
  if (durationMs !== null && (durationMs <= 0 || durationMs > 24 * 3600_000)) throw new UsageError(`--duration must be more than 0 and at most 24h, got '${v('duration')}'`);
  const writeRatio = v('write-ratio') !== undefined ? Number(v('write-ratio')) : 0.5;
  if (!Number.isFinite(writeRatio) || writeRatio < 0 || writeRatio > 1) throw new UsageError(`--write-ratio must be a number in [0, 1], got '${v('write-ratio')}'`);
  const hp = v('hugepages') ?? '4K';
  const stress: StressConfig = {
    vcpus: v('vcpus') !== undefined ? parseIntIn('vcpus', v('vcpus')!, 1, 64) : 4,
    memoryBytes: v('memory') !== undefined ? parseSize('memory', v('memory')!, 2 * 1048576, 64 * 2 ** 30) : 2 ** 30,
    durationMs, accesses,
    workload: (v('workload') ?? (preset === undefined ? 'uniform' : 'partitioned')) as StressWorkload,
    churn: preset === 'mmu-stress' ? {} : parseChurn(v('churn') ?? (preset === 'memslot-churn' ? 'memslots=1000000' : 'all')),
    backingLevel: hp === '4K' ? 1 : hp === '2M' ? 2 : 3,
    // The kernel's stress tests use a default VM; plain stress runs an SW_PROTECTED one (attributes churn).
    vmType: (v('vm-type') ?? (preset === undefined ? 'sw_protected' : 'default')) as VmType,
    seed: v('seed') !== undefined ? parseU32Option('seed', v('seed')!) : 1,
    writeRatio,
    ...(preset !== undefined ? { preset } : {}),
  };
  const mutate = args.multi.get('mutate') ?? [];
  const skip = args.multi.get('skip') ?? [];
  buildMutations(COMPILED, mutate, skip); // validates the names (MutationError is bad input)
  const watchdogMs = v('watchdog') !== undefined ? parseDuration('watchdog', v('watchdog')!) : 5000;
  if (watchdogMs < 100) throw new UsageError(`--watchdog must be at least 100ms, got '${v('watchdog')}'`);
  const scanIntervalMs = v('scan-interval') !== undefined ? parseDuration('scan-interval', v('scan-interval')!) : 2000;
  const kickMs = v('kick') !== undefined ? parseDuration('kick', v('kick')!) : 100;
  return { stress, mutate, skip, watchdogMs, scanIntervalMs, kickMs, manualDirtyLogProtect: args.flags.has('manual-dirty-log-protect'), json: args.flags.has('json'), quiet: args.flags.has('quiet') };
}

/** `faultline stress [options]` */
export async function stressCommand(argv: readonly string[], io: Io, isTty = process.stderr.isTTY === true): Promise<number> {
  const o = parseStressOptions(argv);
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
