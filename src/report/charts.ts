/**
 * Charts of the pre-fault versus lazy benchmark: Vega-Lite specs, rendered to SVG in Node
 * by vega (no browser, no canvas). Three views of the results:
 *
 * - time versus guest size, one line per strategy (a panel per vCPU count);
 * - EPT-violation exits versus vCPUs, one line per strategy (a panel per guest size);
 * - the scaling of pre-faulting: the pre-fault phase's time versus vCPUs, one vCPU
 *   pre-faulting everything beside every vCPU pre-faulting its slice.
 *
 * With several host page sizes in the results, each chart has a row of panels per size.
 */

import * as vega from 'vega';
import * as vl from 'vega-lite';
import { STRATEGIES, type SimMetrics } from '../bench/prefault.js';

export interface Chart {
  /** File name stem: `<name>.svg` and `<name>.vl.json`. */
  readonly name: string;
  readonly spec: vl.TopLevelSpec;
}

const GIB = 2 ** 30;
const MIB = 2 ** 20;
/** Size of one chart panel, in pixels (three panels side by side fit a page). */
const PANEL_WIDTH_PX = 260;
const PANEL_HEIGHT_PX = 220;

function rows(results: readonly SimMetrics[]): Record<string, string | number>[] {
  return results.map((r) => ({
    strategy: r.strategy, memoryMiB: r.memoryBytes / MIB, memory: `${r.memoryBytes >= GIB ? `${r.memoryBytes / GIB} GiB` : `${r.memoryBytes / MIB} MiB`}`,
    vcpus: r.vcpus, totalMs: r.totalNs / 1e6, prefaultMs: r.prefaultNs === null ? -1 : r.prefaultNs / 1e6, exits: r.exits, pageSize: r.pageSize,
  }));
}

export function benchCharts(results: readonly SimMetrics[], title: string): Chart[] {
  const clock = results[0]?.clock ?? 'sim';
  const unit = clock === 'sim' ? 'simulated' : 'wall clock';
  const suffix = clock === 'sim' ? '' : '-wall';
  const values = rows(results);
  const base = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', data: { values } } as const;
  // One colour and dash per strategy, the same in every chart of a run; a legend lists what its chart draws.
  const present = STRATEGIES.filter((s) => results.some((r) => r.strategy === s));
  const byStrategy = (shown: readonly string[] = present) => ({
    color: { field: 'strategy', type: 'nominal', title: 'strategy', scale: { domain: present }, legend: { values: shown } },
    // Strategies that cost the same draw the same line: the dashes tell them apart.
    strokeDash: { field: 'strategy', type: 'nominal', title: 'strategy', scale: { domain: present }, legend: { values: shown } },
  }) as const;
  // Ticks at the sizes and counts that were run (not 1.5 vCPUs).
  const vcpuAxis = { values: [...new Set(results.map((r) => r.vcpus))].sort((a, b) => a - b), format: 'd' };
  // Several host page sizes: a row of panels per page size.
  const pageSizes = [...new Set(results.map((r) => r.pageSize))];
  const row = pageSizes.length > 1 ? { row: { field: 'pageSize', type: 'ordinal', title: 'host page size', sort: ['4K', '2M', '1G'] } } : {};
  const memoryAxis = { values: [...new Set(results.map((r) => r.memoryBytes / MIB))].sort((a, b) => a - b), format: ',d' };
  const byMemory = { field: 'memory', type: 'ordinal', title: 'guest memory', sort: { field: 'memoryMiB', op: 'min' } } as const;
  const vcpusX = { field: 'vcpus', type: 'quantitative', title: 'vCPUs', axis: vcpuAxis } as const;
  /** One chart: a line per strategy in panels (a column per `column`, a row per page size). */
  const chart = (name: string, chartTitle: string, column: object, x: object, y: object, shown: readonly string[] = present, filter?: string): Chart => ({
    name: `${name}${suffix}`,
    spec: {
      ...base,
      title: `${chartTitle} — ${title}`,
      ...(filter !== undefined ? { transform: [{ filter }] } : {}),
      facet: { ...row, column },
      spec: { width: PANEL_WIDTH_PX, height: PANEL_HEIGHT_PX, mark: { type: 'line', point: true }, encoding: { x, y, ...byStrategy(shown) } },
    } as vl.TopLevelSpec,
  });
  const scaling = ['prefault', 'prefault-parallel'];
  return [
    chart('time-vs-memory', `Time until the workload completes (${unit})`, { field: 'vcpus', type: 'ordinal', title: 'vCPUs' },
      { field: 'memoryMiB', type: 'quantitative', title: 'guest memory (MiB, log scale)', scale: { type: 'log', base: 2 }, axis: memoryAxis },
      { field: 'totalMs', type: 'quantitative', title: `total (ms, ${unit})` }),
    chart('exits-vs-vcpus', 'EPT-violation exits', byMemory, vcpusX, { field: 'exits', type: 'quantitative', title: 'EPT-violation exits' }),
    chart('prefault-scaling', `Pre-faulting all of RAM: one vCPU versus every vCPU its slice (${unit})`, byMemory, vcpusX,
      { field: 'prefaultMs', type: 'quantitative', title: `pre-fault phase (ms, ${unit})` },
      present.filter((st) => scaling.includes(st)), `datum.prefaultMs >= 0 && (${scaling.map((st) => `datum.strategy === '${st}'`).join(' || ')})`),
  ];
}

/** A Vega-Lite spec as SVG text (vega's headless renderer). */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
