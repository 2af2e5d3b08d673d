// Goal: a command line that only parses (help, a usage error, --version) loads the CLI's definitions and nothing of the model: the engine, the machines (xstate) and the data plane load when a command runs; method: follow the static imports of the built program.js (types erased) and list every file and package they reach.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILD = fileURLToPath(new URL('../../', import.meta.url));
const STATIC = /^(?:import|export)\s[^;]*?from\s*'([^']+)'|^import\s*'([^']+)'/gms;

/** reach(): every built file and package the static imports of `entry` reach (dynamic `import()` not followed). */
function reach(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [join(BUILD, entry)];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) todo.push(join(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec);
    }
  }
  return { files: new Set([...files].map((f) => relative(BUILD, f))), packages };
}

test('the command tree statically loads no engine, machine, xstate or rxjs', (t) => {
  const { files, packages } = reach('src/cli/program.js');
  t.true(files.has('src/cli/race-cli.js') && files.has('src/cli/bench-cli.js'), 'the walk follows the definitions');
  const heavy = [...files].filter((f) => /^src\/(engine|race|report|export|check)\//.test(f) || f.startsWith('machines/') || /^src\/protocol\/(machines|compile|runner|bindings)\.js$/.test(f) || /^src\/kvm\/(vm|tdp-mmu|page-fault|actor|host)\.js$/.test(f));
  t.deepEqual(heavy, [], 'model modules reached from the command definitions');
  t.deepEqual([...packages].filter((p) => p !== 'commander'), [], 'packages other than commander');
});

test('the walk sees a heavy import where there is one', (t) => {
  const { files, packages } = reach('src/engine/deterministic.js');
  t.true([...files].some((f) => f.startsWith('src/kvm/')));
  t.true(packages.has('xstate') || [...files].some((f) => f.startsWith('machines/')));
});
