/**
 * `faultline race merge FILE…` on the command line: shard outputs (the JSON lines of
 * `race explore --shard i/n --json`, `race swarm --shard i/n --json`, `bench … --shard
 * i/n --json`) combined into one summary. The work is in race-merge-command.ts.
 */

import { Command } from 'commander';
import type { Ctx } from './ctx.js';
import { withWords } from './errors.js';
import { option, withExamples } from './options.js';

/** The options of `race merge`. */
export interface MergeFlags {
  readonly json?: boolean;
  readonly partial?: boolean;
}

export function mergeCommand(ctx: Ctx): Command {
  const cmd = new Command('merge')
    .description('combine shard outputs (JSON lines of race explore/swarm --shard i/n --json, or bench --shard i/n --json) into one summary: totals, the first violation with its token, the coverage union; exit 1 when a shard found a violation')
    .argument('<FILE...>', "shard outputs ('-' reads standard input)")
    .addOption(option('--partial', 'merge even when shards are missing (a failed shard); they are listed'))
    .addOption(option('--json', 'print the merged summary as one JSON object'))
    .action(async (files: string[], flags: MergeFlags) => {
      ctx.status = (await import('./race-merge-command.js')).raceMerge(files, flags, ctx.io);
    });
  withExamples(cmd, [
    'faultline race merge shard-*.jsonl',
    'parallel faultline race explore seq-check --control --shard {}/4 --json ::: 0 1 2 3 > shards.jsonl; faultline race merge shards.jsonl',
    'faultline race merge k8s-shards.jsonl --partial --json   (docs/scale.md: GNU parallel, Kubernetes, Slurm)',
    'cat shard-*.jsonl | faultline race merge - --json',
  ]);
  return withWords(cmd, { missing: "'race merge' needs at least one FILE: the JSON lines of sharded runs" });
}
