/** The kernel's MMU-related KVM selftests as scenarios on the model, with TAP output. */

export { GateScheduler, type Gate, type GateWindow } from './gate.js';
export type { Case, Check, Selftest, SelftestOptions, Subtest } from './harness.js';
export { INTERLEAVINGS, type Interleaving } from './interleaving.js';
export { SELFTESTS, runSuite, selectSelftests, type SelftestRun, type SuiteRun } from './runner.js';
export { tapDocument, tapLine } from './tap.js';
