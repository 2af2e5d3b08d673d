// Goal: `faultline stress` keeps its contract — the summary and --json shape, exit 0 clean / 1 finding / 2 bad input with one-line errors; method: spawn the built CLI for short real runs.

import test from 'ava';
import { VCPUS_MAX } from '../../src/kvm/limits.js';
import { cli } from '../helpers/cli.js';

test('a short clean run: exit 0, the summary table, progress lines on stderr', async (t) => {
  const r = await cli(['stress', '--vcpus', '2', '--memory', '8MiB', '--duration', '2500ms', '--churn', 'invalidate,memslots=20']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^faultline stress — 2 vCPUs, 8 MiB sw_protected guest/m);
  for (const row of ['guest accesses', 'page faults', 'RET_PF_FIXED', 'retries', 'SPTE CAS failures', 'host invalidations', 'memslot changes', 'pre-fault loops', 'transition coverage:', 'violations: none']) t.true(r.stdout.includes(row), row);
  t.regex(r.stdout, /^vcpu0 +[0-9,]+ +[0-9,]+/m);
  t.regex(r.stderr, /faults\/s/);
});

test('--json: one object with the totals, per-actor rates, coverage and an empty violations array', async (t) => {
  const r = await cli(['stress', '--vcpus', '2', '--memory', '8MiB', '--accesses', '5000', '--churn', 'none', '--json', '--workload', 'partitioned']);
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown> & { perActor: { actor: string }[]; coverage: { fired: number; total: number }; violations: unknown[]; config: { workload: string } };
  t.deepEqual(j.violations, []);
  t.is(j.stopReason, 'accesses');
  t.is(j.config.workload, 'partitioned');
  t.deepEqual(j.perActor.map((a) => a.actor), ['vcpu0', 'vcpu1', 'host', 'vmm']);
  t.true(j.coverage.fired > 0 && j.coverage.fired < j.coverage.total);
  for (const k of ['accesses', 'faults', 'faultsByRet', 'retriesByReason', 'casFailures', 'invalidations', 'memslotChanges', 'preFault']) t.true(k in j, k);
});

// Shared memory: on anonymous memory the same mutation can also show first as a writable SPTE over the zero page.
test('a mutation that breaks the protocol: exit 1 with the violation', async (t) => {
  const r = await cli(['stress', '--vcpus', '2', '--memory', '4MiB', '--duration', '3s', '--host-memory', 'shared', '--churn', 'invalidate=2000', '--mutate', 'page-fault.mmuInvalidateRetryGfn=false', '--json', '--seed', '3']);
  t.is(r.code, 1);
  const j = JSON.parse(r.stdout) as { violations: { kind: string }[] };
  t.true(j.violations.some((v) => v.kind === 'use-after-free'));
});

const bad: [string[], RegExp][] = [
  [['--vcpus', '0'], new RegExp(`--vcpus must be an integer in 1\\.\\.${VCPUS_MAX}, got '0'`)],
  [['--vcpus', 'two'], /--vcpus must be an integer/],
  [['--memory', '1GB'], /--memory: .*ambiguous/],
  [['--memory', '1000'], /--memory must be between/],
  [['--duration', 'soon'], /--duration must be a duration like 10s/],
  [['--duration', '1s', '--accesses', '10'], /give --duration or --accesses, not both/],
  [['--workload', 'zipf'], /--workload must be one of uniform, sequential, partitioned, shared-hot, got 'zipf'/],
  [['--churn', 'invalidate,swap'], /--churn: unknown kind 'swap'/],
  [['--churn', 'prefault=-3'], /--churn: the rate of 'prefault' must be/],
  [['--vm-type', 'sev'], /--vm-type must be one of default, sw_protected, snp, tdx/],
  [['--mutate', 'page-fault.nope=true'], /unknown guard 'nope' of machine 'page-fault'; valid guards:/],
  [['--skip', 'vcpu'], /--skip expects MACHINE\.ACTION/],
  [['--hugepages', '3M'], /--hugepages must be one of 4K, 2M, 1G/],
  [['--hugepages', '1G'], /--hugepages 1G with --host-memory anonymous: 1G pages are hugetlbfs only/],
  [['--host-memory', 'hugetlbfs'], /--hugepages 4K with --host-memory hugetlbfs: hugetlbfs pages are 2M or 1G/],
  [['--host-memory', 'file'], /--host-memory must be one of anonymous, shared, hugetlbfs/],
  [['--frobnicate'], /unknown option '--frobnicate' for 'stress'/],
  [['extra'], /'stress' takes no positional arguments/],
];

for (const [args, message] of bad) {
  test(`bad input ${args.join(' ')}: one line, exit 2`, async (t) => {
    const r = await cli(['stress', ...args]);
    t.is(r.code, 2);
    t.is(r.stdout, '');
    t.regex(r.stderr, message);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
}

test('--preset mmu-stress prints its stages; options it does not take are bad input', async (t) => {
  const r = await cli(['stress', '--preset', 'mmu-stress', '--vcpus', '2', '--memory', '8MiB', '--quiet']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /preset mmu-stress: 2 vCPUs, 8 MiB default guest/);
  t.regex(r.stdout, /^3 mprotect\(PROT_READ\): writes fault +[0-9.]+ +0 +2,048 +0$/m);
  const bad = await cli(['stress', '--preset', 'mmu-stress', '--churn', 'all']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--preset mmu-stress runs the selftest's own stages .*--churn does not apply/);
  const unknown = await cli(['stress', '--preset', 'kvm-unit-tests']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /--preset must be one of mmu-stress, memslot-churn/);
});
