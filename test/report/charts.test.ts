// Goal: the benchmark's charts are real SVG drawn from the results — the three views, their axis titles, every strategy in the legend, one colour per strategy in every chart; method: render small result sets with vega in Node.

import test from 'ava';
import { runSimPoint } from '../../src/bench/prefault.js';
import { benchCharts, renderSvg } from '../../src/report/charts.js';
import { guestWorkload } from '../../src/workload/guest.js';

const MiB = 1024 * 1024;
const results = [8, 16].flatMap((m) => [1, 2].flatMap((vcpus) => {
  const w = guestWorkload({ kind: 'sequential', vcpus, memoryBytes: m * MiB, sharing: 'partitioned', seed: 1 });
  return (['lazy', 'prefault', 'prefault-parallel'] as const).map((strategy) => runSimPoint({ strategy, pageSize: '4K', workload: w }));
}));

test('three charts, each rendered to SVG with its axes and every strategy in the legend', async (t) => {
  const charts = benchCharts(results, 'sequential, 4K pages');
  t.deepEqual(charts.map((c) => c.name), ['time-vs-memory', 'exits-vs-vcpus', 'prefault-scaling']);
  for (const c of charts) {
    const svg = await renderSvg(c.spec);
    t.regex(svg, /^<svg /, c.name);
    t.regex(svg, /<\/svg>$/, c.name);
    t.true(svg.includes('vCPUs') || svg.includes('guest memory'), c.name);
  }
  const time = await renderSvg(charts[0]!.spec);
  t.true(time.includes('total (ms, simulated)'));
  for (const s of ['lazy', 'prefault', 'prefault-parallel']) t.true(time.includes(`>${s}<`), `legend: ${s}`);
  const exits = await renderSvg(charts[1]!.spec);
  t.true(exits.includes('EPT-violation exits'));
  const scaling = await renderSvg(charts[2]!.spec);
  t.true(scaling.includes('pre-fault phase (ms, simulated)'));
  t.false(scaling.includes('>lazy<') && !scaling.includes('prefault'), 'the scaling chart shows the pre-fault strategies');
});

test('the data behind a chart is the results: one row per run, times in ms', (t) => {
  const spec = benchCharts(results, 'x')[0]!.spec as unknown as { data: { values: { strategy: string; totalMs: number; vcpus: number; memoryMiB: number }[] } };
  t.is(spec.data.values.length, results.length);
  const r = results[0]!;
  t.like(spec.data.values[0], { strategy: r.strategy, totalMs: r.totalNs / 1e6, vcpus: r.vcpus, memoryMiB: r.memoryBytes / MiB });
});
