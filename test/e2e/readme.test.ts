// Goal: the README stays true — its machine diagrams are exactly what `machines export` prints, and the commands it shows exist; method: run the CLI and compare.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

test('the README shows every machine exactly as `machines export --format mermaid --markdown` does', (t) => {
  const out = spawnSync(process.execPath, [cli, 'machines', 'export', '--format', 'mermaid', '--markdown'], { encoding: 'utf8' });
  t.is(out.status, 0);
  const expected = out.stdout.replace(/^## /gm, '### ').trim();
  const begin = readme.indexOf('<!-- machines:begin -->');
  const end = readme.indexOf('<!-- machines:end -->');
  t.true(begin > 0 && end > begin, 'the README has the machines section');
  t.is(readme.slice(begin + '<!-- machines:begin -->'.length, end).trim(), expected);
});

test('every built-in scenario the README names exists', (t) => {
  const out = spawnSync(process.execPath, [cli, 'scenario', 'list', '--json'], { encoding: 'utf8' });
  const names = new Set((JSON.parse(out.stdout) as { scenarios: { name: string }[] }).scenarios.map((s) => s.name));
  for (const m of readme.matchAll(/faultline scenario run ([a-z][a-z0-9-]+)(?=\s)/g)) t.true(names.has(m[1]!), m[1]!);
});
