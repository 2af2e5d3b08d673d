/**
 * The `scenario` commands on the command line: `scenario run FILE` and `scenario list`,
 * their options, defaults and examples. The work is in scenario-command.ts, imported when
 * the command runs.
 */

import { Command } from 'commander';
import { SCHEDULER_NAMES } from '../sched/scheduler.js';
import type { Ctx } from './ctx.js';
import { withWords } from './errors.js';
import { kernelOption, mutationOptions, option, patchOption, withExamples } from './options.js';

/** The options of `scenario run`, as commander hands them over. */
export interface ScenarioRunFlags {
  readonly json?: boolean;
  readonly scheduler: string;
  readonly seed: string;
  readonly mutate?: string[];
  readonly skip?: string[];
  readonly patch?: string[];
  readonly runner: string;
  readonly trace?: boolean;
  readonly kernel?: string;
}

function runCommand(ctx: Ctx): Command {
  const cmd = new Command('run')
    .description('run a scenario (FILE, or a built-in name) on the deterministic engine and report every op, violation and machine coverage')
    .argument('<FILE>', "a scenario JSON file, or the name of a built-in ('faultline scenario list')")
    .addOption(option('--json', 'print one JSON object (results, violations, actors, coverage)'))
    .addOption(option('--scheduler <NAME>', 'interleaving: sequential runs the ops in file order', { choices: SCHEDULER_NAMES, default: 'sequential' }))
    .addOption(option('--seed <N>', "seed of the run's PRNG, 0..2^32-1", { default: '1' }))
    .addOption(option('--runner <KIND>', "step the compiled tables or xstate's interpreter", { choices: ['compiled', 'reference'], default: 'compiled' }))
    .addOption(option('--trace', 'print every step (step, actor, transition, wait)'))
    .addOption(kernelOption());
  for (const o of mutationOptions()) cmd.addOption(o);
  cmd.addOption(patchOption());
  cmd.action(async (file: string, flags: ScenarioRunFlags) => {
    ctx.status = (await import('./scenario-command.js')).scenarioRun(file, flags, ctx.io);
  });
  withExamples(cmd, [
    'faultline scenario run default',
    'faultline scenario run classic-race --scheduler random --seed 1 --mutate page-fault.mmuInvalidateRetryGfn=false',
    'faultline scenario run my-scenario.json --json --trace',
    'faultline scenario run scenarios/races/prefault-keeps-obsolete-root.json --kernel 6.14',
  ]);
  return withWords(cmd, { missing: "'scenario run' needs a scenario FILE (or a built-in name; see 'faultline scenario list')" });
}

function listCommand(ctx: Ctx): Command {
  const cmd = new Command('list')
    .description('list the built-in scenarios (the package\'s scenarios/ folder) with their descriptions')
    .addOption(option('--json', 'print one JSON object: the folder and every scenario'))
    .action(async (flags: { json?: boolean }) => {
      ctx.status = (await import('./scenario-command.js')).scenarioList(flags, ctx.io);
    });
  return withExamples(cmd, ['faultline scenario list', 'faultline scenario list --json']);
}

/** `faultline scenario run|list`. */
export function scenarioCli(ctx: Ctx): Command {
  const cmd = new Command('scenario')
    .description('run a scenario on the deterministic engine (run), or list the built-in ones (list)')
    .addCommand(runCommand(ctx))
    .addCommand(listCommand(ctx));
  return withExamples(cmd, ['faultline scenario list', 'faultline scenario run classic-race', 'faultline scenario run --help']);
}
