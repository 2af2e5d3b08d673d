// Goal: the docs stay true — every checked transcript in README.md and docs/ prints what the built CLI prints now, every other transcript is labelled as an example, and docs/machines.md is the current export; method: parse every page, run each `$ faultline …` and compare.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { LAYERS_PAGE, layersPage } from './layers-page.js';
import { MACHINES_EXPORT_ARGS, MACHINES_PAGE, machinesPage } from './machines-page.js';
import { ROOT, docFiles, matches, normalise, parsePage, readPage, rendered, type DocCommand } from './transcripts.js';

const pages = docFiles().map((f) => readPage(f));

/** At most two CLI processes at a time: the machine this runs on may have two cores. */
const PARALLEL_MAX = 2;
let running = 0;
const queue: (() => void)[] = [];
async function limited<T>(job: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL_MAX) await new Promise<void>((resolve) => queue.push(resolve));
  running++;
  try {
    return await job();
  } finally {
    running--;
    queue.shift()?.();
  }
}

test('every page follows the transcript convention', (t) => {
  t.deepEqual(pages.flatMap((p) => p.problems.map((x) => `${x.file}:${x.line}: ${x.message}`)), []);
  t.true(pages.some((p) => p.file === 'README.md' && p.transcripts.flatMap((x) => x.commands).length >= 5), 'the README shows at least five checked commands');
});

test('the convention parser tells checked transcripts from examples and rejects the rest', (t) => {
  const page = parsePage('x.md', [
    '```console', '$ faultline scenario list \\', '    --json', '{}', '$ echo $?', '0', '```',
    'Example output (threads and timing vary):', '```text', '$ faultline stress', 'ran 1.0s', '```',
    '```text', '$ faultline stress', '```',
    '```console', '$ npm start', '```',
  ].join('\n'));
  t.deepEqual(page.transcripts.map((x) => x.commands.map((c) => [c.argv, c.expected, c.code])), [[[['scenario', 'list', '--json'], ['{}'], 0]]]);
  t.deepEqual(page.problems.map((p) => p.line), [13, 16]);
  t.true(matches(['a', '…', 'd'], ['a', 'b', 'c', 'd']));
  t.true(matches(['a', '…'], ['a']));
  t.false(matches(['a', '…', 'd'], ['a', 'b', 'c']));
  t.false(matches(['a', 'b'], ['a', 'c']));
});

test('rewriting keeps the stretches a block showed and shows in full what changed', (t) => {
  t.deepEqual(rendered(['a', '…', 'd'], ['a', 'b', 'c', 'd']), ['a', '…', 'd']);
  t.deepEqual(rendered(['a', '…', 'c', '…', 'z'], ['a', 'b', 'c', 'd', 'y']), ['a', '…', 'c', 'd', 'y']);
  t.deepEqual(rendered(['x', '…', 'c', '…', 'z'], ['a', 'b', 'c', 'd', 'z']), ['a', 'b', 'c', '…', 'z']);
  t.deepEqual(rendered(['a', 'b'], ['a', 'c']), ['a', 'c']);
});

test('docs/machines.md is what `machines export` prints now (npm run docs regenerates it)', async (t) => {
  const out = await limited(() => cli(MACHINES_EXPORT_ARGS));
  t.is(out.code, 0);
  t.is(readFileSync(join(ROOT, MACHINES_PAGE), 'utf8'), machinesPage(out.stdout));
});

test('docs/layers.md is the import graph of the sources now (npm run docs regenerates it)', (t) => {
  t.is(readFileSync(join(ROOT, LAYERS_PAGE), 'utf8'), layersPage());
});

/** A command shown on several pages (`race list`, a scenario run) runs once; each transcript checks its own output against it. */
const ran = new Map<string, ReturnType<typeof cli>>();
function runOnce(argv: readonly string[]): ReturnType<typeof cli> {
  const key = JSON.stringify(argv);
  let r = ran.get(key);
  if (r === undefined) { r = limited(() => cli(argv)); ran.set(key, r); }
  return r;
}

function title(file: string, c: DocCommand): string {
  const args = c.argv.join(' ');
  return `${file}:${c.line} faultline ${args.length > 80 ? `${args.slice(0, 80)}…` : args}`;
}

for (const page of pages) {
  for (const tr of page.transcripts) {
    for (const c of tr.commands) {
      test(title(page.file, c), async (t) => {
        const out = await runOnce(c.argv);
        const actual = normalise(out.stdout);
        if (!matches(c.expected, actual)) t.is(normalise(c.expected.join('\n')).join('\n'), actual.join('\n'), 'stdout differs (npm run docs rewrites the transcript)');
        else t.pass();
        if (c.code !== null) t.is(out.code, c.code, `exit status; stderr: ${out.stderr.trim()}`);
      });
    }
  }
}

test('every scenario and catalogue entry the docs name in a command exists', async (t) => {
  const scenarios = await limited(() => cli(['scenario', 'list', '--json']));
  const races = await limited(() => cli(['race', 'list', '--json']));
  const scenarioNames = new Set((JSON.parse(scenarios.stdout) as { scenarios: { name: string }[] }).scenarios.map((s) => s.name));
  const raceNames = new Set((JSON.parse(races.stdout) as { name: string }[]).map((r) => r.name));
  for (const page of pages) {
    const text = page.lines.join('\n');
    for (const m of text.matchAll(/faultline scenario run ([a-z][a-z0-9-]+)(?=[\s`])/g)) t.true(scenarioNames.has(m[1]!), `${page.file}: scenario ${m[1]!}`);
    for (const m of text.matchAll(/faultline race explore ([a-z][a-z0-9-]+)(?=[\s`])/g)) t.true(raceNames.has(m[1]!), `${page.file}: catalogue entry ${m[1]!}`);
  }
});
