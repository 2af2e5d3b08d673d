// Goal: the engine defines the op-source, check and stage interfaces and names no workload — nothing in src/engine or workers' engine code imports src/workload, statically, by `export … from` or by `import()`; method: read the sources and the built JavaScript, with a detector that is itself shown to catch each form.

import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';

const root = new URL('../../../', import.meta.url);

/** Every module specifier a source names: import/export … from, bare import, dynamic import(). */
function specifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const forms = [/\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /^\s*import\s*['"]([^'"]+)['"]/gm, /\bimport\s*\(\s*['"`]([^'"`]+)['"`]/g];
  return forms.flatMap((re) => [...code.matchAll(re)].map((m) => m[1]!));
}

const files = (dir: string, ext: string): [string, string][] =>
  readdirSync(new URL(dir, root), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(ext)).map((f) => [`${dir}${f}`, readFileSync(new URL(`${dir}${f}`, root), 'utf8')]);

test('the detector sees every form of import', (t) => {
  const text = [
    "import { a } from '../workload/a.js';",
    "import type { B } from '../workload/b.js';",
    "export { c } from '../workload/c.js';",
    "export * from '../workload/d.js';",
    "import '../workload/e.js';",
    "const f = await import('../workload/f.js');",
    "import {\n  g,\n} from '../workload/g.js';",
    '// import { z } from "../workload/z.js";',
  ].join('\n');
  t.deepEqual(specifiers(text).sort(), ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((x) => `../workload/${x}.js`));
});

test('src/engine imports nothing from src/workload (sources)', (t) => {
  const engine = files('src/engine/', '.ts');
  t.true(engine.length > 10);
  for (const [file, text] of engine) for (const s of specifiers(text)) t.false(/workload/.test(s), `${file} imports ${s}`);
});

test('src/engine imports nothing from src/workload (built JavaScript)', (t) => {
  const built = files('build/src/engine/', '.js');
  t.true(built.length > 10);
  for (const [file, text] of built) for (const s of specifiers(text)) t.false(/workload/.test(s), `${file} imports ${s}`);
});

test('no preset is named in the engine', (t) => {
  for (const [file, text] of files('src/engine/', '.ts')) t.false(/mmu-stress|memslot-churn|MmuStress|StressConfig/.test(text), file);
});
