/**
 * `faultline machines export --format mermaid|json [--machine ID] [--markdown]`: every
 * protocol machine as a Mermaid state diagram or as its compiled transition table.
 */

import { COMPILED } from '../protocol/machines.js';
import type { CompiledMachine } from '../protocol/compile.js';
import { machineToJson, machinesToMermaid } from '../report/mermaid.js';
import { UsageError, parseArgs } from './args.js';
import type { Io } from './io.js';

function selectMachines(ids: readonly string[]): readonly CompiledMachine[] {
  if (ids.length === 0) return COMPILED;
  return ids.map((id) => {
    const m = COMPILED.find((x) => x.id === id);
    if (!m) throw new UsageError(`unknown machine '${id}'; machines: ${COMPILED.map((x) => x.id).join(', ')}`);
    return m;
  });
}

export function machinesExport(argv: readonly string[], io: Io): number {
  const args = parseArgs(argv, [
    { name: 'format', kind: 'value', choices: ['mermaid', 'json'] },
    { name: 'machine', kind: 'multi' },
    { name: 'markdown', kind: 'flag' },
  ], 'machines export');
  if (args.positionals.length > 0) throw new UsageError(`'machines export' takes no arguments, got: ${args.positionals.join(' ')}`);
  const machines = selectMachines(args.multi.get('machine') ?? []);
  const format = args.values.get('format') ?? 'mermaid';
  if (format === 'json') {
    if (args.flags.has('markdown')) throw new UsageError('--markdown applies to --format mermaid only');
    io.out(JSON.stringify({ machines: machines.map(machineToJson) }, null, 2) + '\n');
  } else {
    io.out(machinesToMermaid(machines, args.flags.has('markdown')));
  }
  return 0;
}
