// Goal: the compiled runner and xstate's interpreter (the reference runner) are the same machine, with and without mutations; method: xstate/graph shortest paths to every edge (every guard assignment of every event of every state) of every machine, replayed step by step through both runners with truth-table guards and actions that both log, so states, transitions, actions and the order of guard evaluations (try* guards have side effects) must all agree.

import test from 'ava';
import { setup, and, not, or } from 'xstate';
import { compileMachine, type CompiledMachine, type CompiledTransition } from '../../src/protocol/compile.js';
import { COMPILED } from '../../src/protocol/machines.js';
import { NO_MUTATIONS, buildMutations, type Mutations } from '../../src/protocol/mutations.js';
import { ReferenceRunner } from '../../src/protocol/reference-runner.js';
import { BoundMachine, CompiledRunner, type Runner, type StepHooks } from '../../src/protocol/runner.js';
import { actionsOf, newCtx, truthImpl, truthPaths, type TruthCtx, type TruthPath } from './truth-table.js';

/** A machine outside ALL_MACHINES with every supported shape, including targetless transitions and params. */
const adhocMachine = compileMachine(setup({
  guards: { g1: () => false, g2: () => false, g3: () => false, p: () => false },
  actions: { a: () => {}, b: () => {}, c: () => {} },
}).createMachine({
  id: 'adhoc',
  initial: 'idle',
  states: {
    idle: {
      on: {
        GO: [
          { guard: and(['g1', not('g2')]), target: 'busy', actions: ['a', { type: 'b', params: { n: 1 } }] },
          { guard: or(['g2', { type: 'p', params: { k: 'v' } }]), actions: 'c' },
          { target: 'busy' },
        ],
        POKE: { actions: { type: 'a', params: { x: [1, 2] } } },
        STOP: 'end',
      },
    },
    busy: {
      meta: { call: 'other' },
      on: {
        GO: [{ guard: not(and(['g1', 'g3'])), target: 'idle', actions: 'b' }],
        POKE: { guard: 'g3' },
      },
    },
    end: { type: 'final' },
  },
}));

const MACHINES: readonly CompiledMachine[] = [...COMPILED, adhocMachine];
const pathsOf = new Map<string, TruthPath[]>(MACHINES.map((m) => [m.id, truthPaths(m)]));

interface Pair {
  compiled: CompiledRunner<TruthCtx>;
  reference: ReferenceRunner<TruthCtx>;
  cctx: TruthCtx;
  rctx: TruthCtx;
}

/**
 * One truth-table implementation per machine and one bound machine per (machine, mutations),
 * as the engine binds once and creates many runners: a fresh compiled runner per path from the
 * shared binding (a binding that kept state between runs would show as a disagreement), and a
 * fresh xstate actor per path for the reference.
 */
const implOf = new Map<CompiledMachine, ReturnType<typeof truthImpl>>();
const boundOf = new WeakMap<Mutations, Map<CompiledMachine, BoundMachine<TruthCtx>>>();

function bound(m: CompiledMachine, mutations: Mutations): { impl: ReturnType<typeof truthImpl>; bound: BoundMachine<TruthCtx> } {
  let impl = implOf.get(m);
  if (impl === undefined) { impl = truthImpl(m); implOf.set(m, impl); }
  let byMachine = boundOf.get(mutations);
  if (byMachine === undefined) { byMachine = new Map(); boundOf.set(mutations, byMachine); }
  let b = byMachine.get(m);
  if (b === undefined) { b = new BoundMachine(m, impl, mutations); byMachine.set(m, b); }
  return { impl, bound: b };
}

function pair(m: CompiledMachine, mutations: Mutations): Pair {
  const { impl, bound: b } = bound(m, mutations);
  return {
    compiled: new CompiledRunner(b),
    reference: new ReferenceRunner(m, impl, mutations),
    cctx: newCtx(),
    rctx: newCtx(),
  };
}

/** One event through both runners; returns the compiled transition (null = none), after asserting agreement. */
function stepBoth(p: Pair, m: CompiledMachine, type: string, truth: Record<string, boolean>, where: string): CompiledTransition | null {
  const ev = m.eventIndex.get(type)!;
  p.cctx.truth = truth;
  p.rctx.truth = truth;
  const tc = p.compiled.send(p.cctx, ev);
  const tr = p.reference.send(p.rctx, ev);
  if ((tc?.id ?? -1) !== (tr?.id ?? -1)) throw new Error(`${where}: compiled took ${tc?.label ?? 'nothing'}, reference ${tr?.label ?? 'nothing'}`);
  if (p.compiled.state !== p.reference.state) throw new Error(`${where}: states differ (${p.compiled.state} vs ${p.reference.state})`);
  if (p.compiled.done !== p.reference.done) throw new Error(`${where}: done differs`);
  if (JSON.stringify(p.cctx.log) !== JSON.stringify(p.rctx.log)) throw new Error(`${where}: logs differ\n${p.cctx.log.join(' ')}\n${p.rctx.log.join(' ')}`);
  return tc;
}

function stateName(m: CompiledMachine, r: Runner<TruthCtx>): string {
  return m.states[r.state]!.name;
}

for (const m of MACHINES) {
  test(`${m.id}: every path xstate/graph enumerates runs identically on both runners, covering every transition`, (t) => {
    const paths = pathsOf.get(m.id)!;
    const covered = new Set<number>();
    let steps = 0;
    for (const [pi, path] of paths.entries()) {
      const p = pair(m, NO_MUTATIONS);
      t.is(p.compiled.state, m.initial);
      t.is(p.reference.state, m.initial);
      path.events.forEach((e, i) => {
        const where = `${m.id} path ${pi} step ${i} (${e.type} ${JSON.stringify(e.truth)})`;
        const before = p.cctx.log.length;
        const taken = stepBoth(p, m, e.type, e.truth, where);
        steps++;
        // xstate/graph only offers events the state handles, and every assignment picks some transition or none.
        if (taken !== null) {
          covered.add(taken.id);
          t.deepEqual(actionsOf(p.cctx.log.slice(before)), taken.actions.map((a) => `${a.name}(${JSON.stringify(a.params)})`), where);
        } else {
          t.deepEqual(actionsOf(p.cctx.log.slice(before)), [], where);
        }
        // The third opinion: xstate/graph's own snapshot after the event.
        t.is(stateName(m, p.compiled), path.states[i], where);
      });
      // Events the current state does not handle: no transition, nothing runs, on both.
      const s = m.states[p.compiled.state]!;
      const logBefore = p.cctx.log.length;
      for (let e = 0; e < m.events.length; e++) {
        if (s.byEvent[e]!.length > 0 && !s.final) continue;
        t.is(stepBoth(p, m, m.events[e]!, {}, `${m.id} path ${pi} unhandled ${m.events[e]}`), null);
      }
      t.is(p.cctx.log.length, logBefore);
    }
    const missing = m.transitions.filter((tr) => !covered.has(tr.id)).map((tr) => `${tr.event}: ${tr.label}`);
    t.deepEqual(missing, [], `${m.id}: transitions no path covers`);
    t.true(paths.length > 0 && steps > 0);
    t.log(`${m.id}: ${paths.length} paths, ${steps} steps, ${covered.size}/${m.transitions.length} transitions`);
  });
}

/** Replays the given paths on both runners under `mutations`; returns the compiled transition ids taken and the log, per path. */
function replayMutated(m: CompiledMachine, mutations: Mutations, paths: readonly TruthPath[]): { ids: number[][]; logs: string[][] } {
  const ids: number[][] = [];
  const logs: string[][] = [];
  for (const [pi, path] of paths.entries()) {
    const p = pair(m, mutations);
    const seq: number[] = [];
    path.events.forEach((e, i) => {
      const tc = stepBoth(p, m, e.type, e.truth, `${m.id} mutated path ${pi} step ${i}`);
      seq.push(tc?.id ?? -1);
    });
    ids.push(seq);
    logs.push(p.cctx.log);
  }
  return { ids, logs };
}

/** At most `n` items, spread evenly over the list (a mutation only matters on paths that reach it). */
function spread<T>(list: readonly T[], n: number): T[] {
  if (list.length <= n) return [...list];
  return Array.from({ length: n }, (_, i) => list[Math.floor((i * list.length) / n)]!);
}

/** Transition ids the compiled runner alone takes along each path. */
function compiledIds(m: CompiledMachine, mutations: Mutations, paths: readonly TruthPath[]): number[][] {
  const b = bound(m, mutations).bound;
  return paths.map((path) => {
    const r = new CompiledRunner(b);
    const ctx = newCtx();
    return path.events.map((e) => { ctx.truth = e.truth; return r.send(ctx, m.eventIndex.get(e.type)!)?.id ?? -1; });
  });
}

const MUTATION_PATHS_MAX = 24;

for (const m of MACHINES) {
  test(`${m.id}: forcing any guard changes both runners identically`, (t) => {
    const all = pathsOf.get(m.id)!;
    const base = compiledIds(m, NO_MUTATIONS, all);
    for (const g of m.guardNames) {
      for (const value of [true, false]) {
        const mutations: Mutations = { forceGuards: new Map([[`${m.id}.${g}`, value]]), skipActions: new Set() };
        // The compiled runner alone (cheap) finds the paths the mutation changes; both runners then
        // replay a sample of changed and unchanged paths and must agree step by step.
        const mutated = compiledIds(m, mutations, all);
        const changed = all.map((_, i) => i).filter((i) => JSON.stringify(mutated[i]) !== JSON.stringify(base[i]));
        const same = all.map((_, i) => i).filter((i) => JSON.stringify(mutated[i]) === JSON.stringify(base[i]));
        t.true(changed.length > 0, `${m.id}.${g}=${value} changed no path`);
        const idx = [...spread(changed, MUTATION_PATHS_MAX), ...spread(same, MUTATION_PATHS_MAX / 4)];
        const { ids } = replayMutated(m, mutations, idx.map((i) => all[i]!)); // throws on any disagreement
        t.deepEqual(ids, idx.map((i) => mutated[i]!));
      }
    }
  });

  test(`${m.id}: skipping any action removes exactly its calls, on both runners`, (t) => {
    const all = pathsOf.get(m.id)!;
    const full = replayMutated(m, NO_MUTATIONS, all);
    for (const a of m.actionNames) {
      const idx = spread(all.map((_, i) => i).filter((i) => full.logs[i]!.some((x) => x.startsWith(`${a}(`))), MUTATION_PATHS_MAX);
      t.true(idx.length > 0, `no path runs ${a}`);
      const mutations: Mutations = { forceGuards: new Map(), skipActions: new Set([`${m.id}.${a}`]) };
      const { ids, logs } = replayMutated(m, mutations, idx.map((i) => all[i]!));
      t.deepEqual(ids, idx.map((i) => full.ids[i]!), `skipping ${a} changed control flow`);
      t.deepEqual(logs, idx.map((i) => full.logs[i]!.filter((x) => !x.startsWith(`${a}(`))), `skipping ${a}`);
    }
  });
}

test('mutations built by buildMutations act on both runners (page-fault.mmuInvalidateRetryGfn=false, skip page-fault.releasePfn)', (t) => {
  const m = COMPILED.find((c) => c.id === 'page-fault')!;
  const mutations = buildMutations(COMPILED, ['page-fault.mmuInvalidateRetryGfn=false'], ['page-fault.releasePfn']);
  const p = pair(m, mutations);
  const go = (truth: Record<string, boolean>) => stepBoth(p, m, 'STEP', truth, 'scripted');
  go({ tryFastPageFault: false, tryTopupMemoryCaches: true });
  go({});
  go({ mmuInvalidateRetryGfnUnsafe: false });
  go({ tryHvaToPfn: true });
  go({ mmuInvalidateRetryGfnUnsafe: false });
  go({ tryMmuReadLock: true });
  t.is(stateName(m, p.compiled), 'checkStale');
  // The truth table says stale, but the guard is forced false: both walk on.
  const taken = go({ mmuInvalidateRetryGfn: true });
  t.is(taken!.label, 'checkStale → walk');
  t.is(stateName(m, p.reference), 'walk');
  go({ isFrozenSpte: true });
  go({});
  t.true(p.compiled.done);
  t.deepEqual(p.cctx.log.filter((l) => l.startsWith('releasePfn')), []);
  t.false(p.cctx.log.includes('?mmuInvalidateRetryGfn(undefined)'), 'a forced guard is not evaluated');
  t.true(p.cctx.log.includes('rcuReadUnlock(undefined)'));
  t.true(p.cctx.log.includes('setRet({"ret":"retry","reason":"frozen"})'));
});

test('a forced guard inside not()/and() is forced on both runners', (t) => {
  const mutations: Mutations = { forceGuards: new Map([['adhoc.g2', true]]), skipActions: new Set() };
  const p = pair(adhocMachine, mutations);
  // and(g1, not(g2)) is false because g2 is forced true; or(g2, p) is true → targetless, action c.
  const tr = stepBoth(p, adhocMachine, 'GO', { g1: true, g2: false }, 'forced');
  t.is(tr!.order, 1);
  t.is(stateName(adhocMachine, p.compiled), 'idle');
  t.deepEqual(actionsOf(p.cctx.log), ['c(undefined)']);
  t.deepEqual(p.cctx.log, ['?g1(undefined)', 'c(undefined)'], 'g2 is forced, so never evaluated; or() stops at it');
});

/** Ids and log of `path` on the compiled runner, one `send` per event. */
function sentOneByOne(m: CompiledMachine, bound: BoundMachine<TruthCtx>, path: TruthPath): { ids: number[]; log: string[] } {
  const r = new CompiledRunner(bound);
  const ctx = newCtx();
  const ids = path.events.map((e) => { ctx.truth = e.truth; return r.send(ctx, m.eventIndex.get(e.type)!)?.id ?? -1; });
  return { ids, log: ctx.log };
}

/** The same path through Runner.run: one run per stretch of equal events, the hooks setting each step's truth. */
function sentInRuns(m: CompiledMachine, bound: BoundMachine<TruthCtx>, path: TruthPath): { ids: number[]; log: string[]; runs: number } {
  const r = new CompiledRunner(bound);
  const ctx = newCtx();
  const ids: number[] = [];
  const events = path.events;
  let runs = 0;
  for (let i = 0; i < events.length;) {
    let end = i;
    while (end < events.length && events[end]!.type === events[i]!.type) end++;
    let k = i;
    const hooks: StepHooks = {
      beforeStep: (state) => { if (state !== r.state) throw new Error('beforeStep: not the runner\'s state'); ctx.truth = events[k]!.truth; },
      afterStep: (t) => { if (r.state !== t.target) throw new Error('afterStep: the runner is not in the target'); ids.push(t.id); k++; return true; },
    };
    while (k < end) {
      runs++;
      const n = r.run(ctx, m.eventIndex.get(events[i]!.type)!, end - k, hooks);
      if (n < 0) { ids.push(-1); k++; }
    }
    i = end;
  }
  return { ids, log: ctx.log, runs };
}

for (const m of MACHINES) {
  test(`${m.id}: Runner.run takes every path exactly as one send per step (transitions, guard evaluations, actions), stopping where its hooks say`, (t) => {
    const bound = new BoundMachine(m, truthImpl(m), NO_MUTATIONS);
    let runs = 0;
    let steps = 0;
    for (const path of pathsOf.get(m.id)!) {
      const one = sentOneByOne(m, bound, path);
      const inRuns = sentInRuns(m, bound, path);
      t.deepEqual(inRuns.ids, one.ids);
      t.deepEqual(inRuns.log, one.log);
      runs += inRuns.runs;
      steps += path.events.length;
    }
    t.true(runs < steps || steps <= 1 || m.id === 'adhoc', `${runs} runs for ${steps} steps`);
  });
}

test('Runner.run stops after the step its afterStep refuses, and after the budget', (t) => {
  const m = adhocMachine;
  const bound = new BoundMachine(m, truthImpl(m), NO_MUTATIONS);
  const go = m.eventIndex.get('POKE')!;
  const r = new CompiledRunner(bound);
  const ctx = newCtx();
  let seen = 0;
  const refuseThird: StepHooks = { beforeStep: () => {}, afterStep: () => ++seen < 3 };
  t.is(r.run(ctx, go, 100, refuseThird), 3);
  t.is(r.run(ctx, go, 2, { beforeStep: () => {}, afterStep: () => true }), 2);
  t.deepEqual(actionsOf(ctx.log), Array(5).fill('a({"x":[1,2]})'));
  // No enabled transition: -(steps taken) - 1, the runner where it stood.
  ctx.truth = { g3: false };
  const busy = new CompiledRunner(bound);
  busy.state = m.stateIndex.get('busy')!;
  t.is(busy.run(ctx, go, 10, { beforeStep: () => {}, afterStep: () => true }), -1);
  t.is(busy.state, m.stateIndex.get('busy')!);
});
