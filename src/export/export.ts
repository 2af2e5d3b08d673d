/**
 * `race export --c`: a scenario (and, from a token, what its replay showed) as one
 * standalone C file that reproduces it on a real /dev/kvm and judges each result against
 * what the model allows. The parts: plan.ts lays the scenario out, expectations.ts asks
 * the model, c-*.ts emit the C.
 */

import type { KernelRelease } from '../kvm/kernel-release.js';
import type { Scenario } from '../workload/scenario.js';
import { cGuestCode, cGuestRun, cVcpuOps, cVcpuSetup } from './c-guest.js';
import { headerLines, type EntryFacts, type TokenFacts } from './c-header.js';
import { cCalls, cHostMemory, cNames, cReport, cTypes } from './c-runtime.js';
import { actorsOf, cActorTables, cConfig, cMemory } from './c-tables.js';
import { cComment } from './c-text.js';
import { cPrologue } from './c-uapi.js';
import { cHostOps, cSetRegion, cVmmOps } from './c-vmm.js';
import { cActors, cCheckHost, cClock, cOutcomes, cMain, cRunWindow, cWatchdog, cWindowSetup } from './c-window.js';
import { modelExpectations, type Expectations } from './expectations.js';
import { planOf } from './plan.js';

export { ExportError } from './plan.js';
export { modelExpectations, type Expectations } from './expectations.js';
export type { EntryFacts, TokenFacts } from './c-header.js';

export interface ExportInput {
  /** The scenario as it runs (a token's dropped ops already removed). */
  readonly scenario: Scenario;
  /** `catalogue:NAME` or `file:PATH`. */
  readonly target: string;
  readonly kernel: KernelRelease;
  readonly token: TokenFacts | null;
  /** The catalogue entry the scenario is, if it is one. */
  readonly entry?: EntryFacts;
  /** Random interleavings the model runs for the allowed outcomes (besides the sequential one). */
  readonly runs?: number;
}

export interface ExportResult {
  readonly c: string;
  readonly expectations: Expectations;
}

/** The C file of a scenario. Throws ExportError for a scenario no real host can run. */
export function exportC(input: ExportInput): ExportResult {
  const s = input.scenario;
  const expectations = modelExpectations(s, input.kernel, input.runs);
  const plan = planOf(s, expectations.allowed);
  const actors = actorsOf(plan);
  const header = headerLines({ plan, ...(input.entry !== undefined ? { entry: input.entry } : {}), description: s.description, target: input.target, kernel: input.kernel, token: input.token, runs: expectations.runs, clean: expectations.clean, violations: expectations.violations });
  const c = [
    cComment(header), '', cPrologue(), '', cConfig(plan, actors), '', cTypes(), '', cMemory(plan), '', cActorTables(plan, actors), '',
    cReport(), '', cNames(), '', cCalls(), '', cHostMemory(), '', cGuestCode(plan.codeGpa), '', cVcpuSetup(), '', cGuestRun(), '', cVcpuOps(), '',
    cSetRegion(), '', cVmmOps(), '', cHostOps(), '', cClock(), '', cOutcomes(), '', cActors(), '', cWindowSetup(), '', cWatchdog(), '', cRunWindow(), '', cCheckHost(), '', cMain(), '',
  ].join('\n');
  return { c, expectations };
}
