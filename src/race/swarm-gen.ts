/**
 * Scenario generation for `race swarm` (swarm testing, after Groce et al., "Swarm
 * Testing", ISSTA 2012, and syzkaller / TigerBeetle's VOPR): each scenario draws a VM type,
 * vCPUs, memslots with their host backings, and enables a random subset of the op
 * features — guest accesses, both pre-fault uAPIs, memslot create/delete/move/flags,
 * memory attributes, host invalidations, dirty logging, MMU resets, signals — so that any
 * one feature is absent from about half the scenarios and cannot crowd out the others.
 *
 * The scenario is a scenario file (src/workload's schema), so a failing one is written
 * out as is and `race explore FILE` runs it. Values are mostly ones the kernel accepts,
 * and about one op in ten is one it refuses (a misaligned or overlapping memslot, a
 * non-zero pre-fault flag, a range outside every slot, attributes on a VM without private
 * memory): the model answers those with the kernel's errno, and those paths race too.
 */

import { kernelProfile, KERNEL_DEFAULT, type KernelRelease } from '../kvm/kernel-release.js';
import { VM_TYPES, type VmType } from '../kvm/vm-types.js';
import { Prng } from '../sched/prng.js';
import { formatSize, hex } from '../workload/numbers.js';
import type { ScenarioFile } from '../workload/scenario-schema.js';

export const SWARM_FEATURES = ['access', 'pre_fault', 'map_memory', 'memslots', 'attributes', 'invalidate', 'dirty_log', 'mmu_reset', 'signal'] as const;
export type SwarmFeature = (typeof SWARM_FEATURES)[number];

export interface SwarmGenOptions {
  /** The release every scenario runs (default the newest). */
  readonly kernel?: KernelRelease;
  /** Only this VM type (default: any the release has). */
  readonly vmType?: VmType;
}

export interface GeneratedScenario {
  readonly doc: ScenarioFile;
  readonly features: readonly SwarmFeature[];
}

type Doc = { [k: string]: unknown };
type OpDoc = Doc & { actor: string; op: string; after?: number };

const MiB = 2 ** 20;
/** Initial slot k lives at k × SLOT_STRIDE; created and moved slots further up. */
const SLOT_STRIDE = 32 * MiB;

interface Slot { readonly id: number; readonly gpa: number; readonly size: number; readonly gmem: boolean; readonly log: boolean }

/** One scenario's drawing: the PRNG, the VM and what the ops may refer to. */
class Gen {
  readonly p: Prng;
  readonly type: VmType;
  readonly vcpus: number;
  readonly slots: Slot[] = [];
  readonly features: Set<SwarmFeature>;

  constructor(seed: number, readonly o: SwarmGenOptions) {
    this.p = new Prng(seed);
    const types = (Object.keys(VM_TYPES) as VmType[]).filter((t) => t !== 'tdx' || kernelProfile(o.kernel ?? KERNEL_DEFAULT).switches.tdxVmType);
    this.type = o.vmType ?? this.pick(types);
    this.vcpus = 1 + this.p.below(3);
    const f = SWARM_FEATURES.filter(() => this.chance(0.5));
    this.features = new Set(f.length > 0 ? f : [this.pick(SWARM_FEATURES)]);
  }

  chance(p: number): boolean {
    return this.p.nextFloat() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.p.below(xs.length)]!;
  }

  vcpu(): string {
    return `vcpu${this.p.below(this.vcpus)}`;
  }

  /**
   * A page-aligned gpa: half the time one of the scenario's hot pages (so an access, the
   * invalidation of its page and the access after it meet — a missing TLB flush shows only
   * so), else mostly inside a slot, sometimes between or beyond them.
   */
  gpa(): number {
    if (this.focus !== null) return this.focus;
    if (this.hot.length > 0 && this.chance(0.5)) return this.pick(this.hot);
    return this.anyGpa();
  }

  /** While a sandwich is drawn (sandwich()), the page every op of it targets. */
  focus: number | null = null;

  /** The initial slot holding the focus page, if there is one and it does. */
  focusSlot(): Slot | undefined {
    const f = this.focus;
    return f === null ? undefined : this.slots.find((s) => f >= s.gpa && f < s.gpa + s.size);
  }

  /** The scenario's hot pages: one to three, drawn once its memslots are known. */
  readonly hot: number[] = [];

  /**
   * One to three hot pages; half the time the second and third in the first one's 2 MiB
   * region, so different pages of one region are walked by several vCPUs while it is
   * mapped 4K and huge in turn (the paging-structure cache, a huge SPTE over a table).
   */
  drawHot(): void {
    const n = 1 + this.p.below(3);
    const clustered = this.chance(0.5);
    this.hot.push(this.gpa());
    const region = this.hot[0]! - (this.hot[0]! % (2 * MiB));
    while (this.hot.length < n) this.hot.push(clustered ? region + this.p.below(512) * 4096 : this.gpa());
  }

  private anyGpa(): number {
    if (this.slots.length === 0 || this.chance(0.1)) return this.p.below(8) * SLOT_STRIDE + this.p.below(512) * 4096 + 16 * MiB;
    const s = this.pick(this.slots);
    return s.gpa + (this.chance(0.2) ? this.p.below(s.size / (2 * MiB) + 1) * 2 * MiB : this.p.below(s.size / 4096) * 4096);
  }

  /** A size of 1 … 512 pages, small ones likelier (a whole 2 MiB one time in ten). */
  pages(): number {
    const n = [1, 1, 2, 2, 4, 8, 16, 64, 512, 512][this.p.below(10)]!;
    return n <= 16 && this.chance(0.5) ? n * (1 + this.p.below(3)) : n;
  }

  private get privateMem(): boolean {
    return VM_TYPES[this.type].hasPrivateMem;
  }

  /** The initial memslots, 1 to 3 of them. */
  memslots(): Doc[] {
    const n = 1 + this.p.below(3);
    const out: Doc[] = [];
    for (let id = 0; id < n; id++) {
      const size = this.pick([2 * MiB, 4 * MiB, 8 * MiB, 2 * MiB + 4096]);
      const gmemDrawn = this.privateMem && (this.type !== 'sw_protected' || this.chance(0.5)) && !this.chance(0.1);
      const log = this.features.has('dirty_log') ? id === 0 || this.chance(0.3) : this.chance(0.1);
      // check_memory_region_flags() refuses KVM_MEM_LOG_DIRTY_PAGES on a guest_memfd slot:
      // a logged slot is shared memory (else its creation fails and no write is ever logged).
      const gmem = gmemDrawn && !log;
      // A slot under dirty logging is 2M-backed more often: turning logging off then has
      // huge mappings to recover over the 4K tables logging forced (a migration cancelled).
      const backing = this.pick([['4K', 'anonymous'], ['4K', 'anonymous'], ['2M', 'anonymous'], ['2M', 'hugetlbfs'], ['4K', 'shared'], ...(log ? [['2M', 'anonymous'], ['2M', 'hugetlbfs']] as const : [])] as const);
      const flags = [...(log ? ['log_dirty_pages'] : []), ...(gmem ? ['guest_memfd'] : []), ...(!gmem && this.chance(0.08) ? ['readonly'] : [])];
      this.slots.push({ id, gpa: id * SLOT_STRIDE, size, gmem, log });
      out.push({ slot: id, gpa: hex(id * SLOT_STRIDE), size: formatSize(size), ...(flags.length > 0 ? { flags } : {}), backing: backing[0], host_memory: backing[1], ...(this.chance(0.15) ? { populated: true } : {}) });
    }
    return out;
  }
}

/** A vCPU op: an access, a pre-fault, a KVM_MAP_MEMORY or an MMU reset. */
function vcpuOp(g: Gen, f: SwarmFeature): OpDoc {
  const actor = g.vcpu();
  if (f === 'pre_fault') {
    return { actor, op: 'pre_fault', gpa: hex(g.gpa()), size: formatSize(g.pages() * 4096), ...(g.chance(0.05) ? { flags: 1 } : {}), ...(g.chance(0.5) ? { until_done: true } : {}) };
  }
  if (f === 'map_memory') {
    return { actor, op: 'map_memory', base_gfn: hex(g.gpa() / 4096), nr_pages: g.pages(), ...(g.chance(0.3) ? { flags: ['write'] } : {}), ...(g.chance(0.5) ? { until_done: true } : {}) };
  }
  if (f === 'mmu_reset') return { actor, op: 'mmu_reset' };
  const guestChooses = VM_TYPES[g.type].guestChoosesPrivate;
  const gpa = g.gpa();
  // A hot page is one the guest keeps touching: repeated accesses, some of them through
  // the TLB, straddle the invalidations and flushes around them.
  const repeat = g.chance(g.hot.includes(gpa) ? 0.4 : 0.15);
  return {
    actor, op: 'access', gpa: hex(gpa), access: g.pick(['read', 'write', 'write', 'exec'] as const),
    ...(guestChooses && g.chance(0.6) ? { private: true } : {}), ...(repeat ? { repeat: 2 + g.p.below(3) } : {}),
  };
}

/** A memslot change: create, delete, move or flags; now and then one the kernel refuses. */
function memslotOp(g: Gen): OpDoc {
  const s = g.focusSlot() ?? (g.slots.length > 0 ? g.pick(g.slots) : null);
  const kind = s === null ? 'create' : g.pick(['create', 'delete', 'delete', 'move', 'flags', 'bad'] as const);
  const set = (slot: number, gpa: number, size: number, flags: readonly string[]): OpDoc => ({ actor: 'vmm', op: 'set_memslot', slot, gpa: hex(gpa), size: formatSize(size), ...(flags.length > 0 ? { flags: [...flags] } : {}) });
  const flagsOf = (x: Slot): string[] => [...(x.log ? ['log_dirty_pages'] : []), ...(x.gmem ? ['guest_memfd'] : [])];
  if (kind === 'create' || s === null) {
    const id = 3 + g.p.below(3);
    return set(id, (4 + id) * SLOT_STRIDE, g.pick([2 * MiB, 4 * MiB]), g.chance(0.3) ? ['log_dirty_pages'] : []);
  }
  if (kind === 'delete') return set(s.id, s.gpa, 0, []);
  if (kind === 'move') return set(s.id, (10 + g.p.below(4)) * SLOT_STRIDE, s.size, flagsOf(s));
  if (kind === 'flags') return toggleDirtyLogging(s);
  // Refused: a new slot overlapping s (EEXIST), or a gpa that is not page-aligned (EINVAL).
  return g.chance(0.5) ? set(7, s.gpa, 2 * MiB, []) : set(s.id, s.gpa + 0x800, s.size, flagsOf(s));
}

/** KVM_SET_USER_MEMORY_REGION2 on `s` with KVM_MEM_LOG_DIRTY_PAGES flipped from its initial flags. */
function toggleDirtyLogging(s: Slot): OpDoc {
  const flags = [...(s.log ? [] : ['log_dirty_pages']), ...(s.gmem ? ['guest_memfd'] : [])];
  return { actor: 'vmm', op: 'set_memslot', slot: s.id, gpa: hex(s.gpa), size: formatSize(s.size), ...(flags.length > 0 ? { flags } : {}) };
}

/** A VMM or host op of the other features. */
function otherOp(g: Gen, f: SwarmFeature): OpDoc {
  if (f === 'memslots') return memslotOp(g);
  if (f === 'attributes') return { actor: 'vmm', op: 'set_memory_attributes', gpa: hex(g.gpa()), size: formatSize(g.pages() * 4096), attributes: g.chance(0.6) ? ['private'] : 'shared' };
  if (f === 'invalidate') {
    const kind = g.pick(['migrate', 'migrate', 'reclaim', 'mprotect', 'munmap'] as const);
    return { actor: 'host', op: 'invalidate', gpa: hex(g.gpa()), size: formatSize(g.pages() * 4096), kind, ...(kind === 'mprotect' ? { prot: g.pick(['r', 'rw', 'none'] as const) } : {}) };
  }
  if (f === 'signal') return { actor: 'vmm', op: 'signal', vcpu: g.vcpu() };
  const s = g.focusSlot() ?? (g.slots.length > 0 ? g.pick(g.slots) : { id: 0, size: 2 * MiB });
  // A migration started or cancelled: KVM_MEM_LOG_DIRTY_PAGES turned on or off (off
  // recovers huge mappings over the 4K tables logging forced).
  if (g.slots.length > 0 && g.chance(g.focus !== null ? 0.4 : 0.3)) return toggleDirtyLogging(g.focusSlot() ?? g.slots.find((x) => x.log) ?? g.pick(g.slots));
  if (g.chance(0.5)) return { actor: 'vmm', op: 'get_dirty_log', slot: s.id };
  // In a sandwich the cleared range starts at the 64-page block of the sandwich's page.
  const fs = g.focusSlot();
  const first = fs !== undefined ? Math.floor((g.focus! - fs.gpa) / 4096 / 64) : g.p.below(Math.max(1, s.size / 4096 / 64));
  return { actor: 'vmm', op: 'clear_dirty_log', slot: s.id, first_page: 64 * first, num_pages: 64 * (1 + g.p.below(4)) };
}

const VCPU_FEATURES: ReadonlySet<SwarmFeature> = new Set(['access', 'pre_fault', 'map_memory', 'mmu_reset']);

/** How often an op of a scenario with guest accesses starts a sandwich instead. */
const SANDWICH_CHANCE = 0.3;

/**
 * A sandwich: vCPU X accesses page P; another actor's op on P (a host invalidation, a
 * memslot, attribute or dirty-log change, another vCPU's fault, pre-fault or MMU reset)
 * starts once that access is done; X accesses P (or another page of P's 2 MiB region) again
 * once that op is done. X's first access leaves a TLB entry, an SPTE and (walking a 4K
 * mapping) a cached last-level table for P, so whatever the middle op changes about P
 * meets X's next access: a flush, a zap or a write-protection the middle op owes and skips
 * shows on the first schedule. Most of the time a third actor's op on P's region also starts
 * once X's first access is done, racing the middle op: a fault mapping huge over the table
 * X's access left while dirty logging is turned off, an invalidation during a conversion —
 * the schedulers' preemptions go to that race. Each `after` edge is dropped one time in
 * five, leaving that pair to race too.
 */
function sandwich(g: Gen, out: OpDoc[], middles: readonly SwarmFeature[]): OpDoc[] {
  const x = g.vcpu();
  const p = g.pick(g.hot);
  const otherVcpus = Array.from({ length: g.vcpus }, (_, i) => `vcpu${i}`).filter((v) => v !== x);
  const onPage = (gpa: number, f: SwarmFeature, actor?: string): OpDoc | null => {
    if (VCPU_FEATURES.has(f) && actor === undefined && otherVcpus.length === 0) return null;
    g.focus = gpa;
    const op = VCPU_FEATURES.has(f) ? { ...vcpuOp(g, f), actor: actor ?? g.pick(otherVcpus) } : otherOp(g, f);
    g.focus = null;
    return op;
  };
  const inRegion = (): number => (g.chance(0.5) ? p : p - (p % (2 * MiB)) + g.p.below(512) * 4096);
  const a = onPage(p, 'access', x)!;
  const m = onPage(p, g.pick(middles));
  const c = onPage(g.chance(0.6) ? p : inRegion(), 'access', x)!;
  // The racer is most often another vCPU's fault: vCPUs fault while the VMM and the host
  // change what they map.
  const racerFeature = otherVcpus.length > 0 && g.chance(0.7) ? g.pick<SwarmFeature>(['access', 'access', ...middles.filter((f) => f === 'pre_fault' || f === 'map_memory')]) : g.pick(middles);
  const racer = g.chance(otherVcpus.length > 0 ? 0.7 : 0.4) ? onPage(inRegion(), racerFeature) : null;
  if (m === null) return [a, c];
  const i = out.length;
  if (g.chance(0.8)) m.after = i;
  if (g.chance(0.8)) c.after = i + 1;
  if (racer === null || racer.actor === m.actor || racer.actor === x) return [a, m, c];
  if (g.chance(0.8)) racer.after = i;
  return [a, m, c, racer];
}

/** The ops: 2 to 10 of the enabled features, some ordered after another actor's op; SNP and TDX launch ops first. */
function ops(g: Gen): OpDoc[] {
  const out: OpDoc[] = [];
  if (g.type === 'snp' && g.chance(0.5)) {
    const s = g.slots.find((x) => x.gmem);
    if (s !== undefined) out.push({ actor: 'vmm', op: 'snp_launch_update', gpa: hex(s.gpa), size: formatSize(g.pages() * 4096) });
  }
  if (!VM_TYPES[g.type].preFaultAllowedAtCreate && g.chance(0.7)) out.push({ actor: 'vmm', op: 'finalize' });
  const features = [...g.features];
  const middles = features.filter((f) => f !== 'signal' && (f !== 'access' || g.vcpus > 1));
  const n = 2 + g.p.below(9);
  for (let i = 0; i < n; i++) {
    if (g.features.has('access') && middles.length > 0 && g.chance(SANDWICH_CHANCE)) {
      const s = sandwich(g, out, middles);
      out.push(...s);
      i += s.length - 1;
      continue;
    }
    const f = g.pick(features);
    const op = VCPU_FEATURES.has(f) ? vcpuOp(g, f) : otherOp(g, f);
    const others = out.map((x, j) => (x.actor !== op.actor ? j : -1)).filter((j) => j >= 0);
    if (others.length > 0 && g.chance(0.15)) op.after = g.pick(others);
    out.push(op);
  }
  if (g.chance(0.03)) out.push({ actor: 'vmm', op: 'vm_dead' });
  return out;
}

/** Scenario `index` of a swarm run with seed `seed`: the same pair always gives the same file. */
export function generateScenario(seed: number, index: number, o: SwarmGenOptions = {}): GeneratedScenario {
  const g = new Gen(mixSeed(seed, index), o);
  const memslots = g.memslots();
  g.drawHot();
  const opList = ops(g);
  const vm: Doc = {
    type: g.type, vcpus: g.vcpus, kernel: o.kernel ?? KERNEL_DEFAULT,
    ...(g.features.has('dirty_log') && g.chance(0.5) ? { manual_dirty_log_protect: true } : {}),
    ...(g.type === 'default' && g.chance(0.2) ? { disabled_quirks: ['slot_zap_all'] } : {}),
  };
  const features = SWARM_FEATURES.filter((f) => g.features.has(f));
  const doc = { name: `swarm-${seed}-${index}`, description: `race swarm scenario ${index} of seed ${seed}; features: ${features.join(', ')}`, vm, memslots, ops: opList };
  return { doc: doc as unknown as ScenarioFile, features };
}

/** One 32-bit seed per (swarm seed, scenario index). */
export function mixSeed(seed: number, index: number): number {
  let z = (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(index, 0x85ebca6b)) | 0;
  z = Math.imul(z ^ (z >>> 15), 0x2c1b3c6d);
  z = Math.imul(z ^ (z >>> 12), 0x297a2d39);
  return (z ^ (z >>> 15)) >>> 0;
}
