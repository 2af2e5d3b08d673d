/**
 * `faultline machines export --format mermaid|json [--machine ID] [--markdown]`: every
 * protocol machine as a Mermaid state diagram or as its compiled transition table.
 */

import { COMPILED } from '../protocol/machines.js';
import type { CompiledMachine } from '../protocol/compile.js';
import { machineToJson, machinesToMermaid } from '../report/mermaid.js';
import { UsageError } from './args.js';
import type { Io } from './io.js';
import type { MachinesExportFlags } from './machines-cli.js';

function selectMachines(ids: readonly string[]): readonly CompiledMachine[] {
  if (ids.length === 0) return COMPILED;
  return ids.map((id) => {
    const m = COMPILED.find((x) => x.id === id);
    if (!m) throw new UsageError(`unknown machine '${id}'; machines: ${COMPILED.map((x) => x.id).join(', ')}`);
    return m;
  });
}

/** `machines export [--format mermaid|json] [--machine ID]... [--markdown]` */
export function machinesExport(flags: MachinesExportFlags, io: Io): number {
  const machines = selectMachines(flags.machine ?? []);
  if (flags.format === 'json') {
    if (flags.markdown === true) throw new UsageError('--markdown applies to --format mermaid only');
    io.out(JSON.stringify({ machines: machines.map(machineToJson) }, null, 2) + '\n');
  } else {
    io.out(machinesToMermaid(machines, flags.markdown === true));
  }
  return 0;
}
