/**
 * The reference runner: the same machine, the same named implementations and mutations,
 * stepped by xstate's own interpreter (`createActor`). It is ~1000x slower than the
 * compiled runner and exists as the oracle: the equivalence test walks every path
 * `xstate/graph` enumerates through both, and any scenario can run on it (`--runner
 * reference`) to rule out a compiler bug.
 */

import { createActor, type AnyActorRef } from 'xstate';
import type { CompiledMachine, CompiledTransition } from './compile.js';
import type { Mutations } from './mutations.js';
import type { Impl, Runner, RunnerFactory } from './runner.js';

interface Holder<C> {
  ctx: C | null;
  taken: CompiledTransition | null;
}

export class ReferenceRunner<C> implements Runner<C> {
  private readonly holder: Holder<C> = { ctx: null, taken: null };
  private readonly actor: AnyActorRef;

  constructor(readonly machine: CompiledMachine, impl: Impl<C>, mutations: Mutations) {
    const holder = this.holder;
    const guards: Record<string, (args: unknown, params: unknown) => boolean> = {};
    for (const g of machine.guardNames) {
      const forced = mutations.forceGuards.get(`${machine.id}.${g}`);
      const fn = impl.guards[g];
      if (!fn) throw new Error(`machine ${machine.id}: no implementation for guard ${g}`);
      guards[g] = forced !== undefined ? () => forced : (_args, params) => fn(holder.ctx as C, params);
    }
    const actions: Record<string, (args: unknown, params: unknown) => void> = {};
    for (const a of machine.actionNames) {
      const fn = impl.actions[a];
      if (!fn) throw new Error(`machine ${machine.id}: no implementation for action ${a}`);
      actions[a] = mutations.skipActions.has(`${machine.id}.${a}`) ? () => {} : (_args, params) => fn(holder.ctx as C, params);
    }
    const provided = (machine.source as any).provide({ guards, actions });
    this.actor = createActor(provided, {
      inspect: (ev: any) => {
        if (ev.type !== '@xstate.microstep' || ev.actorRef !== this.actor) return;
        const td = ev._transitions?.[0];
        if (!td) return;
        const source = machine.stateIndex.get(td.source.key);
        if (source === undefined) return;
        const list = td.source.transitions.get(td.eventType) as unknown[] | undefined;
        const order = list ? list.indexOf(td) : -1;
        const evIdx = machine.eventIndex.get(td.eventType);
        if (evIdx === undefined) return;
        holder.taken = machine.states[source]!.byEvent[evIdx]!.find((t) => t.order === order) ?? null;
      },
    });
    this.actor.start();
  }

  get state(): number {
    const value = this.actor.getSnapshot().value as string;
    const idx = this.machine.stateIndex.get(value);
    if (idx === undefined) throw new Error(`reference runner: unknown state ${value}`);
    return idx;
  }

  get done(): boolean {
    return this.machine.states[this.state]!.final;
  }

  send(ctx: C, event: number): CompiledTransition | null {
    if (this.done) return null;
    this.holder.ctx = ctx;
    this.holder.taken = null;
    this.actor.send({ type: this.machine.events[event]! });
    const err = (this.actor.getSnapshot() as { error?: unknown }).error;
    if (err !== undefined) throw err;
    return this.holder.taken;
  }
}

export class ReferenceRunnerFactory<C> implements RunnerFactory<C> {
  readonly kind = 'reference' as const;
  private readonly machines: Map<string, CompiledMachine>;

  constructor(machines: readonly CompiledMachine[], private readonly impls: Readonly<Record<string, Impl<C>>>, private readonly mutations: Mutations) {
    this.machines = new Map(machines.map((m) => [m.id, m]));
  }

  create(machineId: string): Runner<C> {
    const m = this.machines.get(machineId);
    const impl = this.impls[machineId];
    if (!m || !impl) throw new Error(`unknown machine ${machineId}`);
    return new ReferenceRunner(m, impl, this.mutations);
  }
}
