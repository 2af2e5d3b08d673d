// Goal: imports point one way (DESIGN.md "Layout") — each layer imports only layers below it, the model only itself, machines only xstate, schedulers nothing, and no wall clock or Math.random below the threaded engine; method: parse every source file and check each import, re-export and dynamic import against the layer order.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, dependencies, sourceFiles, type Dependency } from '../helpers/source-graph.js';

/** The layers, bottom to top; folders on one row are peers (neither imports the other). */
const LAYERS: readonly (readonly string[])[] = [
  ['src/kvm'],
  ['machines'],
  ['src/protocol'],
  ['src/check'],
  ['src/sched'],
  ['src/engine'],
  ['src/workload'],
  ['src/race', 'src/bench', 'src/export', 'src/kselftest'],
  ['src/report'],
  ['src/testing'],
  ['src/cli', 'src/index.ts'],
  ['workers', 'bench'],
];

/** layerOf(): the layer row and folder of a file, or null for a file outside every layer (packages, tests). */
function layerOf(file: string): { rank: number; folder: string } | null {
  for (let rank = 0; rank < LAYERS.length; rank++) {
    for (const folder of LAYERS[rank]!) if (file === folder || file.startsWith(`${folder}/`)) return { rank, folder };
  }
  return null;
}

const SOURCES = sourceFiles(['src', 'machines', 'workers', 'bench']);
const DEPS: readonly Dependency[] = SOURCES.flatMap((f) => dependencies(f));
const show = (d: Dependency): string => `${d.from}:${d.line} ${d.kind} '${d.specifier}'`;

test('the parser sees imports, type imports, re-exports and dynamic imports', (t) => {
  const kinds = new Set(DEPS.map((d) => d.kind));
  t.true(kinds.has('import') && kinds.has('dynamic-import'), [...kinds].join(', '));
  t.true(DEPS.some((d) => d.from === 'src/cli/main.ts' && d.kind === 'dynamic-import'));
  t.true(DEPS.length > SOURCES.length, `${DEPS.length} dependencies in ${SOURCES.length} files`);
});

test('every file of src/ (and machines/, workers/, bench/) is in a layer', (t) => {
  for (const f of SOURCES) t.not(layerOf(f), null, `${f} is in no layer of DESIGN.md`);
});

test('a layer imports only the layers below it (no folder cycle, no peer import)', (t) => {
  const bad: string[] = [];
  for (const d of DEPS) {
    if (d.target === '') continue;
    const from = layerOf(d.from)!;
    const to = layerOf(d.target);
    if (to === null) bad.push(`${show(d)}: outside every layer`);
    else if (to.folder !== from.folder && to.rank >= from.rank) bad.push(`${show(d)}: ${from.folder} may not import ${to.folder}`);
  }
  t.deepEqual(bad, []);
});

test('src/kvm imports only src/kvm; machines/ only xstate and each other; src/sched only itself', (t) => {
  const own: Readonly<Record<string, (d: Dependency) => boolean>> = {
    'src/kvm': (d) => d.target.startsWith('src/kvm/'),
    machines: (d) => d.specifier === 'xstate' || d.target.startsWith('machines/'),
    'src/sched': (d) => d.target.startsWith('src/sched/'),
  };
  for (const d of DEPS) {
    const folder = layerOf(d.from)!.folder;
    const ok = own[folder];
    if (ok !== undefined) t.true(ok(d), `${show(d)}: ${folder} imports only its own files`);
  }
});

/** The threaded engine runs on wall-clock time by design (durations, watchdog, rates); nothing else below the workloads may. */
const WALL_CLOCK_ALLOWED = /^src\/engine\/threaded/;

test('no Math.random in the model, protocol, schedulers, engines or workloads; no wall clock below the workloads outside the threaded engine', (t) => {
  for (const file of SOURCES.filter((f) => /^src\/(kvm|protocol|sched|engine|workload)\//.test(f))) {
    const code = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    t.false(/Math\.random/.test(code), `${file} uses Math.random`);
    if (!WALL_CLOCK_ALLOWED.test(file) && !file.startsWith('src/workload/')) t.false(/Date\.now|performance\.now|setTimeout|setInterval/.test(code), `${file} reads the wall clock`);
  }
});
