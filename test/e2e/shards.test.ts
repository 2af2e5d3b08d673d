// Goal: the scaling recipes of docs/scale.md work as written — the GNU parallel line, the Kubernetes Indexed Job's manifest and command, the Slurm array script — each run for every shard as child processes and merged by `race merge` into what the unsharded run says; bench shards merge into the unsharded bench; bad merges are one line, exit 2; method: a `faultline` on PATH that runs the built CLI, `sh -c` for the recipes' command lines.

import test from 'ava';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli, oneErrorLine } from '../helpers/cli.js';
import { parseYamlSubset } from '../helpers/yaml.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'faultline-shards-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'faultline'), `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`);
chmodSync(join(dir, 'faultline'), 0o755);

interface Ran { readonly code: number; readonly stdout: string; readonly stderr: string }

/** A recipe's shell command line, with `faultline` the built CLI, in the scratch directory. */
function sh(command: string, env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { cwd: dir, env: { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}`, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

const merged = (r: Ran): Record<string, unknown> & { shards: { merged: number; n: number }; steps: number; schedules: number; token: string | null; found: boolean; dfs: { exhausted: boolean } | null; coverage: unknown } => JSON.parse(r.stdout);

test.serial('GNU parallel (docs/scale.md): four DFS shards as child processes, merged, are the unsharded search', async (t) => {
  const doc = readFileSync(join(ROOT, 'docs/scale.md'), 'utf8');
  const m = /^parallel (faultline race explore .*) ::: \$\(seq 0 \$\(\(N - 1\)\)\) > (\S+)$/m.exec(doc);
  t.truthy(m, 'the recipe line');
  const [, template, out] = m!;
  t.true(template!.includes('--shard {}/$N'));
  const shards = await Promise.all([0, 1, 2, 3].map((i) => sh(template!.replaceAll('{}', String(i)).replace('$N', '4'))));
  for (const s of shards) t.is(s.code, 0, s.stderr);
  writeFileSync(join(dir, out!), shards.map((s) => s.stdout).join(''));
  const mergeLine = /^(faultline race merge \S+)$/m.exec(doc)![1]!;
  const text = await sh(mergeLine);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^merged 4 of 4 shard\(s\) of catalogue:seq-check \(dfs, depth 1, /m);
  t.regex(text.stdout, /^dfs: the search is complete/m);
  const j = merged(await sh(`${mergeLine} --json`));
  t.deepEqual(merged(await sh(`cat ${out} | faultline race merge - --json`)).coverage, j.coverage, "'-' reads standard input");
  const whole = JSON.parse((await sh(template!.replace(' --shard {}/$N', ''))).stdout.trim().split('\n').pop()!) as { schedules: number; steps: number; coverage: unknown };
  t.deepEqual([j.schedules, j.steps, j.dfs!.exhausted], [whole.schedules, whole.steps, true]);
  t.deepEqual(j.coverage, whole.coverage, 'the coverage union is the unsharded coverage, count for count');
});

test.serial('Kubernetes (deploy/k8s/explore-job.yaml): an Indexed Job whose index is the shard; its command for every index, merged, finds what one run finds', async (t) => {
  const job = parseYamlSubset(readFileSync(join(ROOT, 'deploy/k8s/explore-job.yaml'), 'utf8')) as any;
  t.like(job, { apiVersion: 'batch/v1', kind: 'Job', spec: { completionMode: 'Indexed', template: { spec: { restartPolicy: 'Never' } } } });
  const c = job.spec.template.spec.containers[0];
  const env = Object.fromEntries((c.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
  t.is(Number(env['SHARDS']), job.spec.completions, 'SHARDS is completions');
  t.true(job.spec.parallelism <= job.spec.completions);
  t.deepEqual(job.spec.podFailurePolicy.rules[0], { action: 'FailJob', onExitCodes: { containerName: c.name, operator: 'In', values: [2, 3] } });
  t.deepEqual(c.command.slice(0, 2), ['sh', '-c']);
  t.true(c.command[2].includes('--shard "$JOB_COMPLETION_INDEX/$SHARDS"'));
  const pods = await Promise.all(Array.from({ length: job.spec.completions as number }, (_, k) => sh(c.command[2], { ...env, BUDGET: '20', JOB_COMPLETION_INDEX: String(k) })));
  for (const p of pods) t.is(p.code, 0, `a pod that found a violation still completes: ${p.stderr}`);
  writeFileSync(join(dir, 'k8s.jsonl'), pods.map((p) => p.stdout).join(''));
  const r = await sh('faultline race merge k8s.jsonl --json');
  t.is(r.code, 1, 'seq-check with its bug: found');
  const j = merged(r);
  t.is(j.shards.merged, job.spec.completions);
  const one = JSON.parse((await sh(`faultline race explore ${env['TARGET']} --scheduler pct --depth 2 --budget ${20 * job.spec.completions} --json`)).stdout.trim().split('\n').pop()!) as { token: string };
  t.is(j.token, one.token, 'the first violation over the shards is the unsharded run\'s');
});

test.serial('Slurm (deploy/slurm/explore-array.sh): the array script for every task id, merged; a merge of two different runs is refused', async (t) => {
  const script = readFileSync(join(ROOT, 'deploy/slurm/explore-array.sh'), 'utf8');
  const tasks = Number(/^#SBATCH --array=0-([0-9]+)$/m.exec(script)![1]) + 1;
  t.regex(script, new RegExp(`SLURM_ARRAY_TASK_COUNT:-${tasks}\\}`), 'the default shard count is the array size');
  t.regex(script, /^#SBATCH --output=shard-%a\.jsonl$/m);
  const runs = await Promise.all([0, 1, 2, 3].map((k) => sh(`sh ${join(ROOT, 'deploy/slurm/explore-array.sh')} > shard-${k}.jsonl`, { SLURM_ARRAY_TASK_ID: String(k), SLURM_ARRAY_TASK_COUNT: '4', TARGET: 'zap-without-flush', BUDGET: '30' })));
  for (const r of runs) t.is(r.code, 0, r.stderr);
  const r = await sh('faultline race merge shard-0.jsonl shard-1.jsonl shard-2.jsonl shard-3.jsonl');
  t.is(r.code, 1, r.stderr);
  t.regex(r.stdout, /^first violation: schedule \d+ \(shard \d\/4\)$/m);
  const token = /^token: (fl1\.\S+)$/m.exec(r.stdout)![1]!;
  const replayed = await sh(`faultline race replay ${token}`);
  t.regex(replayed.stdout, /reproduced: use-after-free/);
  writeFileSync(join(dir, 'other.jsonl'), (await sh('faultline race explore seq-check --budget 5 --shard 1/4 --json')).stdout);
  oneErrorLine(t, await cli(['race', 'merge', join(dir, 'shard-0.jsonl'), join(dir, 'other.jsonl')]), /race merge: .* are shards of different runs: target "catalogue:seq-check" vs "catalogue:zap-without-flush"/);
});

test.serial('bench shards: points i, i+n, … of the plan; merged, the unsharded document', async (t) => {
  const args = ['bench', 'prefault-vs-lazy', '--memory', '4MiB,8MiB', '--vcpus', '1,2', '--strategies', 'lazy,prefault', '--json'];
  const [a, b, whole] = await Promise.all([cli([...args, '--shard', '0/2']), cli([...args, '--shard', '1/2']), cli(args)]);
  writeFileSync(join(dir, 'b0.json'), a.stdout);
  writeFileSync(join(dir, 'b1.json'), b.stdout);
  t.deepEqual((JSON.parse(a.stdout) as { points: number[] }).points, [0, 0, 2, 2]);
  const r = await cli(['race', 'merge', join(dir, 'b1.json'), join(dir, 'b0.json'), '--json']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual((JSON.parse(r.stdout) as { results: unknown }).results, (JSON.parse(whole.stdout) as { results: unknown }).results);
  oneErrorLine(t, await cli(['race', 'merge', join(dir, 'b0.json')]), /race merge: shard\(s\) 1\/2 missing \(a failed shard\?\); --partial merges what there is/);
  oneErrorLine(t, await cli(['race', 'merge', join(dir, 'no-such.jsonl')]), /no-such\.jsonl: cannot read it \(ENOENT\)/);
  oneErrorLine(t, await cli(['race', 'merge']), /'race merge' needs at least one FILE/);
  oneErrorLine(t, await cli(['bench', 'prefault-vs-lazy', '--shard', '2/2']), /--shard must be i\/n with 0 ≤ i < n, got '2\/2'/);
});
