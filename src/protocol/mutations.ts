/**
 * Mutations: force a named guard to a constant or skip a named action, to ask "what if
 * KVM skipped this check". Names are `machine.name`, as in `--mutate page-fault.isStale=false`
 * and `--skip invalidation.kvmFlushRemoteTlbs`. An unknown name is an error listing the
 * valid ones.
 */

import type { CompiledMachine } from './compile.js';

export interface Mutations {
  /** `machine.guard` → forced value. */
  readonly forceGuards: ReadonlyMap<string, boolean>;
  /** `machine.action` names that are not run. */
  readonly skipActions: ReadonlySet<string>;
}

export const NO_MUTATIONS: Mutations = { forceGuards: new Map(), skipActions: new Set() };

export class MutationError extends Error {}

/** Parses `MACHINE.GUARD=true|false`. */
export function parseMutateSpec(spec: string): [string, boolean] {
  const m = /^([a-z][a-z0-9-]*)\.([A-Za-z_][A-Za-z0-9_]*)=(true|false)$/.exec(spec.trim());
  if (!m) throw new MutationError(`--mutate expects MACHINE.GUARD=true|false, got '${spec}'`);
  return [`${m[1]}.${m[2]}`, m[3] === 'true'];
}

/** Parses `MACHINE.ACTION`. */
export function parseSkipSpec(spec: string): string {
  const m = /^([a-z][a-z0-9-]*)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(spec.trim());
  if (!m) throw new MutationError(`--skip expects MACHINE.ACTION, got '${spec}'`);
  return `${m[1]}.${m[2]}`;
}

/** Every `machine.guard` and `machine.action` name of a set of machines. */
export function mutableNames(machines: readonly CompiledMachine[]): { guards: string[]; actions: string[] } {
  const guards: string[] = [];
  const actions: string[] = [];
  for (const m of machines) {
    for (const g of m.guardNames) guards.push(`${m.id}.${g}`);
    for (const a of m.actionNames) actions.push(`${m.id}.${a}`);
  }
  return { guards: guards.sort(), actions: actions.sort() };
}

/**
 * buildMutations(): validates the specs against the machines and returns the mutation set.
 * Throws MutationError naming the bad spec and listing the valid names of that machine
 * (or the machines, when the machine itself is unknown).
 */
export function buildMutations(machines: readonly CompiledMachine[], mutate: readonly string[], skip: readonly string[]): Mutations {
  const byId = new Map(machines.map((m) => [m.id, m]));
  const forceGuards = new Map<string, boolean>();
  const skipActions = new Set<string>();
  const resolve = (full: string, kind: 'guard' | 'action'): void => {
    const dot = full.indexOf('.');
    const machineId = full.slice(0, dot);
    const name = full.slice(dot + 1);
    const m = byId.get(machineId);
    if (!m) throw new MutationError(`unknown machine '${machineId}' in '${full}'; machines: ${[...byId.keys()].sort().join(', ')}`);
    const valid = kind === 'guard' ? m.guardNames : m.actionNames;
    if (!valid.includes(name)) {
      throw new MutationError(`unknown ${kind} '${name}' of machine '${machineId}'; valid ${kind}s: ${valid.join(', ')}`);
    }
  };
  for (const spec of mutate) {
    const [full, value] = parseMutateSpec(spec);
    resolve(full, 'guard');
    forceGuards.set(full, value);
  }
  for (const spec of skip) {
    const full = parseSkipSpec(spec);
    resolve(full, 'action');
    skipActions.add(full);
  }
  return { forceGuards, skipActions };
}

/** The mutation set as CLI-style specs (for tokens and reports). */
export function mutationSpecs(m: Mutations): { mutate: string[]; skip: string[] } {
  return {
    mutate: [...m.forceGuards].map(([k, v]) => `${k}=${v}`).sort(),
    skip: [...m.skipActions].sort(),
  };
}
