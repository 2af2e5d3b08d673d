/**
 * The runner interface and the compiled runner. A runner holds one machine instance's
 * current state and fires one event at a time: the first transition (in declaration
 * order) whose guard holds runs its actions and moves to its target. That is one step.
 *
 * Guards and actions are bound by name to implementations supplied by src/ (the data
 * plane: walk, CAS, pfn lookup); the machine files name them and nothing more.
 */

import type { CompiledMachine, CompiledTransition, GuardExpr } from './compile.js';
import type { Mutations } from './mutations.js';

/** Implementations of a machine's named guards and actions over an actor context. */
export interface Impl<C> {
  readonly guards: Readonly<Record<string, (ctx: C, params: any) => boolean>>;
  readonly actions: Readonly<Record<string, (ctx: C, params: any) => void>>;
}

export interface Runner<C> {
  readonly machine: CompiledMachine;
  /** Current state index. */
  readonly state: number;
  /** True in a final state. */
  readonly done: boolean;
  /** Fires `event` (index into machine.events); returns the transition taken, or null when none is enabled. */
  send(ctx: C, event: number): CompiledTransition | null;
  /** Back to the initial state, for reuse by the next run of the machine (absent: a runner cannot be rewound). */
  reset?(): void;
}

export type RunnerKind = 'compiled' | 'reference';

/** Creates runners for machine ids; one factory per engine run (binds once, creates many). */
export interface RunnerFactory<C> {
  readonly kind: RunnerKind;
  create(machineId: string): Runner<C>;
}

type GuardFn<C> = (ctx: C) => boolean;
type ActionFn<C> = (ctx: C) => void;

interface BoundTransition<C> {
  readonly t: CompiledTransition;
  readonly guard: GuardFn<C> | null;
  readonly actions: readonly ActionFn<C>[];
}

/** A machine with its names bound to functions and its mutations applied. */
/** The generated step function: fires `event` on `runner` (reads and sets `runner.state`). */
type StepFn<C> = (runner: { state: number }, ctx: C, event: number) => CompiledTransition | null;

export class BoundMachine<C> {
  /** [state][event] → transitions in order (for introspection; the hot path runs `step`). */
  readonly table: readonly (readonly (readonly BoundTransition<C>[])[])[];
  /**
   * The machine compiled to one JavaScript function: a switch over (state, event) whose
   * cases test the guards in declaration order and call the actions, each call site
   * bound to one implementation — monomorphic, so the JIT can inline the data plane into
   * it. Forced guards become constants and skipped actions disappear.
   */
  readonly step: StepFn<C>;
  /** 1 for a final state, by state index (the runner's `done` without object lookups). */
  readonly final: Uint8Array;

  constructor(readonly machine: CompiledMachine, impl: Impl<C>, mutations: Mutations) {
    const missing = [
      ...machine.guardNames.filter((g) => typeof impl.guards[g] !== 'function').map((g) => `guard ${g}`),
      ...machine.actionNames.filter((a) => typeof impl.actions[a] !== 'function').map((a) => `action ${a}`),
    ];
    if (missing.length > 0) throw new Error(`machine ${machine.id}: no implementation for ${missing.join(', ')}`);
    const bindGuard = (g: GuardExpr): GuardFn<C> => {
      switch (g.kind) {
        case 'ref': {
          const forced = mutations.forceGuards.get(`${machine.id}.${g.name}`);
          if (forced !== undefined) return () => forced;
          const fn = impl.guards[g.name]!;
          const params = g.params;
          // No params: call the implementation directly (one call less on the hot path).
          return params === undefined ? (fn as GuardFn<C>) : (ctx) => fn(ctx, params);
        }
        case 'not': { const a = bindGuard(g.arg); return (ctx) => !a(ctx); }
        case 'and': {
          const as = g.args.map(bindGuard);
          if (as.length === 2) { const [x, y] = as as [GuardFn<C>, GuardFn<C>]; return (ctx) => x(ctx) && y(ctx); }
          return (ctx) => { for (let i = 0; i < as.length; i++) if (!as[i]!(ctx)) return false; return true; };
        }
        case 'or': {
          const as = g.args.map(bindGuard);
          return (ctx) => { for (let i = 0; i < as.length; i++) if (as[i]!(ctx)) return true; return false; };
        }
      }
    };
    this.step = cachedStep(machine, impl, mutations);
    this.final = Uint8Array.from(machine.states, (s) => (s.final ? 1 : 0));
    this.table = machine.states.map((s) => s.byEvent.map((list) => list.map((t) => ({
      t,
      guard: t.guard ? bindGuard(t.guard) : null,
      actions: t.actions
        .filter((a) => !mutations.skipActions.has(`${machine.id}.${a.name}`))
        .map((a) => { const fn = impl.actions[a.name]!; const p = a.params; return p === undefined ? (fn as ActionFn<C>) : (ctx: C) => fn(ctx, p); }),
    }))));
  }
}

/** The compiled runner: a table lookup and a loop over at most a handful of guards. */
export class CompiledRunner<C> implements Runner<C> {
  state: number;

  constructor(readonly bound: BoundMachine<C>) {
    this.state = bound.machine.initial;
  }

  get machine(): CompiledMachine {
    return this.bound.machine;
  }

  get done(): boolean {
    return this.bound.final[this.state] === 1;
  }

  send(ctx: C, event: number): CompiledTransition | null {
    return this.bound.step(this, ctx, event);
  }

  reset(): void {
    this.state = this.bound.machine.initial;
  }
}

/**
 * Generated step functions by machine, implementation table and the mutations that touch
 * the machine. A function made by `new Function` starts cold — no type feedback, no
 * optimized code — so every new factory (each deterministic run of an exploration, a
 * worker's warm-up and then its timed run) generating its own would run the hot path in
 * V8's lower tiers again and queue it for the optimizing compiler again. The same inputs
 * generate the same code, so one function serves them all.
 */
const STEP_CACHE = new WeakMap<CompiledMachine, WeakMap<object, Map<string, StepFn<unknown>>>>();

function cachedStep<C>(machine: CompiledMachine, impl: Impl<C>, mutations: Mutations): StepFn<C> {
  let byImpl = STEP_CACHE.get(machine);
  if (byImpl === undefined) { byImpl = new WeakMap(); STEP_CACHE.set(machine, byImpl); }
  let byMutations = byImpl.get(impl);
  if (byMutations === undefined) { byMutations = new Map(); byImpl.set(impl, byMutations); }
  const prefix = `${machine.id}.`;
  const key = [
    ...[...mutations.forceGuards].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => `${k}=${v}`).sort(),
    '|',
    ...[...mutations.skipActions].filter((k) => k.startsWith(prefix)).sort(),
  ].join(',');
  let step = byMutations.get(key) as StepFn<C> | undefined;
  if (step === undefined) {
    step = generateStep(machine, impl, mutations);
    byMutations.set(key, step as StepFn<unknown>);
  }
  return step;
}

/**
 * generateStep(): the source of one function for the whole machine. Guard and action
 * implementations and their params are passed in arrays (G/GP, A/AP) and referenced by
 * index from distinct call sites; transitions are returned from T.
 */
function generateStep<C>(machine: CompiledMachine, impl: Impl<C>, mutations: Mutations): StepFn<C> {
  const G: ((ctx: C, params: unknown) => boolean)[] = [];
  const GP: unknown[] = [];
  const A: ((ctx: C, params: unknown) => void)[] = [];
  const AP: unknown[] = [];
  const guardCode = (g: GuardExpr): string => {
    switch (g.kind) {
      case 'ref': {
        const forced = mutations.forceGuards.get(`${machine.id}.${g.name}`);
        if (forced !== undefined) return forced ? 'true' : 'false';
        G.push(impl.guards[g.name]!);
        GP.push(g.params);
        return `G[${G.length - 1}](ctx, GP[${GP.length - 1}])`;
      }
      case 'not': return `!(${guardCode(g.arg)})`;
      case 'and': return `(${g.args.map(guardCode).join(' && ')})`;
      case 'or': return `(${g.args.map(guardCode).join(' || ')})`;
    }
  };
  const nEvents = Math.max(1, machine.events.length);
  const lines: string[] = [`switch (runner.state * ${nEvents} + event) {`];
  for (const s of machine.states) {
    s.byEvent.forEach((list, e) => {
      if (list.length === 0) return;
      lines.push(`case ${s.index * nEvents + e}:`);
      for (const t of list) {
        const acts = t.actions
          .filter((a) => !mutations.skipActions.has(`${machine.id}.${a.name}`))
          .map((a) => { A.push(impl.actions[a.name]!); AP.push(a.params); return `A[${A.length - 1}](ctx, AP[${AP.length - 1}]);`; })
          .join(' ');
        const body = `{ ${acts} runner.state = ${t.target}; return T[${t.id}]; }`;
        lines.push(t.guard === null ? body : `if (${guardCode(t.guard)}) ${body}`);
      }
      lines.push('return null;');
    });
  }
  lines.push('default: return null;', '}');
  const factory = new Function('G', 'GP', 'A', 'AP', 'T', `return function step_${machine.id.replace(/[^A-Za-z0-9]/g, '_')}(runner, ctx, event) {\n${lines.join('\n')}\n};`);
  return factory(G, GP, A, AP, machine.transitions) as StepFn<C>;
}

/** A factory of compiled runners over a set of machines sharing one implementation table. */
export class CompiledRunnerFactory<C> implements RunnerFactory<C> {
  readonly kind = 'compiled' as const;
  private readonly bound = new Map<string, BoundMachine<C>>();

  constructor(machines: readonly CompiledMachine[], impls: Readonly<Record<string, Impl<C>>>, mutations: Mutations) {
    for (const m of machines) {
      const impl = impls[m.id];
      if (!impl) throw new Error(`no implementation table for machine ${m.id}`);
      this.bound.set(m.id, new BoundMachine(m, impl, mutations));
    }
  }

  create(machineId: string): Runner<C> {
    const b = this.bound.get(machineId);
    if (!b) throw new Error(`unknown machine ${machineId}`);
    return new CompiledRunner(b);
  }
}
