/**
 * The interleavings pre_fault_memory_test's concurrent slot delete can be run in (their
 * gates are in pre-fault-memory.ts). A module of its own, with no imports, so the command
 * line can list the names without loading the engine.
 */
export const INTERLEAVINGS = ['invalid-slot', 'obsolete-root'] as const;
export type Interleaving = (typeof INTERLEAVINGS)[number];
