/**
 * `faultline race merge FILE…`: shard outputs read (files, or standard input for `-`),
 * merged by src/race/merge.ts, printed as text or one JSON object. Exit 0 clean, 1 a
 * shard found a violation (a bench point had one), 2 bad input: an unreadable file, a line
 * that is not JSON, shards of different runs, a shard twice or missing.
 */

import { readFileSync } from 'node:fs';
import type { SimMetrics } from '../bench/prefault.js';
import type { Violation } from '../kvm/findings.js';
import { MergeError, mergeBench, mergeRace, summariesOf, type MergedRace, type ShardSummary } from '../race/merge.js';
import { formatBenchTable } from '../report/bench.js';
import { formatViolation } from '../report/text.js';
import { UsageError } from './args.js';
import type { Io } from './io.js';
import type { MergeFlags } from './race-merge-cli.js';

function readAll(files: readonly string[]): ShardSummary[] {
  const out: ShardSummary[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f === '-' ? 0 : f, 'utf8');
    } catch (e) {
      throw new UsageError(`${f}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    out.push(...summariesOf(text, f === '-' ? 'stdin' : f));
  }
  return out;
}

function describeRun(m: MergedRace): string {
  const r = m.run;
  const what = m.kind === 'explore' ? String(r['target'] ?? '?') : 'race swarm';
  const how = [r['scheduler'] !== undefined ? String(r['scheduler']) : null, r['depth'] !== undefined && r['depth'] !== null ? `depth ${String(r['depth'])}` : null,
    r['budget'] !== undefined ? `budget ${String(r['budget'])} per ${m.kind === 'swarm' ? 'scenario' : 'shard'}` : null, m.kind === 'swarm' && r['seed'] !== undefined ? `seed ${String(r['seed'])}` : null, r['kernel'] !== undefined ? `kernel ${String(r['kernel'])}` : null].filter((x) => x !== null);
  const list = (k: string): string[] => (Array.isArray(r[k]) ? (r[k] as unknown[]).map(String) : []);
  const mutations = [...list('mutate'), ...list('skip'), ...list('patch').map((p) => `--patch ${p}`)];
  return `${what}${how.length > 0 ? ` (${how.join(', ')})` : ''}${r['control'] === true ? ', control' : ''}${mutations.length > 0 ? `; ${mutations.join(' ')}` : ''}`;
}

function printRace(m: MergedRace, io: Io): void {
  const missing = m.shards.missing.length > 0 ? `; missing: ${m.shards.missing.map((i) => `${i}/${m.shards.n}`).join(', ')}` : '';
  io.out(`merged ${m.shards.merged} of ${m.shards.n} shard(s) of ${describeRun(m)}${missing}\n`);
  io.out(`${m.scenarios !== null ? `${m.scenarios} scenario(s), ` : ''}${m.schedules} schedule(s), ${m.steps.toLocaleString('en-US')} steps; slowest shard ${(m.ms / 1000).toFixed(1)} s, all shards ${(m.cpuMs / 1000).toFixed(1)} s\n`);
  if (m.dfs !== null) io.out(`dfs: ${m.dfs.exhausted ? 'the search is complete — the shards together ran every schedule of the unsharded search' : 'the search is not finished'}\n`);
  io.out(`coverage: ${Object.entries(m.coverage).map(([k, c]) => `${k} ${c.fired}/${c.total}`).join(', ')}\n`);
  for (const [name, f] of Object.entries(m.findings ?? {})) io.out(`documented finding ${name}: ${f.count} scenario(s), first ${f.first} (not a failure)\n`);
  if (m.first === null) {
    io.out('\nno violation\n');
    return;
  }
  const where = m.kind === 'swarm' ? `scenario ${m.first.index}` : m.first.dfs !== undefined ? `dfs subtree ${m.first.dfs.subtree}, its run ${m.first.dfs.run}` : `schedule ${m.first.index}`;
  io.out(`\nfirst violation: ${where} (shard ${m.first.shard}/${m.shards.n})\n`);
  const v = m.violation as Violation | null;
  if (v !== null && typeof v === 'object' && typeof v.kind === 'string') io.out(`${formatViolation(v).join('\n')}\n`);
  if (m.first.file !== undefined) io.out(`scenario file: ${m.first.file}\n`);
  if (m.token !== null) io.out(`token: ${m.token}\nreplay: faultline race replay ${m.token}\n`);
}

/** `race merge FILE… [--json] [--partial]` */
export function raceMerge(files: readonly string[], f: MergeFlags, io: Io): number {
  try {
    const all = readAll(files);
    if (all[0]?.kind === 'bench') {
      const { doc, missing } = mergeBench(all, f.partial === true);
      const results = doc['results'] as SimMetrics[];
      if (f.json === true) io.out(`${JSON.stringify(doc)}\n`);
      else {
        io.out(`merged ${all.length} of ${all[0].shard.n} bench shard(s)${missing.length > 0 ? `; missing: ${missing.map((i) => `${i}/${all[0]!.shard.n}`).join(', ')}` : ''}\n`);
        io.out(formatBenchTable(results, typeof doc['label'] === 'string' ? doc['label'] : String(doc['benchmark'])));
      }
      return results.some((r) => Array.isArray(r.violations) && r.violations.length > 0) ? 1 : 0;
    }
    const m = mergeRace(all, f.partial === true);
    if (f.json === true) io.out(`${JSON.stringify(m)}\n`);
    else printRace(m, io);
    return m.found ? 1 : 0;
  } catch (e) {
    if (e instanceof MergeError) throw new UsageError(`race merge: ${e.message}`);
    throw e;
  }
}
