// Goal: every class of bad scenario input is a one-line ScenarioError naming the field, while values only the kernel rejects pass through untouched; method: parse small JSON documents and inspect the Scenario and RunConfig.

import test from 'ava';
import { SCENARIO_OPS_MAX } from '../../src/kvm/limits.js';
import { KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY } from '../../src/kvm/memslots.js';
import { runDeterministic } from '../../src/engine/deterministic.js';
import { ScenarioError, parseScenario, scenarioToRunConfig } from '../../src/workload/scenario.js';

const MiB = 1024 * 1024;

function doc(o: Record<string, unknown>): string {
  return JSON.stringify(o);
}

/** A scenario with a 2-vCPU VM, one slot and the given ops. */
function withOps(ops: unknown[], vm: Record<string, unknown> = { vcpus: 2 }): string {
  return doc({ vm, memslots: [{ slot: 0, gpa: 0, size: '16MiB' }], ops });
}

function bad(t: import('ava').ExecutionContext, text: string, field: string, pattern?: RegExp): void {
  const e = t.throws(() => parseScenario(text, 'x.json'), { instanceOf: ScenarioError }, text);
  if (!e) return;
  t.is(e.field, field, e.message);
  t.true(e.message.startsWith(field === '' ? 'x.json: ' : `x.json: ${field}: `), e.message);
  t.false(e.message.includes('\n'), `one line: ${e.message}`);
  if (pattern) t.regex(e.message, pattern);
}

test('malformed JSON names the parser position as line and column', (t) => {
  const e = t.throws(() => parseScenario('{\n  "vm": {"vcpus": 2},\n  "ops": [,]\n}', 'x.json'), { instanceOf: ScenarioError });
  t.regex(e?.message ?? '', /^x\.json: invalid JSON: .*\(line 3, column \d+\)$/);
  t.false(e?.message.includes('\n'));
  bad(t, '', '', /invalid JSON/);
  bad(t, '[]', '', /expected a JSON object/);
});

test('unknown fields: top level, vm, memslot, op', (t) => {
  bad(t, doc({ nmae: 'x' }), 'nmae', /unknown field of a scenario; fields: name, description, vm, memslots, ops/);
  bad(t, doc({ vm: { cpus: 2 } }), 'vm.cpus', /unknown field of vm/);
  bad(t, doc({ memslots: [{ slot: 0, gpa: 0, size: '2MiB', backng: '2M' }] }), 'memslots[0].backng', /unknown field of a memslot/);
  bad(t, withOps([{ actor: 'vcpu0', op: 'pre_fault', gpa: 0, size: '4KiB', sizee: 1 }]), 'ops[0].sizee', /unknown field of a pre_fault op; fields: actor, op, after, gpa, size, flags, until_done/);
  bad(t, withOps([{ actor: 'vcpu0', op: 'pre_fault', gpa: 0, size: '4KiB', repeat: 2 }]), 'ops[0].repeat', /unknown field of a pre_fault op/);
});

test('unknown op and missing op or fields', (t) => {
  bad(t, withOps([{ actor: 'vcpu0', op: 'prefault', gpa: 0, size: 4096 }]), 'ops[0].op', /unknown op "prefault"; ops: access, pre_fault/);
  bad(t, withOps([{ actor: 'vcpu0', gpa: 0 }]), 'ops[0].op', /missing/);
  bad(t, withOps([{ actor: 'vcpu0', op: 'pre_fault', gpa: 0 }]), 'ops[0].size', /missing \(a pre_fault op needs gpa and size\)/);
  bad(t, withOps([{ op: 'finalize' }]), 'ops[0].actor', /missing/);
  bad(t, withOps(['access']), 'ops[0]', /expected an op object/);
  bad(t, doc({ ops: {} }), 'ops', /expected an array/);
});

test('unknown actors and ops given to the wrong actor', (t) => {
  bad(t, withOps([{ actor: 'vcpu2', op: 'access', gpa: 0, access: 'read' }]), 'ops[0].actor', /unknown actor "vcpu2"; actors: vcpu0…vcpu1, host, vmm/);
  bad(t, withOps([{ actor: 'vcpu01', op: 'access', gpa: 0, access: 'read' }]), 'ops[0].actor', /unknown actor/);
  bad(t, withOps([{ actor: 'qemu', op: 'finalize' }]), 'ops[0].actor', /unknown actor "qemu"/);
  bad(t, withOps([{ actor: 'host', op: 'pre_fault', gpa: 0, size: 4096 }]), 'ops[0].actor', /host cannot run pre_fault \(a vCPU op/);
  bad(t, withOps([{ actor: 'vcpu1', op: 'invalidate', gpa: 0, size: 4096, kind: 'migrate' }]), 'ops[0].actor', /vcpu1 cannot run invalidate \(a host mm event/);
  bad(t, withOps([{ actor: 'vcpu0', op: 'set_memslot', slot: 1, gpa: 0, size: 0 }]), 'ops[0].actor', /cannot run set_memslot \(a VMM ioctl/);
  bad(t, withOps([{ actor: 'vmm', op: 'signal', vcpu: 'host' }]), 'ops[0].vcpu', /signal goes to a vCPU/);
  bad(t, withOps([{ actor: 'vmm', op: 'signal', vcpu: 'vcpu7' }]), 'ops[0].vcpu', /unknown actor "vcpu7"/);
});

test('unknown memslot and map_memory flag names', (t) => {
  bad(t, doc({ memslots: [{ slot: 0, gpa: 0, size: '2MiB', flags: ['log_dirty_pages', 'dirty'] }] }), 'memslots[0].flags[1]', /unknown memslot flag "dirty"; flags: log_dirty_pages, readonly, guest_memfd/);
  bad(t, withOps([{ actor: 'vmm', op: 'set_memslot', slot: 1, gpa: 0, size: 0, flags: ['ro'] }]), 'ops[0].flags[0]', /unknown memslot flag/);
  bad(t, withOps([{ actor: 'vcpu0', op: 'map_memory', base_gfn: 0, nr_pages: 1, flags: ['write', 'huge'] }]), 'ops[0].flags[1]', /unknown map_memory flag "huge"; flags: write, exec, user, private/);
});

test('bad enum values name the field and the choices', (t) => {
  bad(t, doc({ vm: { type: 'sev' } }), 'vm.type', /expected one of default, sw_protected, snp, tdx, got "sev"/);
  bad(t, withOps([{ actor: 'vcpu0', op: 'access', gpa: 0, access: 'rw' }]), 'ops[0].access', /expected one of read, write, exec/);
  bad(t, withOps([{ actor: 'host', op: 'invalidate', gpa: 0, size: 4096, kind: 'ksm' }]), 'ops[0].kind', /expected one of migrate, reclaim, mprotect, munmap/);
  bad(t, withOps([{ actor: 'host', op: 'invalidate', gpa: 0, size: 4096, kind: 'mprotect', prot: 'rwx' }]), 'ops[0].prot', /expected one of r, rw, none/);
  bad(t, withOps([{ actor: 'host', op: 'invalidate', gpa: 0, size: 4096, kind: 'migrate', prot: 'r' }]), 'ops[0].prot', /only an mprotect/);
  bad(t, doc({ memslots: [{ slot: 0, gpa: 0, size: '2MiB', backing: '4M' }] }), 'memslots[0].backing', /expected one of 4K, 2M, 1G/);
  bad(t, doc({ memslots: [{ slot: 0, gpa: 0, size: '2MiB', host_memory: 'file' }] }), 'memslots[0].host_memory', /expected one of anonymous, shared, hugetlbfs/);
  bad(t, doc({ memslots: [{ slot: 0, gpa: 0, size: '2MiB', populated: 1 }] }), 'memslots[0].populated', /true or false/);
});

test('host memory and page size: 1G anonymous, 4K hugetlbfs and huge shared memory are refused, in memslots and set_memslot ops', (t) => {
  bad(t, doc({ memslots: [{ slot: 0, gpa: 0, size: '1GiB', backing: '1G' }] }), 'memslots[0].backing', /hugetlbfs only/);
  bad(t, doc({ memslots: [{ slot: 0, gpa: 0, size: '2MiB', host_memory: 'hugetlbfs' }] }), 'memslots[0].backing', /2M or 1G/);
  bad(t, doc({ memslots: [{ slot: 0, gpa: 0, size: '2MiB', host_memory: 'shared', backing: '2M' }] }), 'memslots[0].backing', /shared memory .* is 4K/);
  bad(t, withOps([{ actor: 'vmm', op: 'set_memslot', slot: 1, gpa: 0, size: '1GiB', backing: '1G', host_memory: 'anonymous' }]), 'ops[0].backing', /hugetlbfs only/);
  const ok = parseScenario(doc({ memslots: [{ slot: 0, gpa: 0, size: '1GiB', backing: '1G', host_memory: 'hugetlbfs', populated: true }, { slot: 1, gpa: '1GiB', size: '2MiB', backing: '2M' }] }), 'x.json');
  t.like(ok.memslots[0], { backingLevel: 3, hostMemory: 'hugetlbfs', populated: true });
  t.like(ok.memslots[1], { backingLevel: 2, hostMemory: 'anonymous', populated: false }, 'THP by default');
  bad(t, withOps([{ actor: 'vmm', op: 'set_memory_attributes', gpa: 0, size: 4096, attributes: 'secret' }]), 'ops[0].attributes', /private, shared or an integer/);
  bad(t, withOps([{ actor: 'vcpu0', op: 'pre_fault', gpa: 0, size: 4096, until_done: 'yes' }]), 'ops[0].until_done', /true or false/);
});

test('vcpus out of 1..256 and too many ops', (t) => {
  for (const vcpus of [0, 257, 1.5, '2']) bad(t, doc({ vm: { vcpus } }), 'vm.vcpus');
  bad(t, withOps([{ actor: 'vcpu0', op: 'access', gpa: 0, access: 'read', repeat: SCENARIO_OPS_MAX + 1 }]), 'ops[0].repeat', /out of range/);
  bad(t, withOps([{ actor: 'vcpu0', op: 'access', gpa: 0, access: 'read', repeat: 0 }]), 'ops[0].repeat', /out of range/);
});

test('bad numbers name the field; a guest access gpa must be below 2^52', (t) => {
  bad(t, withOps([{ actor: 'vcpu0', op: 'pre_fault', gpa: 0, size: '2 megs' }]), 'ops[0].size', /expected an integer, "0x…" or a size like "2MiB", got "2 megs"/);
  bad(t, withOps([{ actor: 'vcpu0', op: 'pre_fault', gpa: '0x10000000000000000', size: 4096 }]), 'ops[0].gpa', /64 bits/);
  bad(t, withOps([{ actor: 'vcpu0', op: 'pre_fault', gpa: -4096, size: 4096 }]), 'ops[0].gpa', /negative/);
  bad(t, withOps([{ actor: 'vcpu0', op: 'access', gpa: '0x10000000000000', access: 'read' }]), 'ops[0].gpa', /below 2\^52/);
  bad(t, withOps([{ actor: 'host', op: 'invalidate', gpa: 0, size: 0, kind: 'migrate' }]), 'ops[0].size', /at least one byte/);
  bad(t, doc({ memslots: [{ slot: 0, gpa: 0, size: '1.5MiB' }] }), 'memslots[0].size', /whole number/);
});

test('private on an access only for guests that choose it (SNP, TDX)', (t) => {
  bad(t, withOps([{ actor: 'vcpu0', op: 'access', gpa: 0, access: 'read', private: true }], { type: 'sw_protected' }), 'ops[0].private', /only SNP and TDX/);
  const s = parseScenario(withOps([{ actor: 'vcpu0', op: 'access', gpa: 0, access: 'read', private: true }], { type: 'snp' }), 'x.json');
  t.deepEqual(s.ops[0]!.op, { op: 'access', gpa: 0, access: 'read', private: true });
});

test('values the kernel rejects pass through unchanged, u64 fields as bigint', (t) => {
  const s = parseScenario(doc({
    vm: { type: 'sw_protected' },
    memslots: [{ slot: 0, gpa: '0x800', size: '0x1800', flags: 0xff }, { slot: 40000, gpa: 0, size: '2MiB' }],
    ops: [
      { actor: 'vcpu0', op: 'pre_fault', gpa: '0xfffffffffffff000', size: '0x2000' },
      { actor: 'vcpu0', op: 'pre_fault', gpa: '0x800', size: 100, flags: 1 },
      { actor: 'vcpu0', op: 'pre_fault', gpa: 0, size: 0, flags: '0xffffffffffffffff' },
      { actor: 'vmm', op: 'set_memory_attributes', gpa: '0x123', size: 4096, attributes: 1, flags: 2 },
      { actor: 'vcpu0', op: 'map_memory', base_gfn: '0xffffffffffffffff', nr_pages: 0, flags: 0x30, source: 1 },
      { actor: 'vmm', op: 'get_dirty_log', slot: 99 },
    ],
  }), 'x.json');
  t.deepEqual(s.memslots[0], { op: 'set_memslot', slot: 0, gpa: 0x800n, size: 0x1800n, flags: 0xff, backingLevel: 1, hostMemory: 'anonymous', populated: false });
  t.is(s.memslots[1]!.slot, 40000);
  t.deepEqual(s.ops.map((o) => o.op), [
    { op: 'pre_fault', gpa: 0xfffffffffffff000n, size: 0x2000n, flags: 0n, untilDone: false },
    { op: 'pre_fault', gpa: 0x800n, size: 100n, flags: 1n, untilDone: false },
    { op: 'pre_fault', gpa: 0n, size: 0n, flags: 0xffffffffffffffffn, untilDone: false },
    { op: 'set_memory_attributes', gpa: 0x123n, size: 4096n, attributes: 1n, flags: 2n },
    { op: 'map_memory', baseGfn: 0xffffffffffffffffn, nrPages: 0n, flags: 0x30n, source: 1n, untilDone: false },
    { op: 'get_dirty_log', slot: 99 },
  ]);
  // …and the model answers them with the kernel's errno.
  const r = runDeterministic(scenarioToRunConfig(s));
  t.deepEqual(r.violations, []);
  t.deepEqual(r.setupResults.map((x) => x?.op === 'set_memslot' ? x.errno : 'wrong op'), ['EINVAL', 'EINVAL']);
  t.deepEqual(r.results.map((x) => x !== null && 'errno' in x ? x.errno : 'no errno'), ['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'ENOENT']);
});

test('flag names, attribute names and backings map to the uAPI values', (t) => {
  const s = parseScenario(doc({
    vm: { type: 'sw_protected' },
    memslots: [{ slot: 0, gpa: 0, size: '64MiB', flags: ['guest_memfd'], backing: '1G', host_memory: 'hugetlbfs' }, { slot: 1, gpa: '1GiB', size: '2M', flags: ['log_dirty_pages', 'readonly'], backing: '2M', populated: true }],
    ops: [
      { actor: 'vcpu0', op: 'map_memory', base_gfn: 0, nr_pages: 4, flags: ['write', 'exec', 'user', 'private'], until_done: true },
      { actor: 'vmm', op: 'set_memory_attributes', gpa: 0, size: '2MiB', attributes: 'private' },
      { actor: 'vmm', op: 'set_memory_attributes', gpa: 0, size: '2MiB', attributes: 'shared' },
      { actor: 'host', op: 'invalidate', gpa: '0x1000', size: '4KiB', kind: 'mprotect', prot: 'none' },
      { actor: 'host', op: 'invalidate', gpa: '0x1000', size: '4KiB', kind: 'reclaim' },
      { actor: 'vmm', op: 'signal', vcpu: 'vcpu0' },
      { actor: 'vmm', op: 'finalize' },
    ],
  }), 'x.json');
  t.is(s.memslots[0]!.flags, KVM_MEM_GUEST_MEMFD);
  t.is(s.memslots[0]!.backingLevel, 3);
  t.is(s.memslots[1]!.flags, KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY);
  t.is(s.memslots[1]!.backingLevel, 2);
  t.like(s.memslots[0], { hostMemory: 'hugetlbfs', populated: false });
  t.like(s.memslots[1], { hostMemory: 'anonymous', populated: true });
  const ops = s.ops.map((o) => o.op);
  t.deepEqual(ops[0], { op: 'map_memory', baseGfn: 0n, nrPages: 4n, flags: 15n, source: 0n, untilDone: true });
  t.is(ops[1]!.op === 'set_memory_attributes' ? ops[1].attributes : -1n, 8n);
  t.is(ops[2]!.op === 'set_memory_attributes' ? ops[2].attributes : -1n, 0n);
  t.deepEqual(ops[3], { op: 'invalidate', gpa: 0x1000, size: 4096, kind: 'mprotect', prot: 'none' });
  t.deepEqual(ops[4], { op: 'invalidate', gpa: 0x1000, size: 4096, kind: 'reclaim', prot: 'r' });
  t.deepEqual(ops[5], { op: 'signal', vcpu: 0 });
  t.deepEqual(ops[6], { op: 'finalize' });
});

test('repeat expands an access and every expanded op knows its origin', (t) => {
  const s = parseScenario(withOps([
    { actor: 'vmm', op: 'finalize' },
    { actor: 'vcpu1', op: 'access', gpa: '0x5000', access: 'write', repeat: 3 },
    { actor: 'host', op: 'invalidate', gpa: '0x5000', size: 4096, kind: 'migrate' },
  ]), 'x.json');
  t.deepEqual(s.ops.map((o) => [o.actor, o.actorIndex, o.op.op, o.scenarioIndex, o.repeat, o.repeats]), [
    ['vmm', 3, 'finalize', 0, 1, 1],
    ['vcpu1', 1, 'access', 1, 1, 3],
    ['vcpu1', 1, 'access', 1, 2, 3],
    ['vcpu1', 1, 'access', 1, 3, 3],
    ['host', 2, 'invalidate', 2, 1, 1],
  ]);
  const cfg = scenarioToRunConfig(s, { scheduler: 'random', seed: 9, trace: true });
  t.deepEqual(cfg.ops.map((o) => o.actor), [3, 1, 1, 1, 2]);
  t.is(cfg.setup.length, 1);
  t.is(cfg.scheduler, 'random');
  t.is(cfg.seed, 9);
  t.true(cfg.trace);
  t.deepEqual(cfg.vm, { type: 'default', vcpus: 2, guestBytes: 64 * MiB, manualDirtyLogProtect: false, kernel: '6.19' });
});

test('guest memory: 2 x the memslots (later creates included), at least 64MiB; an explicit size must cover them', (t) => {
  const big = parseScenario(doc({
    memslots: [{ slot: 0, gpa: 0, size: '96MiB' }],
    ops: [
      { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '1GiB', size: '32MiB' },
      { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '1GiB', size: '32MiB', flags: ['log_dirty_pages'] },
      { actor: 'vmm', op: 'set_memslot', slot: 2, gpa: '0x801', size: '0xfffffffffffff000' },
    ],
  }), 'x.json');
  t.is(big.vm.memoryBytes, 2 * 128 * MiB);
  t.true(big.vm.memoryDefaulted);
  t.is(parseScenario(doc({ memslots: [{ slot: 0, gpa: 0, size: '4MiB' }] }), 'x.json').vm.memoryBytes, 64 * MiB);
  t.is(parseScenario(doc({ vm: { memory: '512MiB' }, memslots: [{ slot: 0, gpa: 0, size: '4MiB' }] }), 'x.json').vm.memoryBytes, 512 * MiB);
  bad(t, doc({ vm: { memory: '8MiB' }, memslots: [{ slot: 0, gpa: 0, size: '16MiB' }] }), 'vm.memory', /less than the 16MiB/);
  bad(t, doc({ memslots: [{ slot: 0, gpa: 0, size: '1TiB' }] }), 'memslots', /GUEST_BYTES_MAX/);
});

test('name defaults to the file name; description to empty', (t) => {
  const s = parseScenario('{}', 'dir/my-case.json');
  t.is(s.name, 'my-case');
  t.is(s.description, '');
  t.deepEqual(s.vm, { type: 'default', vcpus: 1, memoryBytes: 64 * MiB, memoryDefaulted: true, manualDirtyLogProtect: false, mmuInvalidateSeq: 0n, pageTables: null, kernel: '6.19', disabledQuirks: [], physBits: 48 });
  bad(t, doc({ name: 3 }), 'name', /expected a string/);
});

test('vm.disabled_quirks: names of quirks the VMM disables reach the VM config; an unknown one is refused', (t) => {
  const s = parseScenario(doc({ vm: { disabled_quirks: ['slot_zap_all'] } }), 'q.json');
  t.deepEqual(s.vm.disabledQuirks, ['slot_zap_all']);
  t.deepEqual(scenarioToRunConfig(s).vm.disabledQuirks, ['slot_zap_all']);
  t.is(scenarioToRunConfig(parseScenario('{}', 'q.json')).vm.disabledQuirks, undefined, 'none disabled: the config says nothing');
  bad(t, doc({ vm: { disabled_quirks: ['cd_nw_cleared'] } }), 'vm.disabled_quirks[0]', /slot_zap_all/);
  bad(t, doc({ vm: { disabled_quirks: 'slot_zap_all' } }), 'vm.disabled_quirks', /array|list/);
});

test('vm.phys_bits: 36 … 52, default 48, reaches the VM config; a slot beyond the width needs no memory (the model refuses it)', (t) => {
  const s = parseScenario(doc({ vm: { phys_bits: 52 } }), 'p.json');
  t.is(s.vm.physBits, 52);
  t.is(scenarioToRunConfig(s).vm.physBits, 52);
  t.is(scenarioToRunConfig(parseScenario('{}', 'p.json')).vm.physBits, undefined, 'the default: the config says nothing');
  for (const v of [35, 53, 48.5, '48']) bad(t, doc({ vm: { phys_bits: v } }), 'vm.phys_bits');
  // The pre-fault selftest's slot, 2MiB + 4KiB at the top of a 48-bit space: counted on 48 bits, not on 44.
  const top = { slot: 10, gpa: '0xffffffc00000', size: '0x201000' };
  t.is(parseScenario(doc({ vm: { phys_bits: 48, memory: '16MiB' }, memslots: [top] }), 'p.json').vm.memoryBytes, 16 * MiB);
  bad(t, doc({ vm: { phys_bits: 48, memory: '1MiB' }, memslots: [top] }), 'vm.memory', /less than the 2052KiB/);
  t.is(parseScenario(doc({ vm: { phys_bits: 44, memory: '1MiB' }, memslots: [top] }), 'p.json').vm.memoryBytes, MiB, 'beyond 44 bits: EINVAL, no memory');
});

test('after: an op waits for an earlier op of another actor (expanded index of its last repetition); bad references are errors', (t) => {
  const s = parseScenario(withOps([
    { actor: 'vcpu0', op: 'access', gpa: 0, access: 'read', repeat: 3 },
    { actor: 'vmm', op: 'set_memslot', slot: 0, gpa: 0, size: 0, after: 0 },
  ]), 'a.json');
  t.is(s.ops[3]!.after, 2);
  bad(t, withOps([{ actor: 'vcpu0', op: 'access', gpa: 0, access: 'read', after: 0 }]), 'ops[0].after', /must name an earlier op/);
  bad(t, withOps([{ actor: 'vcpu0', op: 'access', gpa: 0, access: 'read' }, { actor: 'vcpu0', op: 'access', gpa: 0, access: 'read', after: 0 }]), 'ops[1].after', /vcpu0's own/);
});

test('vm.mmu_invalidate_seq starts the counter of a long-lived VM (an unsigned long: 64 bits)', (t) => {
  const s = parseScenario(JSON.stringify({ vm: { mmu_invalidate_seq: '0x7ffffffe' }, memslots: [], ops: [] }), 's.json');
  t.is(s.vm.mmuInvalidateSeq, 0x7ffffffen);
  t.is(scenarioToRunConfig(s).vm.mmuInvalidateSeq, 0x7ffffffen);
  t.is(parseScenario(JSON.stringify({ vm: { mmu_invalidate_seq: '0xffffffffffffffff' }, memslots: [], ops: [] }), 's.json').vm.mmuInvalidateSeq, 0xffffffffffffffffn);
  bad(t, JSON.stringify({ vm: { mmu_invalidate_seq: '0x10000000000000000' }, memslots: [], ops: [] }), 'vm.mmu_invalidate_seq', /./);
});

test('vm.page_tables bounds the page-table pool (a host short of memory); absent, the pool fits the guest', (t) => {
  const s = parseScenario(JSON.stringify({ vm: { page_tables: 10 }, memslots: [], ops: [] }), 's.json');
  t.is(s.vm.pageTables, 10);
  t.is(scenarioToRunConfig(s).vm.pageTables, 10);
  t.is(scenarioToRunConfig(parseScenario(JSON.stringify({ memslots: [], ops: [] }), 's.json')).vm.pageTables, undefined);
  bad(t, JSON.stringify({ vm: { page_tables: 0 }, memslots: [], ops: [] }), 'vm.page_tables', /./);
  bad(t, JSON.stringify({ vm: { page_tables: 'many' }, memslots: [], ops: [] }), 'vm.page_tables', /./);
});
