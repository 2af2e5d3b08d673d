// Goal: every function can be read on one screen (STYLE.md "Small functions": about 70 lines at most); method: parse every source file and measure each function, method and arrow from its first line to its last.

import test from 'ava';
import { functions, sourceFiles } from '../helpers/source-graph.js';

/** The longest function the project allows, in lines (STYLE.md §14; the step functions generated at run time are not in the sources). */
const FUNCTION_LINES_MAX = 70;

test(`no function in src/, machines/, workers/ or bench/ is over ${FUNCTION_LINES_MAX} lines`, (t) => {
  const spans = sourceFiles(['src', 'machines', 'workers', 'bench']).flatMap((f) => functions(f));
  t.true(spans.length > 500, `${spans.length} functions found`);
  const long = spans.filter((s) => s.lines > FUNCTION_LINES_MAX).map((s) => `${s.file}:${s.line} ${s.name}: ${s.lines} lines`);
  t.deepEqual(long, []);
});

test('the measure sees nested arrows and methods (a long function inside a short one is still long)', (t) => {
  const spans = functions('test/helpers/source-graph.ts');
  t.true(spans.some((s) => s.name === 'functions'));
  t.true(spans.some((s) => s.name === 'literal'));
  t.true(spans.some((s) => s.name === 'add'), 'the arrow inside dependencies()');
});
