/**
 * faultline's library API: everything the CLI does, callable from TypeScript.
 *
 *   import { parseScenario, scenarioToRunConfig, runDeterministic, buildMutations, COMPILED } from 'faultline';
 *   const s = parseScenario(text, 'my.json');
 *   const r = runDeterministic(scenarioToRunConfig(s, { scheduler: 'random', seed: 7, mutations: buildMutations(COMPILED, ['page-fault.mmuInvalidateRetryGfn=false'], []) }));
 *   r.violations; r.results; r.trace;
 *
 *   import { startStress, CHURN_DEFAULT_RATES } from 'faultline';
 *   const run = startStress({ stress: { vcpus: 4, memoryBytes: 1 << 30, durationMs: 10_000, accesses: null, workload: 'uniform',
 *     churn: CHURN_DEFAULT_RATES, backingLevel: 1, vmType: 'sw_protected', seed: 1, writeRatio: 0.5 } });
 *   run.events$.subscribe(...);  (await run.result).violations;
 *
 *   import { explore } from 'faultline';   (a race test: an ava macro, or call it for a verdict)
 *   test('my patch keeps the classic race closed', explore, { scenario: 'seq-check', budget: 300 });
 */

export { runDeterministic, type RunConfig, type RunResult, type ScheduledOp, type ActorSummary, type CoverageEntry } from './engine/deterministic.js';
export { parseScenario, scenarioToRunConfig, ScenarioError, type Scenario } from './workload/scenario.js';
export { buildMutations, mutableNames, mutationSpecs, MutationError, NO_MUTATIONS, type Mutations } from './protocol/mutations.js';
export { PATCHES, PatchError, patchByName, withPatches, type Patch } from './protocol/patches.js';
export { COMPILED, compiled } from './protocol/machines.js';
export { compileMachine, type CompiledMachine, type CompiledTransition } from './protocol/compile.js';
export { machinesToMermaid, machineToMermaid, machineToJson } from './report/mermaid.js';
export { buildRunReport, formatRunReport, reportIsClean } from './report/text.js';
export { scanInvariants, checkQuiesced } from './check/invariants.js';
export type { Violation, ViolationKind, SpteRef } from './kvm/findings.js';
export type { Op, OpResult, AccessOp, PreFaultOp, MapMemoryOp, SetMemslotOp, SetMemoryAttributesOp, InvalidateOp, GetDirtyLogOp, ClearDirtyLogOp } from './kvm/ops.js';
export { VM_TYPES, type VmType } from './kvm/vm-types.js';
export { Vm, type VmConfig } from './kvm/vm.js';
export { KERNEL_CHANGES, KERNEL_DEFAULT, KERNEL_RELEASES, kernelProfile, type KernelChange, type KernelProfile, type KernelRelease, type KernelSwitch } from './kvm/kernel-release.js';
export { ALL_MACHINES } from '../machines/index.js';
export { startThreaded, type ThreadedConfig, type ThreadedResult, type ThreadedRun, type StopReason, type StageResult } from './engine/threaded.js';
export { statsOf, addEvent, emptyStats, type StressStats } from './engine/streams.js';
export { EV, type ActorEvent } from './engine/control.js';
export { startStress, stressEngineConfig, type StressRun, type StressResult, type StressRunHandle } from './workload/presets/index.js';
export { CHURN_KINDS, CHURN_DEFAULT_RATES, STRESS_PRESETS, STRESS_WORKLOADS, type StressConfig, type ChurnKind, type StressPreset, type StressWorkload } from './workload/stress.js';
export { buildStressReport, formatStressReport, type StressReport } from './report/stress.js';
export { explore, exploreRace, exploreTest, RaceTestError, type RaceSpec, type RaceVerdict, type ExploreMacro, type AssertionsLike } from './testing/explore.js';
export { mergeRace, mergeBench, summariesOf, MergeError, type MergedRace, type ShardSummary } from './race/merge.js';
export { SELFTESTS, runSuite, selectSelftests, tapDocument, GateScheduler, type Selftest, type Subtest, type SuiteRun, type SelftestRun } from './kselftest/index.js';
export { exportC, modelExpectations, ExportError, type ExportInput, type ExportResult, type Expectations } from './export/export.js';
