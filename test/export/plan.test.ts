// Goal: a scenario is laid out as a real VMM would (a backing per memslot creation, moves keep theirs, the code page clear of every slot) and what no real host can run is refused in one line; method: plans of small scenarios.

import test from 'ava';
import { ExportError, codePageGpa, planOf } from '../../src/export/plan.js';
import { parseScenario } from '../../src/workload/scenario.js';

const scenario = (ops: unknown[], memslots: unknown[] = [{ slot: 0, gpa: '0x0', size: '16MiB' }], vm: Record<string, unknown> = { type: 'default', vcpus: 1 }) =>
  parseScenario(JSON.stringify({ name: 't', description: 'd', vm, memslots, ops }), 't.json');

test('one backing per memslot creation; a move keeps its slot\'s, a delete passes the slot\'s, an invalidation finds the one covering its gpa', (t) => {
  const s = scenario([
    { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '32MiB', size: '2MiB', host_memory: 'shared' },
    { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '64MiB', size: '2MiB' },
    { actor: 'vmm', op: 'set_memslot', slot: 1, gpa: '64MiB', size: '0' },
    { actor: 'host', op: 'invalidate', gpa: '0x5000', size: '4KiB', kind: 'migrate' },
    { actor: 'vmm', op: 'get_dirty_log', slot: 0 },
  ]);
  const p = planOf(s, s.ops.map(() => ['ok']));
  t.is(p.backings.length, 2);
  t.is(p.backings[1]!.memory, 'shared');
  t.deepEqual(p.ops.map((o) => o.backing), [1, 1, 1, 0, -1]);
  t.is(p.ops[4]!.slotBytes, 16n << 20n);
  t.is(p.codeSlot, 2);
  t.is(p.codeGpa, 0xfffff000n);
  t.is(p.cannotLaunch, null);
});

test('the code page avoids every range a memslot ever covers', (t) => {
  t.is(codePageGpa([{ gpa: 0xfff00000n, sizeBytes: 0x100000n }]), 0xffeff000n);
  t.is(codePageGpa([{ gpa: 0n, sizeBytes: 1n << 32n }].slice(0, 0)), 0xfffff000n);
  t.throws(() => codePageGpa([{ gpa: 0n, sizeBytes: 1n << 32n }]), { instanceOf: ExportError });
});

test('refused: accesses above 4 GiB, exec accesses, kvm_vm_dead()', (t) => {
  const high = scenario([{ actor: 'vcpu0', op: 'access', gpa: '0x100000000', access: 'read' }], [{ slot: 0, gpa: '0x100000000', size: '2MiB' }]);
  t.throws(() => planOf(high, [[]]), { instanceOf: ExportError, message: /above 4 GiB/ });
  const exec = scenario([{ actor: 'vcpu0', op: 'access', gpa: '0x1000', access: 'exec' }]);
  t.throws(() => planOf(exec, [[]]), { instanceOf: ExportError, message: /exec accesses/ });
  const dead = scenario([{ actor: 'vmm', op: 'vm_dead' }]);
  t.throws(() => planOf(dead, [[]]), { instanceOf: ExportError, message: /KVM_BUG_ON/ });
});

test('guest_memfd slots, disabled quirks, what a real host does not reproduce; an SNP VM cannot be launched', (t) => {
  const s = scenario([], [{ slot: 0, gpa: '0x0', size: '16MiB', flags: ['guest_memfd'] }], { type: 'sw_protected', vcpus: 1, mmu_invalidate_seq: '0x7fffffff' });
  const p = planOf(s, []);
  t.true(p.backings[0]!.guestMemfd);
  t.regex(p.notes.join('\n'), /mmu_invalidate_seq/);
  const q = planOf(scenario([], undefined, { type: 'default', vcpus: 1, disabled_quirks: ['slot_zap_all'] }), []);
  t.is(q.disabledQuirks, 1 << 7);
  const snp = planOf(scenario([], [{ slot: 0, gpa: '0x0', size: '16MiB', flags: ['guest_memfd'] }], { type: 'snp', vcpus: 1 }), []);
  t.regex(snp.cannotLaunch ?? '', /KVM_SEV_SNP_LAUNCH_FINISH/);
});
