/**
 * The `race` commands on the command line — `race list`, `race explore TARGET`,
 * `race replay TOKEN`, `race shrink TOKEN` — with their options, defaults and examples.
 * The work is in race-command.ts, imported when a command runs.
 */

import { Command } from 'commander';
import { EXPLORE_BUDGET_DEFAULT, EXPLORE_DEPTH_MAX, SHRINK_ATTEMPTS_MAX, SWARM_BUDGET_DEFAULT, SWARM_SCENARIOS_DEFAULT } from '../kvm/limits.js';
import { KERNEL_DEFAULT } from '../kvm/kernel-release.js';
import { VM_TYPE_NAMES } from '../kvm/vm-types.js';
import type { Ctx } from './ctx.js';
import { withWords } from './errors.js';
import { kernelOption, mutationOptions, option, patchOption, withExamples } from './options.js';
import { exportCommand } from './race-export-cli.js';
import { mergeCommand } from './race-merge-cli.js';

/** The options of `race explore`, as commander hands them over (values unparsed; race-command.ts checks them). */
export interface ExploreFlags {
  readonly scheduler?: string;
  readonly depth?: string;
  readonly budget?: string;
  readonly time?: string;
  readonly mutate?: string[];
  readonly skip?: string[];
  readonly patch?: string[];
  readonly shard?: string;
  readonly json?: boolean;
  readonly traceOut?: string;
  readonly control?: boolean;
  /** false with --no-sleep-sets. */
  readonly sleepSets: boolean;
  readonly coverage?: boolean;
  readonly kernel?: string;
}

/** The options of `race swarm` (values unparsed; race-swarm-command.ts checks them). */
export interface SwarmFlags {
  readonly time?: string;
  readonly scenarios?: string;
  readonly seed: string;
  readonly budget: string;
  readonly kernel?: string;
  readonly vmType?: string;
  readonly mutate?: string[];
  readonly skip?: string[];
  readonly patch?: string[];
  readonly out: string;
  readonly shard?: string;
  readonly json?: boolean;
}

/** The options of `race replay`. */
export interface ReplayFlags {
  readonly json?: boolean;
  readonly traceOut?: string;
  readonly kernel?: string;
  readonly patch?: string[];
}

/** The options of `race shrink`. */
export interface ShrinkFlags {
  readonly json?: boolean;
  readonly attempts: string;
  readonly kernel?: string;
  readonly patch?: string[];
}

function exploreCommand(ctx: Ctx): Command {
  const cmd = new Command('explore')
    .description('explore interleavings of a catalogue entry or a scenario file until a violation; print its token, the command that replays it, and the trace')
    .argument('<TARGET>', "a catalogue entry ('faultline race list') or a scenario file")
    .addOption(option('--scheduler <NAME>', 'how schedules are drawn', { choices: ['random', 'pct', 'dfs', 'portfolio'], defaultNote: 'portfolio: dfs, random and pct in rotation' }))
    .addOption(option('--depth <N>', `PCT bug depth 1..${EXPLORE_DEPTH_MAX}; for dfs, the preemption bound 0..${EXPLORE_DEPTH_MAX}`, { defaultNote: "the entry's, else 2; not for the portfolio" }))
    .addOption(option('--budget <N>', 'schedules to try', { defaultNote: `the entry's, else ${EXPLORE_BUDGET_DEFAULT}` }))
    .addOption(option('--time <TIME>', 'stop after TIME, e.g. 30s, 5m'))
    .addOption(option('--no-sleep-sets', 'dfs without partial-order reduction (re-runs reorderings of independent steps)'))
    .addOption(option('--coverage', 'list, per machine, the transitions the exploration fired (with counts) and those it never did'))
    .addOption(option('--control', 'a catalogue entry without its mutation (must stay clean)'))
    .addOption(option('--shard <i/n>', 'schedules i, i+n, i+2n, … (disjoint slices for a CI matrix; DFS: subtrees i, i+n, … of its search)', { defaultNote: '0/1' }))
    .addOption(option('--json', 'JSON lines: one per schedule, then a summary'))
    .addOption(option('--trace-out <FILE>', 'write the failing run as Chrome trace-event JSON (Perfetto)'))
    .addOption(kernelOption("for an entry of a race fixed in a modelled release, the release before the fix (with --control, the fix's); else the scenario's"));
  for (const o of mutationOptions(" (on top of the entry's)")) cmd.addOption(o);
  cmd.addOption(patchOption());
  cmd.action(async (target: string, flags: ExploreFlags) => {
    ctx.status = (await import('./race-command.js')).raceExplore(target, flags, ctx.io);
  });
  withExamples(cmd, [
    'faultline race explore seq-check',
    'faultline race explore zap-without-flush --trace-out trace.json',
    'faultline race explore seq-check --control --budget 500 --json',
    'faultline race explore my-scenario.json --scheduler dfs --depth 2 --mutate page-fault.mmuInvalidateRetryGfn=false',
    'faultline race explore prefault-keeps-obsolete-root --kernel 6.15',
    'faultline race explore docs/findings/prefault-during-slot-delete.json --scheduler dfs --patch prefault-reload-obsolete-roots',
  ]);
  return withWords(cmd, { missing: "'race explore' needs one TARGET: a catalogue entry ('faultline race list') or a scenario file" });
}

function swarmCommand(ctx: Ctx): Command {
  const cmd = new Command('swarm')
    .description('generate scenarios (VM type, memslots, vCPUs, a random subset of op features), explore each with the portfolio; on a violation that is not a documented finding, shrink the scenario, write it and its token to --out and exit 1')
    .addOption(option('--time <TIME>', 'generate scenarios for TIME, e.g. 60s, 10m'))
    .addOption(option('--scenarios <N>', 'scenario indices 0..N-1 (with --shard, this shard\'s share of them)', { defaultNote: `${SWARM_SCENARIOS_DEFAULT} unless --time` }))
    .addOption(option('--seed <N>', 'the seed scenarios are drawn from', { default: '1' }))
    .addOption(option('--budget <N>', 'schedules per scenario (4 times as many for one that reaches a rare transition)', { default: String(SWARM_BUDGET_DEFAULT) }))
    .addOption(option('--vm-type <TYPE>', 'only this VM type', { choices: VM_TYPE_NAMES, defaultNote: 'any the release has' }))
    .addOption(option('--out <DIR>', 'where a failing scenario and its token are written', { default: 'swarm-out' }))
    .addOption(option('--shard <i/n>', 'scenario indices i, i+n, i+2n, … (disjoint slices)', { defaultNote: '0/1' }))
    .addOption(option('--json', 'JSON lines: one per scenario, then a summary'))
    .addOption(kernelOption(KERNEL_DEFAULT));
  for (const o of mutationOptions(' (in every scenario)')) cmd.addOption(o);
  cmd.addOption(patchOption(' in every scenario'));
  cmd.action(async (flags: SwarmFlags) => {
    ctx.status = (await import('./race-swarm-command.js')).raceSwarm(flags, ctx.io);
  });
  return withExamples(cmd, [
    'faultline race swarm --time 60s',
    'faultline race swarm --scenarios 500 --mutate page-fault.mmuInvalidateRetryGfn=false --out failures',
    'faultline race swarm --seed 7 --kernel 6.16 --vm-type tdx --json',
    'faultline race swarm --scenarios 100000 --shard 2/8 --json',
  ]);
}

function listCommand(ctx: Ctx): Command {
  const cmd = new Command('list')
    .description('the catalogue of historical KVM MMU races: the scenario, the fix, and the mutation that puts the bug back')
    .addOption(option('--json', 'print the catalogue as one JSON array'))
    .action(async (flags: { json?: boolean }) => {
      ctx.status = (await import('./race-command.js')).raceList(flags, ctx.io);
    });
  return withExamples(cmd, ['faultline race list', 'faultline race list --json']);
}

function replayCommand(ctx: Ctx): Command {
  const cmd = new Command('replay')
    .description('replay a token exactly, with the column trace; exit 1 when the violation is reproduced')
    .argument('<TOKEN>', "a token printed by 'race explore' or 'race shrink'")
    .addOption(option('--json', 'print one JSON object (reproduced, the violation, the trace)'))
    .addOption(option('--trace-out <FILE>', 'write the run as Chrome trace-event JSON (Perfetto)'))
    .addOption(kernelOption("the token's"))
    .addOption(patchOption(" on top of the token's (the schedule is then followed as far as it still applies)"))
    .action(async (token: string, flags: ReplayFlags) => {
      ctx.status = (await import('./race-command.js')).raceReplay(token, flags, ctx.io);
    });
  withExamples(cmd, [
    `faultline race replay "$(faultline race explore seq-check | sed -n 's/^token: //p')"`,
    'faultline race replay fl1.lZHB… --trace-out trace.json   (the token that explore or shrink printed)',
  ]);
  return withWords(cmd, { missing: "'race replay' needs one TOKEN (printed by 'race explore')" });
}

function shrinkCommand(ctx: Ctx): Command {
  const cmd = new Command('shrink')
    .description('fewer context switches and ops, same violation: a smaller token')
    .argument('<TOKEN>', "a token printed by 'race explore'")
    .addOption(option('--attempts <N>', `replays to try, 1..${SHRINK_ATTEMPTS_MAX}`, { default: '2000' }))
    .addOption(option('--json', 'print one JSON object (the token, before and after)'))
    .addOption(kernelOption("the token's"))
    .addOption(patchOption(" on top of the token's"))
    .action(async (token: string, flags: ShrinkFlags) => {
      ctx.status = (await import('./race-command.js')).raceShrink(token, flags, ctx.io);
    });
  withExamples(cmd, [
    `faultline race shrink "$(faultline race explore zap-without-flush | sed -n 's/^token: //p')"`,
    'faultline race shrink fl1.lZHB… --attempts 500 --json   (the token that explore printed)',
  ]);
  return withWords(cmd, { missing: "'race shrink' needs one TOKEN" });
}

/** `faultline race list|explore|replay|shrink`. */
export function raceCli(ctx: Ctx): Command {
  const cmd = new Command('race')
    .description('the catalogue of historical KVM MMU races (list); find a bad interleaving (explore), replay it from its token (replay), make it smaller (shrink); generate and explore scenarios (swarm)')
    .addCommand(listCommand(ctx))
    .addCommand(exploreCommand(ctx))
    .addCommand(replayCommand(ctx))
    .addCommand(shrinkCommand(ctx))
    .addCommand(mergeCommand(ctx))
    .addCommand(swarmCommand(ctx))
    .addCommand(exportCommand(ctx));
  return withExamples(cmd, ['faultline race list', 'faultline race explore seq-check', 'faultline race explore --help']);
}
