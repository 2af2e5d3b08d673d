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
export class BoundMachine<C> {
  /** [state][event] → transitions in order. */
  readonly table: readonly (readonly (readonly BoundTransition<C>[])[])[];

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
          return (ctx) => fn(ctx, params);
        }
        case 'not': { const a = bindGuard(g.arg); return (ctx) => !a(ctx); }
        case 'and': { const as = g.args.map(bindGuard); return (ctx) => as.every((f) => f(ctx)); }
        case 'or': { const as = g.args.map(bindGuard); return (ctx) => as.some((f) => f(ctx)); }
      }
    };
    this.table = machine.states.map((s) => s.byEvent.map((list) => list.map((t) => ({
      t,
      guard: t.guard ? bindGuard(t.guard) : null,
      actions: t.actions
        .filter((a) => !mutations.skipActions.has(`${machine.id}.${a.name}`))
        .map((a) => { const fn = impl.actions[a.name]!; const p = a.params; return (ctx: C) => fn(ctx, p); }),
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
    return this.bound.machine.states[this.state]!.final;
  }

  send(ctx: C, event: number): CompiledTransition | null {
    const list = this.bound.table[this.state]![event];
    if (list === undefined) return null;
    for (let i = 0; i < list.length; i++) {
      const bt = list[i]!;
      if (bt.guard === null || bt.guard(ctx)) {
        const acts = bt.actions;
        for (let j = 0; j < acts.length; j++) acts[j]!(ctx);
        this.state = bt.t.target;
        return bt.t;
      }
    }
    return null;
  }
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
