/**
 * The catalogue of real KVM MMU races (reference §6) and the classic seq-check race. Each
 * entry is a scenario file under scenarios/races/ whose `race` field says the rest: the
 * mutation that puts the bug back, the kernel commit that fixed it, the violation class it
 * must produce, and the schedule budget within which `faultline race explore` finds it
 * (and far beyond which the unmutated scenario stays clean — tests pin both).
 */

import { readFileSync } from 'node:fs';
import type { ViolationKind } from '../kvm/findings.js';
import { kernelChangeOfCommit, kernelProfile, type KernelRelease } from '../kvm/kernel-release.js';
import { ScenarioError } from './scenario-error.js';
import { SHIPPED_SCENARIO_DIR, shippedScenarioFiles } from './scenario-files.js';
import { parseScenarioFile } from './scenario-parse.js';

export interface CatalogueEntry {
  readonly name: string;
  /** Reference §6 id (R1…R17), or `classic`. */
  readonly ref: string;
  /** The fixing commit's title and hash, as the kernel log has them. */
  readonly commit: { readonly title: string; readonly hash: string };
  /** What goes wrong, in kernel terms. */
  readonly summary: string;
  /** The scenario, in the scenario-file format (the file without `$schema` and `race`: what a token's hash covers). */
  readonly scenario: Record<string, unknown>;
  readonly mutate: readonly string[];
  readonly skip: readonly string[];
  /**
   * For a race fixed within the modelled releases: the release before the fix, which the
   * entry runs on with no mutation (its control runs on the release with the fix).
   */
  readonly kernel?: KernelRelease;
  /** The violation class the bug shows as. */
  readonly violation: ViolationKind;
  /** Explore with this scheduler (and PCT depth) … */
  readonly scheduler: 'random' | 'pct';
  readonly depth?: number;
  /** … and it is found within this many schedules. */
  readonly budget: number;
  /** The found violation's message must match this (tells the bug from a look-alike). */
  readonly signature?: string;
  /**
   * A finding the unmutated scenario can still show, and why — the control must then show
   * only that one (matched on its message), never the entry's own signature.
   */
  readonly controlMayShow?: { readonly message: string; readonly why: string };
  /** The entry's file, relative to the package's scenarios/ folder (`races/seq-check.json`). */
  readonly file: string;
}

/** The catalogue's folder inside scenarios/. */
export const RACES_FOLDER = 'races/';

/** One entry from its file; a file that is not a valid race scenario throws ScenarioError. */
export function loadCatalogueEntry(file: string, dir: string = SHIPPED_SCENARIO_DIR): CatalogueEntry {
  const display = `scenarios/${file}`;
  const parsed = parseScenarioFile(readFileSync(`${dir}${file}`, 'utf8'), display);
  const race = parsed.file.race;
  if (race === undefined) throw new ScenarioError(display, 'race', 'missing (a catalogue entry says which race it reproduces)');
  const { $schema: _schema, race: _race, ...scenario } = parsed.doc as Record<string, unknown>;
  return {
    name: parsed.scenario.name, ref: race.ref, commit: race.commit, summary: race.summary, scenario,
    mutate: race.mutate, skip: race.skip, violation: race.violation, scheduler: race.scheduler, budget: race.budget,
    ...(race.depth !== undefined ? { depth: race.depth } : {}),
    ...(race.kernel !== undefined ? { kernel: checkedKernel(display, race.kernel, race.commit.hash) } : {}),
    ...(race.signature !== undefined ? { signature: race.signature } : {}),
    ...(race.control_may_show !== undefined ? { controlMayShow: race.control_may_show } : {}),
    file,
  };
}

/** A race's `kernel` must be a release without its fix: the fix's row in the kernel table says which. */
function checkedKernel(display: string, kernel: KernelRelease, hash: string): KernelRelease {
  const row = kernelChangeOfCommit(hash);
  if (row === undefined) throw new ScenarioError(display, 'race.kernel', `the fix ${hash} is not a row of the kernel table: only a race fixed within the modelled releases runs on the release before its fix`);
  if (kernelProfile(kernel).switches[row.switch]) {
    throw new ScenarioError(display, 'race.kernel', `${kernel} has the fix (${hash}, from ${row.since}): the race runs on a release before it`);
  }
  return kernel;
}

/** Reference order: R1, R2, … R17, then the classic race. */
const refOrder = (ref: string): number => (ref === 'classic' ? Number.MAX_SAFE_INTEGER : Number(ref.slice(1)));

/** Every race file under `dir`'s races/ folder, in reference order. */
export function loadCatalogue(dir: string = SHIPPED_SCENARIO_DIR): CatalogueEntry[] {
  return shippedScenarioFiles(dir)
    .filter((f) => f.startsWith(RACES_FOLDER))
    .map((f) => loadCatalogueEntry(f, dir))
    .sort((a, b) => refOrder(a.ref) - refOrder(b.ref) || a.name.localeCompare(b.name));
}

export const CATALOGUE: readonly CatalogueEntry[] = loadCatalogue();

/** The entry of a name, or undefined. */
/**
 * Entries the catalogue no longer has, and why (docs/races.md "Dropped entries"): a name
 * here is refused with its reason, so tokens that name it fail in one clear line.
 */
export const DROPPED_ENTRIES: ReadonlyMap<string, string> = new Map([
  ['dirty-log-enable-no-flush', 'R7 was dropped from the catalogue: its fix (b64d740ea7dd) matters only with A/D bits disabled, where aging makes SPTEs access-tracked without a flush, which the model does not do'],
]);

export function catalogueEntry(name: string): CatalogueEntry | undefined {
  return CATALOGUE.find((e) => e.name === name);
}
