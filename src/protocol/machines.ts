/** The compiled form of every machine, built once at module load. */

import { ALL_MACHINES } from '../../machines/index.js';
import { compileMachine, type CompiledMachine } from './compile.js';

export const COMPILED: readonly CompiledMachine[] = ALL_MACHINES.map((m) => compileMachine(m));
export const COMPILED_BY_ID: ReadonlyMap<string, CompiledMachine> = new Map(COMPILED.map((m) => [m.id, m]));

export function compiled(id: string): CompiledMachine {
  const m = COMPILED_BY_ID.get(id);
  if (!m) throw new Error(`unknown machine ${id}`);
  return m;
}
