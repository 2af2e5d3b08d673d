/**
 * `faultline kernels` on the command line: the kernel releases the model runs and what
 * differs between them. The work is in kernels-command.ts, imported when the command runs.
 */

import { Command } from 'commander';
import type { Ctx } from './ctx.js';
import { option, withExamples } from './options.js';

/** `faultline kernels [--json]`. */
export function kernelsCli(ctx: Ctx): Command {
  const cmd = new Command('kernels')
    .description('the kernel releases modelled and every behaviour that differs between them: the commit, the first release with it, before → after')
    .addOption(option('--json', 'print one JSON object: the releases, the default, the changes and each release\'s switches'))
    .action(async (flags: { json?: boolean }) => {
      ctx.status = (await import('./kernels-command.js')).kernelsList(flags, ctx.io);
    });
  return withExamples(cmd, ['faultline kernels', 'faultline kernels --json', 'faultline scenario run my-scenario.json --kernel 6.14']);
}
