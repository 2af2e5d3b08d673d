/**
 * `npm run docs`: rewrites every checked transcript in README.md and docs/ from the built
 * CLI's current output (and the exit status where a block shows one), and regenerates
 * docs/machines.md. Prints what it changed; review the diff before committing.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { LAYERS_PAGE, layersPage } from './layers-page.js';
import { MACHINES_EXPORT_ARGS, MACHINES_PAGE, machinesPage } from './machines-page.js';
import { ELISION, ROOT, docFiles, normalise, readPage, rendered, type Page, type Transcript } from './transcripts.js';

async function renderTranscript(tr: Transcript): Promise<string[]> {
  const body: string[] = [];
  for (const c of tr.commands) {
    const ran = await cli(c.argv);
    body.push(...c.commandLines, ...rendered(c.expected, normalise(ran.stdout)));
    if (c.code !== null) body.push('$ echo $?', String(ran.code));
    else if (ran.code !== 0) console.warn(`${tr.file}:${tr.line}: faultline ${c.argv.join(' ')} exits ${ran.code}; the block does not show it`);
  }
  return body;
}

async function updatePage(page: Page): Promise<number> {
  for (const p of page.problems) console.warn(`${p.file}:${p.line}: ${p.message}`);
  const lines = [...page.lines];
  let changed = 0;
  // Last block first, so the line numbers of earlier blocks stay valid.
  for (const tr of [...page.transcripts].reverse()) {
    const body = await renderTranscript(tr);
    const old = lines.slice(tr.bodyStart, tr.bodyEnd);
    if (body.join('\n') === old.join('\n')) continue;
    lines.splice(tr.bodyStart, tr.bodyEnd - tr.bodyStart, ...body);
    changed++;
    const elided = tr.commands.some((c) => c.expected.some((l) => l.trim() === ELISION));
    console.log(`${tr.file}:${tr.line}: rewritten${elided ? ' — it leaves lines out with …: check what it shows now and trim again' : ''}`);
  }
  if (changed > 0) writeFileSync(join(ROOT, page.file), lines.join('\n'));
  return changed;
}

async function main(): Promise<void> {
  // Transcripts name files relative to the repository root, as the docs test runs them.
  process.chdir(ROOT);
  let changed = 0;
  let total = 0;
  for (const file of docFiles()) {
    const page = readPage(file);
    total += page.transcripts.length;
    changed += await updatePage(page);
  }
  const out = await cli(MACHINES_EXPORT_ARGS);
  if (out.code !== 0) throw new Error(`machines export exited ${out.code}: ${out.stderr}`);
  writeFileSync(join(ROOT, MACHINES_PAGE), machinesPage(out.stdout));
  writeFileSync(join(ROOT, LAYERS_PAGE), layersPage());
  console.log(`${total} checked transcripts, ${changed} rewritten; ${MACHINES_PAGE} and ${LAYERS_PAGE} regenerated`);
}

await main();
