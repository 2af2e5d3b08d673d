/**
 * The report of a `faultline stress` run: the summary table (text) and the same as one
 * JSON object, plus the one-line progress shown while it runs.
 */

import { KERNEL_DEFAULT } from '../kvm/kernel-release.js';
import type { Violation } from '../kvm/findings.js';
import type { ActorCounters } from '../engine/counters.js';
import type { StressStats } from '../engine/streams.js';
import type { StageResult } from '../engine/threaded.js';
import type { StressResult } from '../workload/presets/index.js';
import { CHURN_KINDS, type StressConfig } from '../workload/stress.js';
import { formatViolation } from './text.js';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const rate = (n: number, ms: number): string => (ms > 0 ? fmt((n * 1000) / ms) : '0');

export function describeConfig(s: StressConfig, preset: string | null): string {
  const churn = CHURN_KINDS.filter((k) => (s.churn[k] ?? 0) > 0).map((k) => `${k}=${s.churn[k]}/s`).join(',') || 'none';
  const bound = s.accesses !== null ? `${fmt(s.accesses)} accesses per vCPU` : s.durationMs !== null ? `${s.durationMs / 1000}s` : 'until its stages are done';
  const memory = s.hostMemory ?? 'anonymous';
  const size = s.backingLevel === 1 ? '4K' : s.backingLevel === 2 ? (memory === 'anonymous' ? '2M THP' : '2M') : '1G';
  const backing = `${memory}${s.populated === true ? ' populated' : ''}, ${size}`;
  return `${preset !== null ? `preset ${preset}: ` : ''}${s.vcpus} vCPUs, ${fmt(s.memoryBytes / 1048576)} MiB ${s.vmType} guest (${backing} host pages), ${s.workload} workload, churn ${churn}, ${bound}, seed ${s.seed}${s.kernel !== undefined && s.kernel !== KERNEL_DEFAULT ? `, kernel ${s.kernel}` : ''}`;
}

/** One progress line: elapsed, faults/s since the last line, totals. */
export function progressLine(st: StressStats, elapsedMs: number, faultsPerSec: number, totalMs: number | null): string {
  const bar = totalMs !== null && totalMs > 0 ? progressBar(elapsedMs / totalMs) + ' ' : '';
  return `${bar}${(elapsedMs / 1000).toFixed(1)}s  ${fmt(faultsPerSec)} faults/s  accesses ${fmt(st.accesses)}  faults ${fmt(st.faults)}  retries ${fmt(st.retries)}  invalidations ${fmt(sum(st.invalidations))}  memslot ${fmt(sum(st.memslotChanges))}  pre-fault pages ${fmt(st.preFaultPages)}  violations ${st.violations}`;
}

function progressBar(f: number): string {
  const width = 20;
  const full = Math.max(0, Math.min(width, Math.round(f * width)));
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

const sum = (m: Record<string, number>): number => Object.values(m).reduce((a, b) => a + b, 0);

function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); });
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** Items joined with ' · ', wrapped at 100 columns, the first line led by `lead`. */
function wrap(items: readonly string[], lead: string): string[] {
  const out: string[] = [];
  let line = lead;
  const indent = ' '.repeat(lead.length);
  for (const it of items) {
    const piece = line.trim() === '' || line === lead ? it : ` · ${it}`;
    if (line.length + piece.length > 100 && line !== lead && line !== indent) {
      out.push(line);
      line = indent + it;
    } else line += piece;
  }
  if (line !== lead && line !== indent) out.push(line);
  return out;
}

const byCount = (m: Record<string, number>): [string, number][] => Object.entries(m).sort((a, b) => b[1] - a[1]);

/** The totals the report shows as the event streams counted them. */
type ReportedTotals = Readonly<Pick<StressStats, 'accesses' | 'tlbHits' | 'accessFailures' | 'faults' | 'faultsByRet' | 'retries' | 'retriesByReason' | 'casFailures' | 'zaps' | 'cowBreaks' | 'invalidations' | 'pagesFreed' | 'memslotChanges' | 'attributeChanges'>>;

/** One actor's row: its counters (ActorCounters), rates over its time, and where it ended. */
export interface ActorRow extends Pick<ActorCounters, 'accesses' | 'faults'> {
  readonly actor: string;
  readonly steps: number;
  readonly accessesPerSec: number;
  readonly faultsPerSec: number;
  readonly state: string;
}

export interface StressReport extends ReportedTotals {
  readonly config: StressConfig;
  readonly preset: string | null;
  readonly elapsedMs: number;
  readonly stopReason: string;
  readonly remoteTlbFlushes: number;
  readonly preFault: { readonly ops: number; readonly calls: number; readonly pages: number; readonly errors: Record<string, number>; readonly kicks: number };
  readonly dirtyLog: { readonly calls: number; readonly pagesReported: number };
  readonly perActor: ActorRow[];
  readonly coverage: { readonly fired: number; readonly total: number; readonly machines: { readonly machine: string; readonly fired: { readonly transition: string; readonly count: number }[]; readonly neverFired: string[] }[] };
  readonly scans: { readonly count: number; readonly ms: number };
  readonly events: number;
  /** --preset mmu-stress: the stages, as the selftest prints them (run1, reset, run2, ro, rw). */
  readonly stages: StageResult[];
  readonly violations: Violation[];
}

export function buildStressReport(r: StressResult, preset: string | null): StressReport {
  const st = r.stats;
  const machines = new Map<string, { fired: { transition: string; count: number }[]; neverFired: string[] }>();
  let fired = 0;
  for (const c of r.coverage) {
    const m = machines.get(c.machine) ?? { fired: [], neverFired: [] };
    machines.set(c.machine, m);
    if (c.count > 0) { m.fired.push({ transition: c.transition, count: c.count }); fired++; } else m.neverFired.push(c.transition);
  }
  return {
    config: r.stress, preset, elapsedMs: Math.round(r.elapsedMs), stopReason: r.stopReason,
    accesses: st.accesses, tlbHits: st.tlbHits, accessFailures: st.accessFailures, faults: st.faults, faultsByRet: st.faultsByRet,
    retries: st.retries, retriesByReason: st.retriesByReason, casFailures: st.casFailures, zaps: st.zaps, cowBreaks: st.cowBreaks, remoteTlbFlushes: st.flushes,
    invalidations: st.invalidations, pagesFreed: st.pagesFreed, memslotChanges: st.memslotChanges, attributeChanges: st.attributeChanges,
    preFault: { ops: st.preFaultOps, calls: st.preFaultCalls, pages: st.preFaultPages, errors: st.preFaultErrors, kicks: st.kicks },
    dirtyLog: { calls: st.dirtyLogCalls, pagesReported: st.dirtyPagesReported },
    perActor: r.actors.map((a): ActorRow => ({
      actor: a.name, steps: a.steps, accesses: a.accesses, faults: a.faults,
      accessesPerSec: Math.round((a.accesses * 1000) / Math.max(1, a.elapsedMs)), faultsPerSec: Math.round((a.faults * 1000) / Math.max(1, a.elapsedMs)), state: a.state,
    })),
    coverage: { fired, total: r.coverage.length, machines: [...machines].map(([machine, m]) => ({ machine, ...m })) },
    scans: { count: r.scans, ms: Math.round(r.scanMs) },
    events: r.events,
    stages: r.stages,
    violations: r.violations,
  };
}

export function formatStressReport(rep: StressReport): string {
  const ms = rep.elapsedMs;
  const lines: string[] = [];
  lines.push(`faultline stress — ${describeConfig(rep.config, rep.preset)}`);
  lines.push(`ran ${(ms / 1000).toFixed(1)}s, stopped by ${rep.stopReason}; ${rep.scans.count} stop-the-world scans (${fmt(rep.scans.ms)} ms); ${fmt(rep.events)} events drained`);
  lines.push('');
  const rows: string[][] = [['', 'count', 'per second']];
  rows.push(['guest accesses', fmt(rep.accesses), rate(rep.accesses, ms)]);
  rows.push(['  through the TLB', fmt(rep.tlbHits), '']);
  for (const [k, v] of byCount(rep.accessFailures)) rows.push([`  failed with ${k}`, fmt(v), '']);
  rows.push(['page faults', fmt(rep.faults), rate(rep.faults, ms)]);
  for (const [k, v] of byCount(rep.faultsByRet)) rows.push([`  ${k.startsWith('-') ? `r = ${k}` : `RET_PF_${k.toUpperCase()}`}`, fmt(v), '']);
  rows.push(['retries', fmt(rep.retries), rate(rep.retries, ms)]);
  for (const [k, v] of byCount(rep.retriesByReason)) rows.push([`  ${k}`, fmt(v), '']);
  rows.push(['SPTE CAS failures', fmt(rep.casFailures), '']);
  rows.push(['leaf SPTEs zapped', fmt(rep.zaps), '']);
  rows.push(['remote TLB flushes', fmt(rep.remoteTlbFlushes), '']);
  rows.push(['zero-page CoW breaks', fmt(rep.cowBreaks), rate(rep.cowBreaks, ms)]);
  rows.push(['host invalidations', fmt(sum(rep.invalidations)), rate(sum(rep.invalidations), ms)]);
  for (const [k, v] of byCount(rep.invalidations)) rows.push([`  ${k}`, fmt(v), '']);
  rows.push(['  host pages freed', fmt(rep.pagesFreed), '']);
  rows.push(['memslot changes', fmt(sum(rep.memslotChanges)), '']);
  for (const [k, v] of byCount(rep.memslotChanges)) rows.push([`  ${k}`, fmt(v), '']);
  rows.push(['attribute changes', fmt(rep.attributeChanges), '']);
  rows.push(['pre-fault loops', fmt(rep.preFault.ops), '']);
  rows.push(['  ioctl calls', fmt(rep.preFault.calls), '']);
  rows.push(['  pages mapped', fmt(rep.preFault.pages), '']);
  for (const [k, v] of byCount(rep.preFault.errors)) rows.push([`  ended with ${k}`, fmt(v), '']);
  if (rep.preFault.kicks > 0) rows.push(['  vCPUs signalled (SRCU held past --kick)', fmt(rep.preFault.kicks), '']);
  rows.push(['dirty-log ioctls', fmt(rep.dirtyLog.calls), '']);
  rows.push(['  dirty pages reported', fmt(rep.dirtyLog.pagesReported), '']);
  lines.push(table(rows));
  lines.push('');
  if (rep.stages.length > 0) {
    const stageRows: string[][] = [['stage', 'seconds', 'accesses ok', 'EFAULT', 'other errors']];
    for (const st of rep.stages) stageRows.push([`${st.stage} ${st.name}`, (st.ms / 1000).toFixed(3), fmt(st.ok), fmt(st.efault), fmt(st.otherErrors)]);
    lines.push(table(stageRows));
    lines.push('');
  }
  const actorRows: string[][] = [['actor', 'steps', 'accesses', 'accesses/s', 'faults', 'faults/s', 'ended in']];
  for (const a of rep.perActor) actorRows.push([a.actor, fmt(a.steps), fmt(a.accesses), fmt(a.accessesPerSec), fmt(a.faults), fmt(a.faultsPerSec), a.state]);
  lines.push(table(actorRows));
  lines.push('');
  lines.push(`transition coverage: ${rep.coverage.fired} of ${rep.coverage.total} fired (how often; then the ones that never fired)`);
  for (const m of rep.coverage.machines) {
    lines.push(`  ${m.machine} ${m.fired.length}/${m.fired.length + m.neverFired.length}:`);
    lines.push(...wrap(m.fired.map((f) => `${f.transition} ×${fmt(f.count)}`), '    '));
    if (m.neverFired.length > 0) lines.push(...wrap(m.neverFired, '    never: '));
  }
  lines.push('');
  if (rep.violations.length === 0) lines.push('violations: none');
  else {
    lines.push(`violations: ${rep.violations.length}`);
    for (const v of rep.violations.slice(0, 10)) lines.push(...formatViolation(v));
    if (rep.violations.length > 10) lines.push(`… and ${rep.violations.length - 10} more (--json lists all)`);
  }
  return `${lines.join('\n')}\n`;
}
