// Goal: the C reproducer's leaf pieces are valid C — literals, identifiers, comments, the guest's machine code and the op table entries; method: check their text and decode the guest's jumps.

import test from 'ava';
import { asciiText, cComment, cIdent, cString, cU64, chunk } from '../../src/export/c-text.js';
import { DONE_PORT, MAILBOX_OFFSET, guestCode } from '../../src/export/c-guest.js';
import { cOpEntry, describeOp } from '../../src/export/c-tables.js';
import { cPrologue } from '../../src/export/c-uapi.js';

test('cU64: hex with ULL; refuses what is not a u64', (t) => {
  t.is(cU64(0), '0x0ULL');
  t.is(cU64(0x200000n), '0x200000ULL');
  t.is(cU64((1n << 64n) - 1n), '0xffffffffffffffffULL');
  t.throws(() => cU64(-1));
  t.throws(() => cU64(1n << 64n));
});

test('cString escapes quotes, backslashes, newlines and non-ASCII', (t) => {
  t.is(cString('a "b" \\c'), '"a \\"b\\" \\\\c"');
  t.is(cString('x\ny'), '"x\\ny"');
  t.is(cString('→'), '"\\342\\206\\222"');
});

test('cIdent and chunk', (t) => {
  t.is(cIdent('vcpu0'), 'vcpu0');
  t.is(cIdent('my-scenario.json'), 'my_scenario_json');
  t.is(cIdent('0abc'), '_0abc');
  t.deepEqual(chunk('abcdefg', 3), ['abc', 'def', 'g']);
});

test('asciiText spells the docs\' typography in ASCII', (t) => {
  t.is(asciiText('a … b — c ↔ d → e'), 'a ... b - c <-> d -> e');
});

test('cComment wraps lines and cannot be closed early by its text', (t) => {
  const c = cComment(['one */ two', '', `${'word '.repeat(40)}end`], 40);
  t.true(c.startsWith('/*\n'));
  t.true(c.endsWith('\n */'));
  t.is(c.indexOf('*/'), c.length - 2);
  for (const line of c.split('\n')) t.true(line.length <= 44, line);
});

/** Decodes the guest's short jumps: each lands on an instruction boundary inside the code. */
test('the guest code: out to DONE_PORT, the mailbox in its own page, jumps back to the out', (t) => {
  const code = guestCode(0xfffff000n);
  t.deepEqual(code.slice(0, 2), [0xe6, DONE_PORT]);
  const box = 0xfffff000 + MAILBOX_OFFSET;
  t.deepEqual(code.slice(4, 8), [box & 0xff, (box >>> 8) & 0xff, (box >>> 16) & 0xff, box >>> 24]);
  const target = (at: number): number => at + 2 + (code[at + 1]! << 24 >> 24);
  t.is(code[0x10], 0x75);
  t.is(target(0x10), 0x16); // jnz → the write
  t.deepEqual(code.slice(0x12, 0x14), [0x8a, 0x06]); // mov al, [esi]
  t.deepEqual(code.slice(0x16, 0x18), [0x88, 0x06]); // mov [esi], al
  t.is(target(0x14), 0);
  t.is(target(0x18), 0);
  t.is(code.length, 0x1a);
  t.true(MAILBOX_OFFSET >= code.length);
});

test('an op table entry: designated initializers, what it is, what the model allows', (t) => {
  const e = cOpEntry({ index: 3, actor: 'vcpu0', op: { op: 'pre_fault', gpa: 0n, size: 0x200000n, flags: 0n, untilDone: true }, backing: -1, slotBytes: 0n, after: -1, expect: ['ENOENT', 'ok'] });
  t.regex(e, /^\t\{ \.index = 3, \.kind = OP_PRE_FAULT, \.gpa = 0x0ULL, \.size = 0x200000ULL, \.flags = 0x0ULL, \.until_done = 1, \.after = -1, /);
  t.regex(e, /\.expect = "ENOENT\|ok" \},$/);
  t.is(describeOp({ op: 'set_memslot', slot: 1, gpa: 0x2000000n, size: 0n, flags: 0, backingLevel: 1 }), 'KVM_SET_USER_MEMORY_REGION2 slot 1 delete');
  t.is(describeOp({ op: 'invalidate', gpa: 0x5000, size: 0x1000, kind: 'mprotect', prot: 'r' }), 'mprotect(r) of gpa [0x5000, +0x1000)');
});

test('the prologue guards every newer uAPI name with #ifndef and the 6.11 values', (t) => {
  const p = cPrologue();
  for (const [name, value] of [['KVM_CAP_PRE_FAULT_MEMORY', '236'], ['KVM_CAP_VM_TYPES', '235'], ['KVM_CAP_USER_MEMORY2', '231'], ['KVM_X86_SW_PROTECTED_VM', '1'], ['KVM_EXIT_MEMORY_FAULT', '39']]) {
    t.regex(p, new RegExp(`#ifndef ${name}\\n#define ${name} ${value}\\n#endif`));
  }
  t.regex(p, /#define KVM_PRE_FAULT_MEMORY _IOWR\(KVMIO, 0xd5, struct kvm_pre_fault_memory\)/);
  t.regex(p, /#define KVM_SET_USER_MEMORY_REGION2 _IOW\(KVMIO, 0x49, struct kvm_userspace_memory_region2\)/);
  t.regex(p, /#define KVM_SET_MEMORY_ATTRIBUTES _IOW\(KVMIO, 0xd2, struct kvm_memory_attributes\)/);
  t.regex(p, /#define KVM_CREATE_GUEST_MEMFD _IOWR\(KVMIO, 0xd4, struct kvm_create_guest_memfd\)/);
  t.regex(p, /#define KVM_X86_QUIRK_SLOT_ZAP_ALL \(1 << 7\)/);
  t.regex(p, /\t__u64 padding\[5\];/);
  t.regex(p, /\t__u32 guest_memfd;\n\t__u32 pad1;\n\t__u64 pad2\[14\];/);
});
