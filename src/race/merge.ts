/**
 * Merging shard outputs: the JSON lines of `race explore --shard i/n --json`, of
 * `race swarm --shard i/n --json` and of `bench … --shard i/n --json`, run on as many
 * machines as there are shards, combined into what one unsharded run would have said.
 *
 * An exploration shard i/n runs schedules i, i+n, i+2n, … and stops at its first
 * violation, so the violation the unsharded run would report first is the one at the
 * lowest global schedule index (i + n·(schedules − 1) for the shard that found it). DFS
 * shards search disjoint subtrees of the one deterministic search order (sched/dfs.ts), so
 * their runs together are the unsharded search's and the first violation is the one
 * lowest in (subtree, run in it). Totals are sums, coverage is the union (counts summed), the wall
 * time is the slowest shard's. Shards of different runs (another target, release,
 * mutation set, budget, shard count) are refused: their union means nothing.
 */

/** A shard output that cannot be merged (the CLI prints it as one line, exit 2). */
export class MergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MergeError';
  }
}

export interface Shard {
  readonly i: number;
  readonly n: number;
}

/** One transition-coverage table per machine, as `race explore --json` writes it. */
export interface MachineCoverage {
  fired: number;
  total: number;
  transitions: Record<string, number>;
  never: string[];
}

/** A shard's final line: `type: "summary"` (explore, swarm) or a bench document. */
export interface ShardSummary {
  readonly kind: 'explore' | 'swarm' | 'bench';
  /** Where it came from, for messages: `FILE:LINE`. */
  readonly where: string;
  readonly shard: Shard;
  readonly doc: Record<string, unknown>;
}

/** The fields that say which run a shard belongs to: every shard of one run has the same. */
const RUN_FIELDS = ['target', 'kernel', 'scheduler', 'depth', 'mutate', 'skip', 'patch', 'control', 'budget', 'sleepSets', 'seed', 'time', 'vmType', 'benchmark', 'clock', 'workload', 'pageSizes', 'hostMemories', 'costModel', 'plan'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shardOf(doc: Record<string, unknown>, where: string): Shard {
  const s = doc['shard'];
  if (s === undefined) return { i: 0, n: 1 };
  if (!isObject(s) || !Number.isInteger(s['i']) || !Number.isInteger(s['n']) || (s['i'] as number) < 0 || (s['i'] as number) >= (s['n'] as number)) {
    throw new MergeError(`${where}: 'shard' must be {"i": I, "n": N} with 0 ≤ I < N`);
  }
  return { i: s['i'] as number, n: s['n'] as number };
}

/** The summaries in one file's text (schedule lines and blank lines skipped). */
export function summariesOf(text: string, file: string): ShardSummary[] {
  const out: ShardSummary[] = [];
  text.split('\n').forEach((line, k) => {
    const where = `${file}:${k + 1}`;
    if (line.trim() === '') return;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      throw new MergeError(`${where}: not a JSON line (give the output of --json)`);
    }
    if (!isObject(doc)) throw new MergeError(`${where}: not a JSON object`);
    if (doc['type'] === 'schedule' || doc['type'] === 'scenario') return;
    const kind = typeof doc['benchmark'] === 'string' ? 'bench' : doc['type'] !== 'summary' ? null : 'scenarios' in doc ? 'swarm' : 'explore';
    if (kind === null) throw new MergeError(`${where}: neither a summary of race explore or race swarm nor a bench document`);
    out.push({ kind, where, shard: shardOf(doc, where), doc });
  });
  return out;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const commandOf = (k: ShardSummary['kind']): string => (k === 'bench' ? 'bench' : `race ${k}`);

/** Every shard of one run, each once: else a MergeError naming the two that disagree. */
export function checkCompatible(all: readonly ShardSummary[], partial: boolean): { n: number; missing: number[] } {
  if (all.length === 0) throw new MergeError('no summary line in the input: give the JSON lines of race explore/swarm --json or bench --json');
  const first = all[0]!;
  const seen = new Map<number, ShardSummary>();
  for (const s of all) {
    if (s.kind !== first.kind) throw new MergeError(`${s.where} is output of ${commandOf(s.kind)}, ${first.where} of ${commandOf(first.kind)}: they cannot be merged`);
    if (s.shard.n !== first.shard.n) throw new MergeError(`${s.where} is shard ${s.shard.i}/${s.shard.n}, ${first.where} shard ${first.shard.i}/${first.shard.n}: shards of one run share n`);
    for (const f of RUN_FIELDS) {
      if (!same(s.doc[f], first.doc[f])) throw new MergeError(`${s.where} and ${first.where} are shards of different runs: ${f} ${JSON.stringify(s.doc[f] ?? null)} vs ${JSON.stringify(first.doc[f] ?? null)}`);
    }
    const dup = seen.get(s.shard.i);
    if (dup !== undefined) throw new MergeError(`${s.where} and ${dup.where} are both shard ${s.shard.i}/${s.shard.n}`);
    seen.set(s.shard.i, s);
  }
  const missing: number[] = [];
  for (let i = 0; i < first.shard.n; i++) if (!seen.has(i)) missing.push(i);
  if (missing.length > 0 && !partial) throw new MergeError(`shard(s) ${missing.map((i) => `${i}/${first.shard.n}`).join(', ')} missing (a failed shard?); --partial merges what there is`);
  return { n: first.shard.n, missing };
}

/** The union of coverage tables: counts summed, a transition never fired only if no shard fired it. */
export function mergeCoverage(tables: readonly unknown[]): Record<string, MachineCoverage> {
  const out: Record<string, MachineCoverage> = {};
  const never = new Map<string, Set<string>>();
  for (const t of tables) {
    if (!isObject(t)) continue;
    for (const [m, c] of Object.entries(t)) {
      if (!isObject(c)) continue;
      const o = (out[m] ??= { fired: 0, total: 0, transitions: {}, never: [] });
      o.total = Math.max(o.total, typeof c['total'] === 'number' ? c['total'] : 0);
      for (const [tr, k] of Object.entries(isObject(c['transitions']) ? c['transitions'] : {})) o.transitions[tr] = (o.transitions[tr] ?? 0) + (typeof k === 'number' ? k : 0);
      const nv = never.get(m) ?? new Set<string>();
      for (const tr of Array.isArray(c['never']) ? c['never'] : []) if (typeof tr === 'string') nv.add(tr);
      never.set(m, nv);
    }
  }
  for (const [m, o] of Object.entries(out)) {
    o.fired = Object.keys(o.transitions).length;
    // In the machine's order, as each shard lists them.
    o.never = [...(never.get(m) ?? [])].filter((tr) => !(tr in o.transitions));
  }
  return out;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Merged explore or swarm shards: one summary, shaped like a shard's, with the shards it covers. */
export interface MergedRace {
  readonly type: 'merged';
  readonly kind: 'explore' | 'swarm';
  readonly shards: { readonly n: number; readonly merged: number; readonly missing: readonly number[] };
  readonly found: boolean;
  readonly schedules: number;
  readonly steps: number;
  /** The slowest shard's time (shards run side by side), and the sum (the work). */
  readonly ms: number;
  readonly cpuMs: number;
  readonly scenarios: number | null;
  /** The first violation: its global index (schedule, or scenario for swarm), shard, token, violation. */
  readonly first: { readonly index: number; readonly shard: number; readonly token: string | null; readonly violation: unknown; readonly file?: string; readonly dfs?: { readonly subtree: number; readonly run: number } } | null;
  /** Swarm: violations that match a documented finding (not failures), per finding: scenarios and the first one's index. */
  readonly findings: Record<string, { count: number; first: number }> | null;
  readonly token: string | null;
  readonly violation: unknown;
  readonly coverage: Record<string, MachineCoverage>;
  /** DFS: the search is complete when every shard ran out of schedules. */
  readonly dfs: { readonly runs: number; readonly blocked: number; readonly learned: number; readonly exhausted: boolean } | null;
  /** The run's identity (target, kernel, scheduler, … — whatever the shards said). */
  readonly run: Record<string, unknown>;
}

function firstViolation(all: readonly ShardSummary[], kind: 'explore' | 'swarm'): MergedRace['first'] {
  let best: MergedRace['first'] = null;
  let bestKey: readonly number[] = [];
  for (const s of all) {
    if (s.doc['found'] !== true) continue;
    const count = num(kind === 'swarm' ? s.doc['scenarios'] : s.doc['schedules']);
    // A swarm summary names the failing scenario's index; else shard i's k-th of n is i + n·k.
    const shrunk = s.doc['shrunk'];
    const index = isObject(shrunk) && typeof shrunk['index'] === 'number' ? shrunk['index'] : s.shard.i + s.shard.n * Math.max(0, count - 1);
    // DFS shards search disjoint subtrees: the search order is (subtree, run in it).
    const dfs = s.doc['dfs'];
    const at = isObject(dfs) && isObject(dfs['at']) ? { subtree: num(dfs['at']['subtree']), run: num(dfs['at']['run']) } : null;
    const key = at !== null ? [at.subtree, at.run, s.shard.i] : [index, s.shard.i];
    if (best === null || lexLess(key, bestKey)) {
      bestKey = key;
      best = { index, shard: s.shard.i, token: typeof s.doc['token'] === 'string' ? s.doc['token'] : null, violation: s.doc['violation'] ?? null, ...(typeof s.doc['file'] === 'string' ? { file: s.doc['file'] } : {}), ...(at !== null ? { dfs: at } : {}) };
    }
  }
  return best;
}

const lexLess = (a: readonly number[], b: readonly number[]): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
};

function mergeFindings(all: readonly ShardSummary[]): MergedRace['findings'] {
  if (!all.some((s) => isObject(s.doc['findings']))) return null;
  const out: Record<string, { count: number; first: number }> = {};
  for (const s of all) {
    const f = s.doc['findings'];
    if (!isObject(f)) continue;
    for (const [name, v] of Object.entries(f)) {
      if (!isObject(v)) continue;
      const o = out[name];
      out[name] = { count: (o?.count ?? 0) + num(v['count']), first: Math.min(o?.first ?? Infinity, num(v['first'])) };
    }
  }
  return out;
}

function mergeDfs(all: readonly ShardSummary[], complete: boolean): MergedRace['dfs'] {
  const d = all.map((s) => s.doc['dfs']).filter(isObject);
  if (d.length === 0) return null;
  // Each shard searched its own subtrees: their runs together are the unsharded search's.
  const sum = (f: string): number => d.reduce((a, x) => a + num(x[f]), 0);
  return { runs: sum('runs'), blocked: sum('blocked'), learned: sum('learned'), exhausted: complete && d.length === all.length && d.every((x) => x['exhausted'] === true) };
}

/** Explore or swarm shards merged (checkCompatible first). */
export function mergeRace(all: readonly ShardSummary[], partial = false): MergedRace {
  const { n, missing } = checkCompatible(all, partial);
  const kind = all[0]!.kind;
  if (kind === 'bench') throw new MergeError('mergeRace: bench documents merge with mergeBench');
  const first = firstViolation(all, kind);
  const run: Record<string, unknown> = {};
  for (const f of RUN_FIELDS) if (all[0]!.doc[f] !== undefined) run[f] = all[0]!.doc[f];
  return {
    type: 'merged', kind, shards: { n, merged: all.length, missing },
    found: first !== null, schedules: all.reduce((a, s) => a + num(s.doc['schedules']), 0), steps: all.reduce((a, s) => a + num(s.doc['steps']), 0),
    ms: Math.max(...all.map((s) => num(s.doc['ms']))), cpuMs: all.reduce((a, s) => a + num(s.doc['ms']), 0),
    scenarios: kind === 'swarm' ? all.reduce((a, s) => a + num(s.doc['scenarios']), 0) : null,
    first, token: first?.token ?? null, violation: first?.violation ?? null,
    coverage: mergeCoverage(all.map((s) => s.doc['coverage'])), dfs: mergeDfs(all, missing.length === 0), findings: mergeFindings(all), run,
  };
}

/** Bench shards merged: one document with every shard's results in the plan's point order. */
export function mergeBench(all: readonly ShardSummary[], partial = false): { doc: Record<string, unknown>; missing: readonly number[] } {
  const { missing } = checkCompatible(all, partial);
  const rows: { point: number; k: number; r: unknown }[] = [];
  for (const s of all) {
    const results = Array.isArray(s.doc['results']) ? s.doc['results'] : [];
    const points = Array.isArray(s.doc['points']) ? s.doc['points'] : s.shard.n === 1 ? results.map(() => 0) : [];
    if (points.length !== results.length) throw new MergeError(`${s.where}: a bench shard lists the plan point of each result ('points', as many as 'results')`);
    results.forEach((r, k) => rows.push({ point: num(points[k]), k, r }));
  }
  rows.sort((a, b) => a.point - b.point || a.k - b.k);
  const { shard: _s, ...rest } = all[0]!.doc;
  return { doc: { ...rest, shards: { n: all[0]!.shard.n, merged: all.length, missing }, points: rows.map((x) => x.point), results: rows.map((x) => x.r) }, missing };
}
