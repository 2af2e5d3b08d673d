/**
 * tools/testing/selftests/kvm/mmu_stress_test.c, scaled down: memslots from slot 1 at 4GiB,
 * all backed by one shared memfd written before the guest runs; each vCPU goes over its
 * partition once per stage — write; toggle CR0.WP (an MMU context reset) and re-write;
 * read; write while the host mprotect()s the backing PROT_READ (x86: every write must fail
 * with EFAULT); write once it is PROT_READ|PROT_WRITE again (must succeed) — the vCPUs
 * and the main thread meeting between stages; then the even-numbered slots are deleted
 * and the first half of the backing munmap()ed, and nothing of them may stay mapped. The
 * stages are the ones `--preset mmu-stress` runs on threads (src/workload/presets); here
 * they run on the deterministic engine with a seeded random interleaving.
 *
 * Scaled: 2 vCPUs and 4 slots of 128KiB (the selftest: 3/4 of the host's CPUs, 2GiB
 * slots up to 128GiB). The model gives each slot its own backing, so the one memfd the
 * selftest aliases into every slot is an mprotect()/munmap() per slot.
 */

import type { KernelRelease } from '../kvm/kernel-release.js';
import { MMU_STRESS_STAGES } from '../workload/presets/mmu-stress.js';
import { accessesFail, accessesOk, memslotOpsOk, noViolation } from './checks.js';
import { OpList, PAGE, hx } from './doc.js';
import { judgeCases, runScenario, scenarioOf, type Case, type Selftest , type SelftestOptions } from './harness.js';

const START_GPA = 4n << 30n;
const FIRST_SLOT = 1;
const SLOTS = 4;
const SLOT_PAGES = 32;
const VCPUS = 2;
/** The seed of the interleaving: any seed must pass; this one is what the suite runs. */
const SEED = 1;

const slotGpa = (i: number): bigint => START_GPA + BigInt(i * SLOT_PAGES * PAGE);

interface Stage {
  readonly name: string;
  readonly kind: 'read' | 'write';
  readonly expect: 'ok' | 'EFAULT';
}

const STAGES: readonly Stage[] = [
  { name: MMU_STRESS_STAGES[0], kind: 'write', expect: 'ok' },
  { name: MMU_STRESS_STAGES[1], kind: 'write', expect: 'ok' },
  { name: MMU_STRESS_STAGES[2], kind: 'read', expect: 'ok' },
  { name: MMU_STRESS_STAGES[3], kind: 'write', expect: 'EFAULT' },
  { name: MMU_STRESS_STAGES[4], kind: 'write', expect: 'ok' },
];

/** Host mprotect()s of every slot's backing; returns their indices. */
function mprotectAll(l: OpList, prot: 'r' | 'rw', after: readonly number[]): number[] {
  const out: number[] = [];
  for (let s = 0; s < SLOTS; s++) out.push(l.add('host', 'invalidate', { gpa: hx(slotGpa(s)), size: hx(SLOT_PAGES * PAGE), kind: 'mprotect', prot }, s === 0 ? after : undefined));
  return out;
}

/** Each vCPU's pass over its partition for one stage, after the rendezvous `after`; returns per vCPU its ops. */
function stagePass(l: OpList, st: Stage, stageNo: number, after: readonly number[]): number[][] {
  const part = (SLOTS * SLOT_PAGES) / VCPUS;
  return Array.from({ length: VCPUS }, (_, v) => {
    const first = stageNo === 1 ? [l.add(`vcpu${v}`, 'mmu_reset', {}, after)] : [];
    return [...first, ...l.touch(`vcpu${v}`, START_GPA + BigInt(v * part * PAGE), part, st.kind, first.length > 0 ? undefined : after)];
  });
}

function layout(): { doc: object; cases: Case[]; gates: ReadonlyMap<number, readonly number[]> } {
  const l = new OpList();
  const cases: Case[] = [];
  let rendezvous: number[] = [];
  for (const [i, st] of STAGES.entries()) {
    const host = i === 3 ? mprotectAll(l, 'r', rendezvous) : i === 4 ? mprotectAll(l, 'rw', rendezvous) : [];
    const passes = stagePass(l, st, i, host.length > 0 ? [host[host.length - 1]!] : rendezvous);
    const accesses = passes.flatMap((p) => (i === 1 ? p.slice(1) : p));
    const check = st.expect === 'ok' ? accessesOk(accesses, `stage ${i}`) : accessesFail(accesses, 'EFAULT', `stage ${i}: Expected EFAULT on write to RO memory`);
    cases.push({ name: `stage ${i}: ${st.name}`, ops: [...host, ...passes.flat()], checks: [check] });
    rendezvous = passes.map((p) => p[p.length - 1]!);
  }
  const deletes: number[] = [];
  for (let slot = (FIRST_SLOT + SLOTS - 1) & ~1; slot >= FIRST_SLOT; slot -= 2) deletes.push(l.add('vmm', 'set_memslot', { slot, gpa: 0, size: 0 }, deletes.length === 0 ? rendezvous : undefined));
  const unmaps: number[] = [];
  for (let s = 0; s < SLOTS; s++) if ((FIRST_SLOT + s) % 2 === 1) unmaps.push(l.add('host', 'invalidate', { gpa: hx(slotGpa(s)), size: hx((SLOT_PAGES / 2) * PAGE), kind: 'munmap' }, unmaps.length === 0 ? [deletes[deletes.length - 1]!] : undefined));
  cases.push({ name: 'delete the even slots, munmap half the backing: KVM drops every reference', ops: [...deletes, ...unmaps], checks: [memslotOpsOk(deletes), noViolation] });
  const memslots = Array.from({ length: SLOTS }, (_, s) => ({ slot: FIRST_SLOT + s, gpa: hx(slotGpa(s)), size: hx(SLOT_PAGES * PAGE), host_memory: 'shared', populated: true }));
  return { doc: { name: 'mmu_stress_test', vm: { type: 'default', vcpus: VCPUS }, memslots, ops: l.ops }, cases, gates: l.gates };
}

export const mmuStressTest: Selftest = {
  name: 'mmu_stress_test',
  source: 'tools/testing/selftests/kvm/mmu_stress_test.c',
  summary: 'vCPUs write, reset the MMU and re-write, read, write under mprotect(PROT_READ) (EFAULT) and after PROT_WRITE, then slots are deleted and the backing unmapped; 2 vCPUs, 4 slots of 128KiB, seeded random interleaving',
  run: (kernel: KernelRelease, { mutations }: SelftestOptions = {}) => {
    const { doc, cases, gates } = layout();
    return judgeCases('', cases, runScenario(scenarioOf(doc), kernel, { scheduler: 'random', seed: SEED, gates, ...(mutations !== undefined ? { mutations } : {}) }));
  },
};
