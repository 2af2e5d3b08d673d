/**
 * Compiles an xstate v5 machine definition, once, into a dense transition table:
 * state x event -> ordered guarded transitions, each with its target and action list.
 * The compiled table is what the hot path steps; xstate's interpreter stays the
 * reference (see reference-runner.ts and the equivalence test).
 *
 * Supported subset (anything else is rejected at compile time, so a machine cannot
 * silently mean something different to the two runners): flat machines, `on` transitions
 * with string targets (or none), guards named by string / `{ type, params }` / `not()` /
 * `and()` / `or()`, actions named by string or `{ type, params }`, `type: 'final'`, and
 * `meta: { call: '<machine id>' }` on a state that runs a sub-machine to completion.
 */

import type { AnyStateMachine } from 'xstate';

export type GuardExpr =
  | { readonly kind: 'ref'; readonly name: string; readonly params: unknown }
  | { readonly kind: 'not'; readonly arg: GuardExpr }
  | { readonly kind: 'and'; readonly args: readonly GuardExpr[] }
  | { readonly kind: 'or'; readonly args: readonly GuardExpr[] };

export interface ActionRef {
  readonly name: string;
  readonly params: unknown;
}

export interface CompiledTransition {
  /** Index in `CompiledMachine.transitions` (coverage counters are indexed by it). */
  readonly id: number;
  readonly source: number;
  readonly event: string;
  /** Position among the source state's transitions for this event (matches xstate's order). */
  readonly order: number;
  readonly guard: GuardExpr | null;
  /** Target state index; equals `source` for a targetless transition. */
  readonly target: number;
  readonly actions: readonly ActionRef[];
  /** `source → target [guard]`, for traces and coverage reports. */
  readonly label: string;
}

export interface CompiledState {
  readonly index: number;
  readonly name: string;
  readonly final: boolean;
  /** Id of the sub-machine this state runs to completion, or null. */
  readonly call: string | null;
  /** Transitions per event index (see `CompiledMachine.events`); empty when none. */
  readonly byEvent: readonly (readonly CompiledTransition[])[];
}

export interface CompiledMachine {
  readonly id: string;
  readonly initial: number;
  readonly states: readonly CompiledState[];
  readonly stateIndex: ReadonlyMap<string, number>;
  readonly events: readonly string[];
  readonly eventIndex: ReadonlyMap<string, number>;
  readonly transitions: readonly CompiledTransition[];
  /** Every guard and action name the machine references, sorted. */
  readonly guardNames: readonly string[];
  readonly actionNames: readonly string[];
  /** The xstate machine it came from (the reference runner interprets it). */
  readonly source: AnyStateMachine;
}

type RawGuard = unknown;

function compileGuard(raw: RawGuard, where: string): GuardExpr {
  if (typeof raw === 'string') return { kind: 'ref', name: raw, params: undefined };
  if (typeof raw === 'function') {
    const fn = raw as { name?: string; guards?: unknown[] };
    const args = Array.isArray(fn.guards) ? fn.guards.map((g) => compileGuard(g, where)) : null;
    if (args !== null && fn.name === 'not' && args.length === 1) return { kind: 'not', arg: args[0]! };
    if (args !== null && fn.name === 'and') return { kind: 'and', args };
    if (args !== null && fn.name === 'or') return { kind: 'or', args };
    throw new Error(`${where}: inline guard functions are not allowed; name the guard`);
  }
  if (raw !== null && typeof raw === 'object' && typeof (raw as { type?: unknown }).type === 'string') {
    const g = raw as { type: string; params?: unknown };
    return { kind: 'ref', name: g.type, params: g.params };
  }
  throw new Error(`${where}: unsupported guard ${JSON.stringify(raw)}`);
}

function compileActions(raw: unknown, where: string): ActionRef[] {
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((a) => {
    if (typeof a === 'string') return { name: a, params: undefined };
    if (a !== null && typeof a === 'object' && typeof (a as { type?: unknown }).type === 'string') {
      const o = a as { type: string; params?: unknown };
      if (typeof o.params === 'function') throw new Error(`${where}: dynamic action params are not allowed`);
      return { name: o.type, params: o.params };
    }
    throw new Error(`${where}: actions must be named (got ${typeof a})`);
  });
}

export function guardNamesOf(expr: GuardExpr, out: Set<string>): void {
  switch (expr.kind) {
    case 'ref': out.add(expr.name); return;
    case 'not': guardNamesOf(expr.arg, out); return;
    case 'and':
    case 'or': for (const a of expr.args) guardNamesOf(a, out); return;
  }
}

export function guardToString(expr: GuardExpr): string {
  switch (expr.kind) {
    case 'ref': return expr.name;
    case 'not': return `!${guardToString(expr.arg)}`;
    case 'and': return expr.args.map(guardToString).join(' && ');
    case 'or': return `(${expr.args.map(guardToString).join(' || ')})`;
  }
}

interface RawState {
  type?: string;
  on?: Record<string, unknown>;
  meta?: { call?: unknown };
  states?: unknown;
  entry?: unknown;
  exit?: unknown;
  always?: unknown;
  after?: unknown;
  invoke?: unknown;
}

/** compileMachine(): the transition table of one machine (throws on unsupported shapes). */
export function compileMachine(machine: AnyStateMachine): CompiledMachine {
  const config = machine.config as { id?: string; initial?: string; states?: Record<string, RawState> } & Record<string, unknown>;
  const id = config.id;
  if (typeof id !== 'string') throw new Error('machine needs an id');
  for (const k of ['on', 'entry', 'exit', 'always', 'after', 'invoke', 'type'] as const) {
    if (config[k] !== undefined) throw new Error(`${id}: machine-level '${k}' is not supported by the compiler`);
  }
  const rawStates = config.states ?? {};
  const names = Object.keys(rawStates);
  const stateIndex = new Map(names.map((n, i) => [n, i]));
  const initial = stateIndex.get(config.initial ?? '');
  if (initial === undefined) throw new Error(`${id}: initial state '${config.initial}' is not a state`);
  const events: string[] = [];
  const eventIndex = new Map<string, number>();
  for (const n of names) {
    for (const ev of Object.keys(rawStates[n]!.on ?? {})) {
      if (!eventIndex.has(ev)) { eventIndex.set(ev, events.length); events.push(ev); }
    }
  }
  const transitions: CompiledTransition[] = [];
  const guardNames = new Set<string>();
  const actionNames = new Set<string>();
  const states: CompiledState[] = names.map((name, index) => {
    const raw = rawStates[name]!;
    const where = `${id}.${name}`;
    for (const k of ['states', 'entry', 'exit', 'always', 'after', 'invoke'] as const) {
      if (raw[k] !== undefined) throw new Error(`${where}: '${k}' is not supported by the compiler`);
    }
    if (raw.type !== undefined && raw.type !== 'final' && raw.type !== 'atomic') throw new Error(`${where}: state type '${raw.type}' is not supported by the compiler`);
    for (const ev of Object.keys(raw.on ?? {})) {
      if (ev.includes('*')) throw new Error(`${where}: wildcard event '${ev}' is not supported by the compiler`);
    }
    const byEvent: CompiledTransition[][] = events.map(() => []);
    for (const [ev, rawList] of Object.entries(raw.on ?? {})) {
      const list = Array.isArray(rawList) ? rawList : [rawList];
      list.forEach((rt: unknown, order) => {
        const t = (typeof rt === 'string' ? { target: rt } : rt) as { target?: unknown; guard?: unknown; actions?: unknown };
        if (t.target !== undefined && typeof t.target !== 'string') throw new Error(`${where}.${ev}: target must be a state name`);
        const targetName = t.target as string | undefined;
        const target = targetName === undefined ? index : stateIndex.get(targetName);
        if (target === undefined) throw new Error(`${where}.${ev}: unknown target '${targetName}'`);
        const guard = t.guard === undefined ? null : compileGuard(t.guard, `${where}.${ev}`);
        if (guard) guardNamesOf(guard, guardNames);
        const actions = compileActions(t.actions, `${where}.${ev}`);
        for (const a of actions) actionNames.add(a.name);
        const label = `${name} → ${names[target]}${guard ? ` [${guardToString(guard)}]` : ''}`;
        const ct: CompiledTransition = { id: transitions.length, source: index, event: ev, order, guard, target, actions, label };
        transitions.push(ct);
        byEvent[eventIndex.get(ev)!]!.push(ct);
      });
    }
    const call = raw.meta?.call;
    if (call !== undefined && typeof call !== 'string') throw new Error(`${where}: meta.call must be a machine id`);
    return { index, name, final: raw.type === 'final', call: call ?? null, byEvent };
  });
  return {
    id, initial, states, stateIndex, events, eventIndex, transitions,
    guardNames: [...guardNames].sort(), actionNames: [...actionNames].sort(), source: machine,
  };
}
