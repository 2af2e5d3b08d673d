// Goal: imports point one way (DESIGN.md "Layout"): the model imports nothing above it, machines import no src code, schedulers know no engine, and no wall clock or Math.random in the model, protocol or schedulers; method: read the sources.

import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';

const root = new URL('../../../', import.meta.url);
const sources = (dir: string): [string, string][] =>
  readdirSync(new URL(dir, root)).filter((f) => f.endsWith('.ts')).map((f) => [`${dir}${f}`, readFileSync(new URL(`${dir}${f}`, root), 'utf8')]);
const imports = (text: string): string[] => [...text.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);

test('src/kvm imports only src/kvm', (t) => {
  for (const [file, text] of sources('src/kvm/')) for (const i of imports(text)) t.false(i.startsWith('../'), `${file} imports ${i}`);
});

test('machines import xstate and each other only', (t) => {
  for (const [file, text] of sources('machines/')) for (const i of imports(text)) t.true(i === 'xstate' || i.startsWith('./'), `${file} imports ${i}`);
});

test('schedulers import no engine, race or model code', (t) => {
  for (const [file, text] of sources('src/sched/')) for (const i of imports(text)) t.true(i.startsWith('./'), `${file} imports ${i}`);
});

/** The threaded engine runs on wall-clock time by design (durations, watchdog, rates); nothing else may. */
const WALL_CLOCK_ALLOWED = /^src\/engine\/threaded/;

test('no Math.random anywhere in the model, protocol, schedulers, engines or workloads; no wall clock outside the threaded engine', (t) => {
  for (const dir of ['src/kvm/', 'src/protocol/', 'src/sched/', 'src/engine/', 'src/workload/']) {
    for (const [file, text] of sources(dir)) {
      const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      t.false(/Math\.random/.test(code), `${file} uses Math.random`);
      if (!WALL_CLOCK_ALLOWED.test(file) && dir !== 'src/workload/') t.false(/Date\.now|performance\.now|setTimeout|setInterval/.test(code), `${file} reads the wall clock`);
    }
  }
});
