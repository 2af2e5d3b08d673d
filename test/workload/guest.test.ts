// Goal: every benchmark workload is a function of its seed and covers the memory it claims (boot's phases, partitioned slices, sequential's every page, zipf's hot set), and a recorded trace becomes per-vCPU accesses; method: generate and count.

import test from 'ava';
import { ACCESS_EXEC, ACCESS_READ, ACCESS_WRITE, bootLayout, guestWorkload, traceWorkload, type GuestWorkloadConfig } from '../../src/workload/guest.js';
import { readKvmTrace } from '../../src/workload/kvm-trace.js';

const MiB = 1024 * 1024;
const base: GuestWorkloadConfig = { kind: 'uniform', vcpus: 4, memoryBytes: 64 * MiB, sharing: 'partitioned', seed: 7 };
const pages = (64 * MiB) / 4096;

test('the same seed gives the same accesses; another seed other ones; vCPUs do not share a stream', (t) => {
  for (const kind of ['boot', 'uniform', 'sequential', 'zipf'] as const) {
    const a = guestWorkload({ ...base, kind });
    const b = guestWorkload({ ...base, kind });
    t.deepEqual(a.vcpus.map((v) => [...v.gfns]), b.vcpus.map((v) => [...v.gfns]), kind);
  }
  const a = guestWorkload(base);
  const c = guestWorkload({ ...base, seed: 8 });
  t.notDeepEqual([...a.vcpus[0]!.gfns], [...c.vcpus[0]!.gfns]);
  t.notDeepEqual([...a.vcpus[0]!.gfns.slice(0, 50)].map((g) => g % 4096), [...a.vcpus[1]!.gfns.slice(0, 50)].map((g) => g % 4096));
});

test('sequential, partitioned: every page exactly once, each vCPU its own contiguous quarter, written in order', (t) => {
  const w = guestWorkload({ ...base, kind: 'sequential' });
  const seen = new Uint8Array(pages);
  w.vcpus.forEach((v, i) => {
    t.is(v.gfns[0], (pages / 4) * i);
    for (let k = 1; k < v.gfns.length; k++) t.is(v.gfns[k], v.gfns[k - 1]! + 1);
    t.true(v.kinds.every((x) => x === ACCESS_WRITE));
    for (const g of v.gfns) seen[g]!++;
  });
  t.true(seen.every((x) => x === 1));
});

test('uniform: partitioned stays in the vCPU slice, shared spans all memory; the write ratio holds', (t) => {
  const p = guestWorkload({ ...base, accesses: 20000 });
  p.vcpus.forEach((v, i) => t.true(v.gfns.every((g) => g >= (pages / 4) * i && g < (pages / 4) * (i + 1)), `vcpu${i}`));
  const s = guestWorkload({ ...base, sharing: 'shared', accesses: 20000 });
  t.true(s.vcpus[0]!.gfns.some((g) => g >= pages / 2) && s.vcpus[3]!.gfns.some((g) => g < pages / 4));
  const writes = p.vcpus[0]!.kinds.filter((k) => k === ACCESS_WRITE).length;
  t.true(writes > 9000 && writes < 11000, `${writes} writes of 20000`);
  t.is(guestWorkload(base).vcpus[0]!.gfns.length, pages / 4, 'default: as many accesses as the slice has pages');
});

test('zipf: a few hot pages take most accesses', (t) => {
  const w = guestWorkload({ ...base, kind: 'zipf', accesses: 50000 });
  const counts = new Map<number, number>();
  for (const g of w.vcpus[0]!.gfns) counts.set(g, (counts.get(g) ?? 0) + 1);
  const sorted = [...counts.values()].sort((a, b) => b - a);
  const top = sorted.slice(0, 40).reduce((a, b) => a + b, 0);
  t.true(top > 0.3 * 50000, `the 40 hottest pages take ${top} of 50000`);
  t.true(counts.size > 2000, `a long tail: ${counts.size} distinct pages`);
});

test('boot: firmware and the kernel image on the BSP, the APs gated behind it, zeroing covers half of RAM once, then random touches', (t) => {
  const w = guestWorkload({ ...base, kind: 'boot' });
  const l = bootLayout(pages);
  const bsp = w.vcpus[0]!;
  t.deepEqual([...bsp.gfns.slice(0, l.firmware)], Array.from({ length: l.firmware }, (_, i) => i));
  t.is(bsp.kinds[0], ACCESS_EXEC);
  t.is(bsp.gfns[l.firmware], l.kernelFirst);
  t.is(bsp.kinds[l.firmware + 1], ACCESS_READ);
  t.is(bsp.gate, undefined);
  for (const ap of w.vcpus.slice(1)) t.deepEqual(ap.gate, { vcpu: 0, index: l.firmware + l.kernel - 1 });
  const zeroed = new Uint8Array(pages);
  w.vcpus.forEach((v, i) => {
    const start = i === 0 ? l.firmware + l.kernel : 0;
    for (let k = 0; k < v.gfns.length; k++) if (k >= start && v.gfns[k]! >= l.zeroFirst && v.gfns[k]! < l.zeroFirst + l.zero && v.kinds[k] === ACCESS_WRITE && k < start + l.zero) zeroed[v.gfns[k]!] = 1;
  });
  t.is(zeroed.reduce((a, b) => a + b, 0), l.zero, 'the zeroing phase writes every page of its half once');
  t.is(l.zero, pages / 2);
});

test('a recorded trace: faults per vCPU in trace order, vCPU ids mapped in ascending order, memory covering the highest address', (t) => {
  const tr = readKvmTrace([
    'CPU 3/KVM-1 [000] 1.0: kvm_page_fault: vcpu 3 rip 0x0 address 0x0000000000201000 error_code 0x100000006',
    'CPU 1/KVM-2 [001] 1.1: kvm_page_fault: vcpu 1 rip 0x0 address 0x0000000000005000 error_code 0x100000014',
    'CPU 3/KVM-1 [000] 1.2: kvm_page_fault: vcpu 3 rip 0x0 address 0x0000000000007000 error_code 0x100000004',
  ].join('\n'));
  const w = traceWorkload(tr);
  t.is(w.vcpus.length, 2);
  t.deepEqual([...w.vcpus[0]!.gfns], [5]);
  t.deepEqual([...w.vcpus[0]!.kinds], [ACCESS_EXEC]);
  t.deepEqual([...w.vcpus[1]!.gfns], [0x201, 7]);
  t.deepEqual([...w.vcpus[1]!.kinds], [ACCESS_WRITE, ACCESS_READ]);
  t.is(w.memoryBytes, 4 * MiB);
  t.is(w.dropped, undefined, 'nothing to leave out below 1 GiB');
  t.throws(() => traceWorkload(tr, 2 * MiB), { message: /touches 4 MiB of guest memory, more than the 2 MiB guest/ });
});

test('a real guest\'s trace: RAM on both sides of the PCI hole and an MMIO page far up — the untouched gigabytes are left out, offsets kept', (t) => {
  const line = (gpa: bigint): string => `CPU 0/KVM-1 [000] 1.0: kvm_page_fault: vcpu 0 rip 0x0 address 0x${gpa.toString(16).padStart(16, '0')} error_code 0x6`;
  const GiB = 1n << 30n;
  const tr = readKvmTrace([line(0x1000n), line(GiB + 0x3000n), line(4n * GiB + 0x200000n), line(0x380000000000n + 0x5000n)].join('\n'));
  const w = traceWorkload(tr);
  const pagesPerGiB = 1 << 18;
  // Gigabytes 0, 1, 4 and 0xe000 become 0, 1, 2, 3; the page offset inside each is kept.
  t.deepEqual([...w.vcpus[0]!.gfns], [1, pagesPerGiB + 3, 2 * pagesPerGiB + 0x200, 3 * pagesPerGiB + 5]);
  t.is(w.memoryBytes, 3 * 2 ** 30 + 2 * MiB);
  t.deepEqual(w.dropped, [[2n * GiB, 4n * GiB], [5n * GiB, 0x380000000000n]]);
});

test('bad configurations are errors', (t) => {
  t.throws(() => guestWorkload({ ...base, vcpus: 0 }));
  t.throws(() => guestWorkload({ ...base, memoryBytes: 1000 }));
});
