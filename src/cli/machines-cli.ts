/**
 * `faultline machines export` on the command line: its options, defaults and examples.
 * The work is in machines-command.ts, imported when the command runs.
 */

import { Command } from 'commander';
import type { Ctx } from './ctx.js';
import { option, withExamples } from './options.js';

/** The options of `machines export`, as commander hands them over. */
export interface MachinesExportFlags {
  readonly format: string;
  readonly machine?: string[];
  readonly markdown?: boolean;
}

function exportCommand(ctx: Ctx): Command {
  const cmd = new Command('export')
    .description('every protocol machine as a Mermaid stateDiagram-v2, or its compiled transition table as JSON')
    .addOption(option('--format <FORMAT>', 'Mermaid state diagrams, or the transition tables', { choices: ['mermaid', 'json'], default: 'mermaid' }))
    .addOption(option('--machine <ID>', 'only this machine, e.g. page-fault (repeatable)', { repeatable: true, defaultNote: 'all of them' }))
    .addOption(option('--markdown', 'Mermaid in Markdown: a heading and a fenced block per machine'))
    .action(async (flags: MachinesExportFlags) => {
      ctx.status = (await import('./machines-command.js')).machinesExport(flags, ctx.io);
    });
  return withExamples(cmd, [
    'faultline machines export',
    'faultline machines export --machine page-fault --machine invalidation --markdown',
    'faultline machines export --format json',
  ]);
}

/** `faultline machines export`. */
export function machinesCli(ctx: Ctx): Command {
  const cmd = new Command('machines')
    .description('the protocol machines (xstate) as diagrams or transition tables (export)')
    .addCommand(exportCommand(ctx));
  return withExamples(cmd, ['faultline machines export --format mermaid', 'faultline machines export --help']);
}
