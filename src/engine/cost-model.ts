/**
 * The simulated clock's cost model: virtual nanoseconds charged for what a step did. Each
 * actor (vCPU thread, host, VMM) has its own clock; the deterministic engine, given a cost
 * model, always steps the runnable actor whose clock is earliest (a discrete-event
 * simulation), so actors advance in parallel in virtual time; an actor that waited (for
 * mmu_lock, an SRCU reader, another actor's op) resumes no earlier than the step that
 * released it ended. A run's simulated time is the latest clock when it ends.
 *
 * The costs, by what a transition of the protocol machines does:
 *
 *   vmExit, vmEntry   an EPT violation's exit and the re-entry (vcpu machine)
 *   guestAccess       a guest access that hits the TLB
 *   hwWalkLevel       per level of the hardware page walk after a TLB miss (4 levels)
 *   walkLevel         per level of KVM's own walk (tdp_iter) in kvm_tdp_mmu_map
 *   spteCas           a locked cmpxchg of an SPTE (install, link, zap, write-protect)
 *   tableAlloc        zeroing a new page-table page (it comes from the per-vCPU cache)
 *   lock              taking mmu_lock (uncontended; contention is the waiting, not this)
 *   gup               hva → pfn for a page the host already has (get_user_pages fast path)
 *   hostAlloc         the host page fault that allocates a page on first touch …
 *   hostZero4k        … plus zeroing it, per 4 KiB (a 2 MiB THP is 512 of them)
 *   tlbFlushLocal     a vCPU flushing its own TLB on entry
 *   tlbFlushRemote    kvm_flush_remote_tlbs(): the request to every vCPU and its IPI wait
 *   ioctl             entering and leaving a vCPU ioctl (syscall, vcpu_load/vcpu_put)
 *   step              every step, for the bookkeeping around the above
 *
 * Defaults (reference §7; all overridable with --cost KEY=NS): a VM exit + entry round trip
 * is about 1 µs on current x86 (§7.3, rule of thumb, unsourced there) — split 500 + 500; a
 * minor EPT violation on a resident page costs low single-digit µs in total (§7.3) — the
 * exit, entry, walk, gup (300) and install make ~1.5 µs here; the serialized critical path
 * per fault of the 2021 TDP MMU baseline was ~1.5 µs and a parallel fault with host page
 * allocation and zeroing ~20 µs per vCPU (§7.2, derived) — hostAlloc 800 plus zeroing at
 * ~16 GB/s (250 per 4 KiB); a remote TLB flush is an IPI round trip to every vCPU, ~2 µs;
 * an uncontended rwlock, a cmpxchg and a cache-hot page-table level take tens of ns.
 */

import type { CompiledMachine, CompiledTransition, GuardExpr } from '../protocol/compile.js';

export const COST_KEYS = [
  'vmExit', 'vmEntry', 'guestAccess', 'hwWalkLevel', 'walkLevel', 'spteCas', 'tableAlloc', 'lock', 'gup',
  'hostAlloc', 'hostZero4k', 'tlbFlushLocal', 'tlbFlushRemote', 'ioctl', 'step',
] as const;
export type CostKey = (typeof COST_KEYS)[number];
export type CostModel = Readonly<Record<CostKey, number>>;

export const COST_DEFAULTS: CostModel = {
  vmExit: 500,
  vmEntry: 500,
  guestAccess: 1,
  hwWalkLevel: 10,
  walkLevel: 10,
  spteCas: 20,
  tableAlloc: 100,
  lock: 30,
  gup: 300,
  hostAlloc: 800,
  hostZero4k: 250,
  tlbFlushLocal: 100,
  tlbFlushRemote: 2000,
  ioctl: 700,
  step: 5,
};

export class CostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostError';
  }
}

/** `KEY=NS` overrides on top of the defaults; an unknown key or a bad number is a CostError naming it. */
export function costModelOf(overrides: readonly string[]): CostModel {
  const m: Record<CostKey, number> = { ...COST_DEFAULTS };
  for (const o of overrides) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    if (!(COST_KEYS as readonly string[]).includes(key)) throw new CostError(`--cost ${o}: unknown cost '${key}'; valid: ${COST_KEYS.join(', ')}`);
    const v = eq < 0 ? NaN : Number(o.slice(eq + 1));
    if (!Number.isFinite(v) || v < 0) throw new CostError(`--cost ${o}: expected KEY=NS with NS a non-negative number of nanoseconds`);
    m[key as CostKey] = v;
  }
  return m;
}

/** The guard names a transition requires to be true (refs not under a `not`). */
function positiveRefs(g: GuardExpr | null, out: Set<string> = new Set()): Set<string> {
  if (g === null) return out;
  if (g.kind === 'ref') out.add(g.name);
  else if (g.kind === 'and' || g.kind === 'or') for (const a of g.args) positiveRefs(a, out);
  return out;
}

/**
 * What a transition costs, as counts per key (besides `step`, which every step pays once).
 * Host allocation and the hardware walk on a TLB miss depend on what happened, not on the
 * transition: the engine adds them from the step's effects.
 */
export function transitionCosts(machine: CompiledMachine, t: CompiledTransition): Partial<Record<CostKey, number>> {
  const c: Partial<Record<CostKey, number>> = {};
  const add = (k: CostKey, n = 1): void => { c[k] = (c[k] ?? 0) + n; };
  const guards = positiveRefs(t.guard);
  const actions = new Set(t.actions.map((a) => a.name));
  const src = machine.states[t.source]!.name;
  const dst = machine.states[t.target]!.name;
  if (guards.has('tryMmuReadLock') || guards.has('tryMmuWriteLock')) add('lock');
  for (const a of actions) if (/FlushRemoteTlbs|flushRemoteTlbs/i.test(a)) add('tlbFlushRemote');
  switch (machine.id) {
    case 'vcpu':
      if (guards.has('tryGuestAccess')) add('guestAccess');
      if (actions.has('eptViolation')) add('vmExit');
      if (src === 'entry' && dst === 'guest') add('vmEntry');
      if (actions.has('kvmVcpuFlushTlb')) add('tlbFlushLocal');
      break;
    case 'page-fault':
      if (src === 'walk') add('walkLevel');
      if (guards.has('tryTdpMmuLinkSp') || guards.has('tryTdpMmuSplitHugePage')) { add('tableAlloc'); add('spteCas'); }
      if (guards.has('tryTdpMmuSetSpteAtomic') || guards.has('tryFastPageFault')) add('spteCas');
      if (guards.has('tryHvaToPfn')) add('gup');
      break;
    case 'pre-fault':
      if (actions.has('vcpuLoad')) add('ioctl');
      break;
    default:
      // invalidation, memslot-update, dirty-log: a zap or write-protect step changes an SPTE.
      for (const a of actions) if (/zap|Zap|wrprotLeaf|ClearDirty|clearDirty/.test(a) && !/Start|Done|Advance|Lock|Unlock/.test(a)) add('spteCas');
  }
  return c;
}

/** Per machine, per transition id: its cost in ns under `model` (without the `step` base, which the engine adds once per step). */
export function transitionCostTable(machines: readonly CompiledMachine[], model: CostModel): Map<string, Float64Array> {
  const table = new Map<string, Float64Array>();
  for (const m of machines) {
    const costs = new Float64Array(m.transitions.length);
    m.transitions.forEach((t, i) => {
      let ns = 0;
      for (const [k, n] of Object.entries(transitionCosts(m, t))) ns += model[k as CostKey] * n;
      costs[i] = ns;
    });
    table.set(m.id, costs);
  }
  return table;
}
