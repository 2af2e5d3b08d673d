/**
 * The pre-fault versus lazy benchmark as a terminal table: per guest (memory, vCPUs, page
 * size, host memory, workload), one row per strategy with its time and its ratio to lazy,
 * and what made the difference (exits, CoW breaks, populate and pre-fault time, pages and
 * calls, mmu_lock waits, page tables).
 */

import type { SimMetrics } from '../bench/prefault.js';
import { formatSize } from '../workload/numbers.js';

const ms = (ns: number): string => (ns / 1e6).toFixed(3);
/** Pre-fault ioctl calls, and the errors among them: `3 (EAGAIN 1, ENOENT 1)`. */
const calls = (r: SimMetrics): string => {
  if (r.prefaultCalls === 0) return '–';
  const errors = Object.entries(r.prefaultErrnos).map(([e, n]) => `${e} ${n}`);
  return errors.length === 0 ? String(r.prefaultCalls) : `${r.prefaultCalls} (${errors.join(', ')})`;
};

export function formatBenchTable(results: readonly SimMetrics[], workload: string): string {
  const groups = new Map<string, SimMetrics[]>();
  for (const r of results) {
    const key = `${formatSize(r.memoryBytes)} guest, ${r.vcpus} vCPU${r.vcpus === 1 ? '' : 's'}, ${r.pageSize} ${r.hostMemory} pages, ${workload} — ${r.clock === 'sim' ? 'simulated clock' : 'wall clock (threaded engine, this machine)'}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r);
  }
  const lines: string[] = [];
  const head = ['strategy', 'total ms', 'vs lazy', 'EPT exits', 'CoW breaks', 'populate ms', 'pre-fault ms', 'pages pre-faulted', 'calls (errors)', 'mmu_lock wait µs', 'retries', 'page tables'];
  // (On the wall clock the mmu_lock column counts waits: the threaded engine does not time them.)
  for (const [key, rows] of groups) {
    const lazy = rows.find((r) => r.strategy === 'lazy');
    const body = rows.map((r) => [
      r.strategy, ms(r.totalNs), lazy !== undefined && lazy.totalNs > 0 ? `${(r.totalNs / lazy.totalNs).toFixed(2)}×` : '–', String(r.exits), String(r.cowBreaks), r.populateNs === null ? '–' : ms(r.populateNs),
      r.prefaultNs === null ? '–' : ms(r.prefaultNs), String(r.prefaultPages), calls(r), r.lockWaitNs === null ? `${r.lockWaits} waits` : (r.lockWaitNs / 1e3).toFixed(1),
      String(Object.values(r.retriesByReason).reduce((a, b) => a + b, 0)), formatSize(r.pageTableBytes),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
    lines.push(key);
    lines.push(head.map((h, i) => (i === 0 ? h.padEnd(widths[i]!) : h.padStart(widths[i]!))).join('  '));
    lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const b of body) lines.push(b.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
    for (const r of rows) for (const v of r.violations) lines.push(`  ! ${r.strategy}: ${v}`);
    lines.push('');
  }
  return `${lines.join('\n')}`;
}
