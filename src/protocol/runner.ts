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
  /**
   * Run to completion (absent: fire one `send` at a time): fires `event` step after step,
   * each exactly as `send` fires it, calling `hooks.beforeStep` before each and
   * `hooks.afterStep` after each; stops when `afterStep` says so or after `budget` steps.
   * Returns the steps taken, or -(steps taken) - 1 when a step found no enabled transition.
   */
  run?(ctx: C, event: number, budget: number, hooks: StepHooks): number;
}

/** What a run to completion does around each step: the engine's per-step bookkeeping. */
export interface StepHooks {
  /** Before a step from state `state`. */
  beforeStep(state: number): void;
  /** After a step that fired `t` (the runner is now in `t.target`): true to take another. */
  afterStep(t: CompiledTransition): boolean;
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

/** The generated step function: fires `event` on `runner` (reads and sets `runner.state`). */
type StepFn<C> = (runner: { state: number }, ctx: C, event: number) => CompiledTransition | null;
/** The generated run-to-completion function (Runner.run over `runner`). */
type RunFn<C> = (runner: { state: number }, ctx: C, event: number, budget: number, hooks: StepHooks) => number;
/** Both generated functions of one machine: they share their case bodies. */
interface Generated<C> {
  readonly step: StepFn<C>;
  readonly run: RunFn<C>;
}

/** A machine with its names bound to functions and its mutations applied. */
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
  /** The same cases in a loop: one call per run of plain steps, not one per transition. */
  readonly run: RunFn<C>;
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
    const generated = cachedGenerated(machine, impl, mutations);
    this.step = generated.step;
    this.run = generated.run;
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

  run(ctx: C, event: number, budget: number, hooks: StepHooks): number {
    return this.bound.run(this, ctx, event, budget, hooks);
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
const STEP_CACHE = new WeakMap<CompiledMachine, WeakMap<object, Map<string, Generated<unknown>>>>();

function cachedGenerated<C>(machine: CompiledMachine, impl: Impl<C>, mutations: Mutations): Generated<C> {
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
  let generated = byMutations.get(key) as Generated<C> | undefined;
  if (generated === undefined) {
    generated = generate(machine, impl, mutations);
    byMutations.set(key, generated as Generated<unknown>);
  }
  return generated;
}

/**
 * generate(): the source of the machine's two functions. Guard and action implementations
 * and their params are passed in arrays (G/GP, A/AP), bound to one const each, and called
 * from distinct call sites (no params argument when a reference has none); transitions are
 * returned from T. Each state with transitions is a function of its own (`machine__state`: a switch over
 * the events, the guards tested in declaration order, the actions of the first that holds,
 * the new state, the transition returned; null when none holds): small enough that the
 * optimizing compiler inlines the guards and actions into it, which it stops doing in one
 * function holding every state. `step` calls the current state's function; `run` does the
 * same step after step, with the hooks' bookkeeping between steps.
 */
function generate<C>(machine: CompiledMachine, impl: Impl<C>, mutations: Mutations): Generated<C> {
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
        const i = G.length - 1;
        return g.params === undefined ? `g${i}(ctx)` : `g${i}(ctx, gp${i})`;
      }
      case 'not': return `!(${guardCode(g.arg)})`;
      case 'and': return `(${g.args.map(guardCode).join(' && ')})`;
      case 'or': return `(${g.args.map(guardCode).join(' || ')})`;
    }
  };
  const actionCode = (t: CompiledTransition): string => t.actions
    .filter((a) => !mutations.skipActions.has(`${machine.id}.${a.name}`))
    .map((a) => { A.push(impl.actions[a.name]!); AP.push(a.params); const i = A.length - 1; return a.params === undefined ? `a${i}(ctx);` : `a${i}(ctx, ap${i});`; })
    .join(' ');
  // One function per state that has transitions: its events' cases, each returning the transition fired.
  const name = machine.id.replace(/[^A-Za-z0-9]/g, '_');
  const stateFns: string[] = [];
  const dispatch: string[] = [];
  for (const st of machine.states) {
    const fn = `${name}__${st.name.replace(/[^A-Za-z0-9]/g, '_')}`;
    const lines: string[] = [];
    st.byEvent.forEach((list, e) => {
      if (list.length === 0) return;
      lines.push(`case ${e}:`);
      for (const t of list) {
        const body = `{ ${actionCode(t)} runner.state = ${t.target}; return T[${t.id}]; }`;
        lines.push(t.guard === null ? body : `if (${guardCode(t.guard)}) ${body}`);
      }
      lines.push('return null;');
    });
    if (lines.length === 0) continue;
    stateFns.push(`function ${fn}(runner, ctx, event) {\nswitch (event) {\n${lines.join('\n')}\n}\nreturn null;\n}`);
    dispatch.push(`case ${st.index}: t = ${fn}(runner, ctx, event); break;`);
  }
  const stepSrc = ['let t = null;', 'switch (runner.state) {', ...dispatch, '}', 'return t;'];
  const runSrc = [
    'let n = 0;',
    'for (;;) {',
    'const s = runner.state;',
    'hooks.beforeStep(s);',
    'let t = null;',
    'switch (s) {', ...dispatch, '}',
    'if (t === null) return -n - 1;',
    'n++;',
    'if (!hooks.afterStep(t) || n >= budget) return n;',
    '}',
  ];
  // Each implementation and its params in a const of the factory's closure (gN/gpN, aN/apN):
  // a call site whose target is a constant, not an array element loaded per call.
  const prelude = [
    ...G.map((_, i) => `const g${i} = G[${i}], gp${i} = GP[${i}];`),
    ...A.map((_, i) => `const a${i} = A[${i}], ap${i} = AP[${i}];`),
  ];
  const factory = new Function('G', 'GP', 'A', 'AP', 'T', `${prelude.join('\n')}\n${stateFns.join('\n')}\nreturn [function step_${name}(runner, ctx, event) {\n${stepSrc.join('\n')}\n}, function run_${name}(runner, ctx, event, budget, hooks) {\n${runSrc.join('\n')}\n}];`);
  const [step, run] = factory(G, GP, A, AP, machine.transitions) as [StepFn<C>, RunFn<C>];
  return { step, run };
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
