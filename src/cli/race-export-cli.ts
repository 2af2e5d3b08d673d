/** `faultline race export` on the command line: its options and examples; the work is in race-export.ts. */

import { Command } from 'commander';
import type { Ctx } from './ctx.js';
import { kernelOption, option, withExamples } from './options.js';
import type { ExportFlags } from './race-export.js';

export function exportCommand(ctx: Ctx): Command {
  const cmd = new Command('export')
    .description('write a token (or any scenario) as one standalone C reproducer for a real /dev/kvm: libc, pthreads and <linux/kvm.h>; exit 0 pass, 1 fail, 4 skip')
    .argument('[TOKEN]', "a token printed by 'race explore' or 'race shrink'")
    .addOption(option('--c <FILE>', 'the C file to write (- for stdout)'))
    .addOption(option('--scenario <TARGET>', 'export a catalogue entry or a scenario file instead of a token'))
    .addOption(option('--runs <N>', 'seeded random model runs that give each op its allowed outcomes (besides the file-order run and one per priority order of the actors)', { defaultNote: '24' }))
    .addOption(kernelOption("the token's; for --scenario, the entry's release before its fix, else the scenario's"))
    .action(async (token: string | undefined, flags: ExportFlags) => {
      ctx.status = (await import('./race-export.js')).raceExport(token, flags, ctx.io);
    });
  return withExamples(cmd, [
    'faultline race export "$(faultline race explore docs/findings/prefault-during-slot-delete.json | sed -n \'s/^token: //p\')" --c prefault-livelock.c',
    'faultline race export --scenario seq-check --c seq-check.c',
    'cc -Wall -Werror -pthread -o repro prefault-livelock.c && ./repro -n 10000',
  ]);
}
