/**
 * Test support for the protocol layer: an implementation of any machine whose guards read a
 * truth table from the context and whose actions append `name(JSON params)` to a log, and
 * the xstate/graph path enumeration that drives both runners with every guard assignment.
 */

import type { AnyStateMachine } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { guardNamesOf, type CompiledMachine } from '../../src/protocol/compile.js';
import type { Impl } from '../../src/protocol/runner.js';

export interface TruthCtx {
  truth: Record<string, boolean>;
  log: string[];
}

/** An event of the graph walk: its type and the value every relevant guard takes. */
export interface TruthEvent {
  type: string;
  truth: Record<string, boolean>;
}

/** The action calls of a log (guard evaluations dropped). */
export const actionsOf = (log: readonly string[]): string[] => log.filter((x) => !x.startsWith('?'));

export function newCtx(): TruthCtx {
  return { truth: {}, log: [] };
}

/**
 * Guards read `ctx.truth[name]` (default false) and log `?name(JSON params)` — guards named
 * `try*` have side effects in the model, so the order in which they are evaluated matters too;
 * actions log `name(JSON params)`.
 */
export function truthImpl(m: CompiledMachine): Impl<TruthCtx> {
  const guards: Record<string, (c: TruthCtx, p: unknown) => boolean> = {};
  const actions: Record<string, (c: TruthCtx, p: unknown) => void> = {};
  for (const g of m.guardNames) guards[g] = (c, p) => { c.log.push(`?${g}(${JSON.stringify(p)})`); return c.truth[g] ?? false; };
  for (const a of m.actionNames) actions[a] = (c, p) => { c.log.push(`${a}(${JSON.stringify(p)})`); };
  return { guards, actions };
}

/** The same guards for xstate/graph, driven by the event; actions do nothing. */
export function eventDrivenMachine(m: CompiledMachine): AnyStateMachine {
  const guards: Record<string, (args: { event: TruthEvent }) => boolean> = {};
  const actions: Record<string, () => void> = {};
  for (const g of m.guardNames) guards[g] = ({ event }) => event.truth?.[g] ?? false;
  for (const a of m.actionNames) actions[a] = () => {};
  return (m.source as AnyStateMachine).provide({ guards, actions } as never) as AnyStateMachine;
}

/** Every assignment of true/false to `names` (2^k of them, in binary order). */
export function assignments(names: readonly string[]): Record<string, boolean>[] {
  const out: Record<string, boolean>[] = [];
  for (let bits = 0; bits < 1 << names.length; bits++) {
    const truth: Record<string, boolean> = {};
    names.forEach((n, i) => { truth[n] = (bits & (1 << i)) !== 0; });
    out.push(truth);
  }
  return out;
}

/** For a state: each event leaving it, once per assignment of the guards its transitions name. */
export function eventsOfState(m: CompiledMachine, stateName: string): TruthEvent[] {
  const s = m.states[m.stateIndex.get(stateName)!]!;
  const out: TruthEvent[] = [];
  s.byEvent.forEach((list, e) => {
    if (list.length === 0) return;
    const names = new Set<string>();
    for (const t of list) if (t.guard) guardNamesOf(t.guard, names);
    for (const truth of assignments([...names].sort())) out.push({ type: m.events[e]!, truth });
  });
  return out;
}

export const serializeEvent = (e: TruthEvent): string => `${e.type}${JSON.stringify(e.truth)}`;

export interface TruthPath {
  /** Events to send from the initial state. */
  readonly events: readonly TruthEvent[];
  /** xstate's state name after each event (the graph's own answer). */
  readonly states: readonly string[];
}

/**
 * Shortest paths to every (previous state, event with its guard assignment, state) triple:
 * the serialized state includes how it was entered, so every edge of the graph ends some
 * path and every transition reachable with some assignment is covered.
 */
export function truthPaths(m: CompiledMachine, limit = 200_000): TruthPath[] {
  const logic = eventDrivenMachine(m);
  const paths = getShortestPaths(logic, {
    events: (snap: { value: unknown }) => eventsOfState(m, snap.value as string),
    serializeEvent: (e: { type: string }) => serializeEvent(e as TruthEvent),
    serializeState: (snap: { value: unknown }, e: { type: string } | undefined, prev?: { value: unknown }) =>
      `${prev ? String(prev.value) : ''}|${e ? serializeEvent(e as TruthEvent) : ''}|${String(snap.value)}`,
    limit,
  } as never);
  return paths.map((p) => {
    const steps = p.steps.slice(1);
    return {
      events: steps.map((s) => s.event as unknown as TruthEvent),
      states: steps.map((s) => String((s.state as { value: unknown }).value)),
    };
  });
}
