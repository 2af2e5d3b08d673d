/**
 * `faultline scenario run FILE` and `faultline scenario list`: read a scenario, run it on
 * the deterministic engine, print the report (text or one JSON object). Parsing and
 * printing only: the scenario format lives in src/workload/scenario.ts, the report in
 * src/report/text.ts.
 */

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runDeterministic } from '../engine/deterministic.js';
import { COMPILED } from '../protocol/machines.js';
import { buildMutations } from '../protocol/mutations.js';
import { patchNames, withPatches } from '../protocol/patches.js';
import type { RunnerKind } from '../protocol/runner.js';
import type { SchedulerName } from '../sched/scheduler.js';
import { buildRunReport, formatRunReport, reportIsClean } from '../report/text.js';
import type { KernelRelease } from '../kvm/kernel-release.js';
import { parseScenario, scenarioToRunConfig, type Scenario } from '../workload/scenario.js';
import { findShippedScenario, shippedScenarioFiles } from '../workload/scenario-files.js';
import { UsageError, parseU32Option } from './args.js';
import type { Io } from './io.js';
import type { ScenarioRunFlags } from './scenario-cli.js';

/** The package's built-in scenarios (`scenarios/` next to `build/`). */
export function builtinScenarioDir(): string {
  return fileURLToPath(new URL('../../../scenarios/', import.meta.url));
}

/** The file to read: FILE itself, or the built-in scenario of that name (`default` → scenarios/default.json). */
function resolveScenarioPath(file: string): { path: string; display: string } {
  if (existsSync(file) || /[\\/]/.test(file)) return { path: file, display: file };
  const name = findShippedScenario(file, builtinScenarioDir());
  // A built-in is shown as the package-relative path, never as where it is installed.
  return name !== null ? { path: `${builtinScenarioDir()}${name}`, display: `scenarios/${name}` } : { path: file, display: file };
}

function readScenarioText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new UsageError(`cannot read scenario '${path}': ${why}`);
  }
}

/** `scenario run FILE [options]`: exit 0 clean, 1 violation or run error. Bad input throws (exit 2). */
export function scenarioRun(file: string, flags: ScenarioRunFlags, io: Io): number {
  const { path, display } = resolveScenarioPath(file);
  const scenario = parseScenario(readScenarioText(path), display);
  const mutations = withPatches(buildMutations(COMPILED, flags.mutate ?? [], flags.skip ?? []), patchNames(flags.patch));
  const scheduler = flags.scheduler as SchedulerName;
  const seed = parseU32Option('seed', flags.seed);
  const runner = flags.runner as RunnerKind;
  const trace = flags.trace === true;
  const kernel = flags.kernel as KernelRelease | undefined;
  const result = runDeterministic(scenarioToRunConfig(scenario, { scheduler, seed, mutations, runner, trace, ...(kernel !== undefined ? { kernel } : {}) }));
  const report = buildRunReport({ scenario, scheduler, seed, mutations, runner, trace, ...(kernel !== undefined ? { kernel } : {}) }, result);
  if (flags.json === true) io.out(JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)) + '\n');
  else io.out(formatRunReport(report));
  return reportIsClean(report) ? 0 : 1;
}

interface Listed {
  readonly file: string;
  readonly name: string;
  readonly description: string;
  readonly error?: string;
}

function listBuiltins(): Listed[] {
  const dir = builtinScenarioDir();
  let files: string[];
  try {
    files = shippedScenarioFiles(dir);
  } catch {
    throw new UsageError(`no built-in scenarios: cannot read ${dir}`);
  }
  return files.map((file) => {
    try {
      const s: Scenario = parseScenario(readFileSync(`${dir}${file}`, 'utf8'), file);
      return { file, name: s.name, description: s.description };
    } catch (e) {
      return { file, name: file.replace(/\.json$/, ''), description: '', error: (e as Error).message };
    }
  });
}

/** `scenario list [--json]`: the built-in scenarios with name and description. */
export function scenarioList(flags: { readonly json?: boolean }, io: Io): number {
  const list = listBuiltins();
  if (flags.json === true) {
    io.out(JSON.stringify({ directory: builtinScenarioDir(), scenarios: list }) + '\n');
    return 0;
  }
  const w = Math.max(4, ...list.map((s) => s.name.length));
  io.out(`built-in scenarios (the package's scenarios/ folder); run one with 'faultline scenario run NAME'\n`);
  for (const s of list) io.out(`  ${s.name.padEnd(w)}  ${s.error !== undefined ? `(unreadable: ${s.error})` : s.description}\n`);
  return 0;
}
