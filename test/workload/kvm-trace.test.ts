// Goal: a kvm:kvm_page_fault trace from a real host (trace-cmd report, perf script, the ftrace file; current and older event form) becomes per-vCPU guest accesses, other events are skipped and counted, and a broken line is an error naming it; method: real-format lines.

import test from 'ava';
import { TraceFormatError, accessOfErrorCode, readKvmTrace, readKvmTraceFile } from '../../src/workload/kvm-trace.js';

const traceCmd = [
  'cpus=4',
  '       CPU 0/KVM-4242  [002]  5102.123456: kvm_exit:             reason EPT_VIOLATION rip 0xffffffff81001234 info 181 0',
  '       CPU 0/KVM-4242  [002]  5102.123457: kvm_page_fault:       vcpu 0 rip 0xffffffff81001234 address 0x0000000100200000 error_code 0x100000004',
  '       CPU 2/KVM-4244  [001]  5102.123460: kvm_page_fault:       vcpu 2 rip 0xffffffff81005678 address 0x0000000000300040 error_code 0x100000006',
  '       CPU 2/KVM-4244  [001]  5102.123470: kvm_entry:            vcpu 2, rip 0xffffffff81005678',
].join('\n');

const perfScript = [
  '        qemu-kvm  4243 [003]  5102.200000: kvm:kvm_page_fault: vcpu 1 rip 0xfff0 address 0x00000000000fe000 error_code 0x100000014',
  '        qemu-kvm  4243 [003]  5102.200100: kvm:kvm_exit: reason EPT_VIOLATION rip 0xfff0 info 184 0',
].join('\n');

const ftraceOlder = [
  '# tracer: nop',
  '#',
  '#           TASK-PID     CPU#  ||||   TIMESTAMP  FUNCTION',
  '#              | |         |   ||||      |         |',
  '       CPU 1/KVM-4243  [003] ....   812.000001: kvm_page_fault: address fe000 error_code 14',
  '  vcpu-thread-9001 [000] ....    812.500000: kvm_page_fault: address 3000 error_code 6',
  '  vcpu-thread-9002 [001] ....    812.600000: kvm_page_fault: address 0x5000 error_code 0x4',
  '  vcpu-thread-9001 [000] ....    812.700000: kvm_page_fault: address 7000 error_code 4',
  '',
].join('\n');

test('error code bits: PFERR_FETCH makes an exec, else PFERR_WRITE a write, else a read', (t) => {
  t.is(accessOfErrorCode(0x100000004n), 'read');
  t.is(accessOfErrorCode(0x100000006n), 'write');
  t.is(accessOfErrorCode(0x100000014n), 'exec');
  t.is(accessOfErrorCode(0x16n), 'exec');
});

test('trace-cmd report, current form: vCPU ids, addresses, access kinds, times; other events skipped and counted', (t) => {
  const tr = readKvmTrace(traceCmd);
  t.is(tr.faults.length, 2);
  t.is(tr.skipped, 3, 'the cpus= header, kvm_exit and kvm_entry');
  t.deepEqual(tr.vcpuIds, [0, 2]);
  t.like(tr.faults[0], { line: 3, vcpuId: 0, gpa: 0x100200000n, access: 'read', private: false, rip: 0xffffffff81001234n, time: 5102.123457 });
  t.like(tr.faults[1], { line: 4, vcpuId: 2, gpa: 0x300040n, access: 'write' });
  t.deepEqual(tr.forms, { current: 2, older: 0 });
});

test('perf script: the kvm:kvm_page_fault event name', (t) => {
  const tr = readKvmTrace(perfScript);
  t.is(tr.faults.length, 1);
  t.like(tr.faults[0], { vcpuId: 1, gpa: 0xfe000n, access: 'exec', time: 5102.2 });
  t.is(tr.skipped, 1);
});

test('the older form (no vCPU id): QEMU "CPU n/KVM" threads are vCPU n, other threads numbered by pid as they appear; hex with or without 0x', (t) => {
  const tr = readKvmTrace(ftraceOlder);
  t.is(tr.skipped, 0, 'comment and blank lines are neither faults nor skipped events');
  t.deepEqual(tr.faults.map((f) => [f.vcpuId, f.gpa, f.access, f.rip]), [
    [1, 0xfe000n, 'exec', null],
    [0, 0x3000n, 'write', null],
    [1, 0x5000n, 'read', null],
    [0, 0x7000n, 'read', null],
  ]);
  t.deepEqual(tr.forms, { current: 0, older: 4 });
});

test('PFERR_PRIVATE_ACCESS (bit 49) marks a private access', (t) => {
  const tr = readKvmTrace('CPU 0/KVM-1 [000] 1.0: kvm_page_fault: vcpu 0 rip 0x0 address 0x1000 error_code 0x2000100000004');
  t.true(tr.faults[0]!.private);
});

test('a kvm_page_fault line that does not parse is an error naming its line; an empty trace is empty', (t) => {
  const bad = `${traceCmd}\n       CPU 0/KVM-4242  [002]  5102.2: kvm_page_fault:       vcpu zero rip 0x1 address 0x2 error_code 0x3`;
  const e = t.throws(() => readKvmTrace(bad), { instanceOf: TraceFormatError });
  t.is(e!.line, 6);
  t.regex(e!.message, /^trace line 6: /);
  t.throws(() => readKvmTrace('x [000] 1.0: kvm_page_fault: address zz error_code 4'), { message: /trace line 1/ });
  t.deepEqual(readKvmTrace('').faults, []);
});

test('raw fields, as trace-cmd prints an event it cannot format: [FAILED TO PARSE] name=value, decimal or hex, either event form', (t) => {
  const tr = readKvmTrace([
    '       CPU 1/KVM-4243  [003]  5102.1: kvm_page_fault:       [FAILED TO PARSE] vcpu_id=1 guest_rip=0xffffffff81001234 fault_address=1052672 error_code=404',
    '       CPU 0/KVM-4242  [002]  5102.2: kvm_page_fault:       fault_address=0x5000 error_code=0x6',
  ].join('\n'));
  t.is(tr.faults.length, 2);
  t.like(tr.faults[0], { vcpuId: 1, gpa: 1052672n, errorCode: 404n, access: 'exec', rip: 0xffffffff81001234n });
  t.like(tr.faults[1], { vcpuId: 0, gpa: 0x5000n, errorCode: 6n, access: 'write', rip: null });
  t.deepEqual(tr.forms, { current: 1, older: 1 });
  // Raw fields without the fault's own fields are still a broken line.
  const e = t.throws(() => readKvmTrace('x-1 [000] 1.0: kvm_page_fault: [FAILED TO PARSE] vcpu_id=1 guest_rip=0x10'), { instanceOf: TraceFormatError });
  t.is(e.line, 1);
});

test('a trace file is read as a stream of lines: the same trace as from its text; a broken line names its number; a missing file rejects', async (t) => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'faultline-trace-'));
  try {
    const file = join(dir, 'trace.txt');
    writeFileSync(file, `${traceCmd}\r\n${perfScript}\n`);
    const fromFile = await readKvmTraceFile(file);
    t.deepEqual(fromFile, readKvmTrace(`${traceCmd}\n${perfScript}\n`));
    writeFileSync(file, `${traceCmd}\nCPU 0/KVM-1 [000] 1.0: kvm_page_fault: vcpu 0 rip nope\n`);
    const e = await t.throwsAsync(() => readKvmTraceFile(file), { instanceOf: TraceFormatError });
    t.is(e!.line, 6);
    await t.throwsAsync(() => readKvmTraceFile(join(dir, 'missing.txt')), { code: 'ENOENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
