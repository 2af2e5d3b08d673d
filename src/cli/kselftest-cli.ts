/**
 * `faultline kselftest` on the command line: the kernel's MMU-related KVM selftests as
 * scenarios on the model, TAP 13 on stdout. The work is in kselftest-command.ts, imported
 * when the command runs.
 */

import { Command } from 'commander';
import { KERNEL_DEFAULT } from '../kvm/kernel-release.js';
import { INTERLEAVINGS } from '../kselftest/interleaving.js';
import type { Ctx } from './ctx.js';
import { kernelOption, mutationOptions, option, withExamples } from './options.js';

export interface KselftestFlags {
  readonly kernel?: string;
  readonly json?: boolean;
  readonly list?: boolean;
  readonly mutate?: string[];
  readonly skip?: string[];
  readonly interleaving?: string;
}

/** `faultline kselftest [--kernel X.Y] [NAME…] [--json] [--list]`. */
export function kselftestCli(ctx: Ctx): Command {
  const cmd = new Command('kselftest')
    .description('the kernel\'s MMU-related KVM selftests (tools/testing/selftests/kvm) as scenarios on the model: each case\'s steps and TEST_ASSERTs, per VM type, printed as TAP 13; exit 0 when all pass')
    .argument('[NAME...]', 'the selftests to run (default: all; --list names them)')
    .addOption(kernelOption(KERNEL_DEFAULT))
    .addOption(mutationOptions(' in every selftest (which selftest notices the bug?)')[0]!)
    .addOption(mutationOptions(' in every selftest')[1]!)
    .addOption(option('--interleaving <NAME>', 'where pre_fault_memory_test\'s racing slot delete meets the pre-fault: invalid-slot (the window 3ccbf6f47098\'s test targets) or obsolete-root (the README Finding)', { choices: INTERLEAVINGS, default: 'invalid-slot' }))
    .addOption(option('--list', 'list the modelled selftests and what of each is modelled'))
    .addOption(option('--json', 'print one JSON object: the release, per selftest its cases and outcomes, the totals'))
    .action(async (names: string[], flags: KselftestFlags) => {
      ctx.status = (await import('./kselftest-command.js')).kselftestRun(names, flags, ctx.io);
    });
  cmd.addHelpText('after', '\nExit status: 0 every case passed or was skipped, 1 a case failed, 2 bad input.');
  return withExamples(cmd, ['faultline kselftest', 'faultline kselftest pre_fault_memory_test --kernel 6.17', 'faultline kselftest pre_fault_memory_test --interleaving obsolete-root', 'faultline kselftest dirty_log_test --skip dirty-log.wrprotDirtyGfn', 'faultline kselftest --list']);
}
