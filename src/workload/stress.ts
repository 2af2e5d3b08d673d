/**
 * The stress workload: what `faultline stress` runs. A configuration (vCPUs, guest memory,
 * access pattern, churn rates, VM type) becomes the VM's setup ops and, per actor, an
 * endless source of ops drawn from the actor's own seeded PRNG:
 *
 * - vCPUs: guest accesses by pattern (uniform, sequential, partitioned, shared-hot), and,
 *   with `prefault` churn, KVM_PRE_FAULT_MEMORY calls looped until done;
 * - host: MMU-notifier events over slot 0's memory (migrate, reclaim, mprotect read-only
 *   and back), with `invalidate` churn;
 * - vmm: a dummy memslot created, moved and deleted next to guest memory (`memslots`),
 *   private/shared conversions (`attributes`), dirty logging switched on and off with
 *   KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG between (`dirty-log`).
 *
 * Rates are ops per second for the actor kind (split across vCPUs for pre-fault); a
 * source answers "sleep until t" when its next op is not due yet.
 */

import { KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES } from '../kvm/memslots.js';
import type { AccessKind, Op, OpResult } from '../kvm/ops.js';
import { VM_TYPES, type VmType } from '../kvm/vm-types.js';
import { Prng } from '../sched/prng.js';

export const STRESS_WORKLOADS = ['uniform', 'sequential', 'partitioned', 'shared-hot'] as const;
export type StressWorkload = (typeof STRESS_WORKLOADS)[number];

export const CHURN_KINDS = ['invalidate', 'memslots', 'attributes', 'prefault', 'dirty-log'] as const;
export type ChurnKind = (typeof CHURN_KINDS)[number];

/** Default churn rates (ops per second). */
export const CHURN_DEFAULT_RATES: Readonly<Record<ChurnKind, number>> = {
  invalidate: 400,
  memslots: 40,
  attributes: 40,
  prefault: 40,
  'dirty-log': 20,
};

export const STRESS_PRESETS = ['mmu-stress', 'memslot-churn'] as const;
export type StressPreset = (typeof STRESS_PRESETS)[number];

export interface StressConfig {
  readonly vcpus: number;
  readonly memoryBytes: number;
  /** Stop after this long (ms); null when bounded by `accesses`. */
  readonly durationMs: number | null;
  /** Stop each vCPU after this many guest accesses; null when bounded by time. */
  readonly accesses: number | null;
  readonly workload: StressWorkload;
  /** Churn kinds switched on, with their rates (ops per second). */
  readonly churn: Readonly<Partial<Record<ChurnKind, number>>>;
  /** Host backing of guest memory: 1 = 4K, 2 = 2M (THP), 3 = 1G (hugetlb). */
  readonly backingLevel: number;
  readonly vmType: VmType;
  readonly seed: number;
  /** Fraction of guest accesses that write (the rest read; 1 in 64 fetches). */
  readonly writeRatio: number;
  /** A preset's own actor behaviour (see STRESS_PRESETS); absent for a plain stress run. */
  readonly preset?: StressPreset;
}

export const PAGE = 4096;
export const MIB2 = 2 * 1024 * 1024;
const KVM_MEMORY_ATTRIBUTE_PRIVATE = 1n << 3n;
/** Memslot ids: guest memory, and the dummy slot the memslot churn creates and deletes. */
export const MAIN_SLOT = 0;
export const DUMMY_SLOT = 7;

/** Where the dummy slot lives: 2 MiB above guest memory, and the place it is moved to. */
export function dummySlotGpa(cfg: StressConfig): number {
  // memslot_modification_stress_test puts its one-page dummy slot right next to the test
  // memslot; the mixed churn leaves a 2 MiB gap and also moves it.
  if (cfg.preset === 'memslot-churn') return cfg.memoryBytes;
  return Math.ceil(cfg.memoryBytes / MIB2) * MIB2 + MIB2;
}

/** Guest bytes the VM must be laid out for: memory, the dummy slot (at two places), slack. */
export function stressGuestBytes(cfg: StressConfig): number {
  return cfg.memoryBytes + 4 * MIB2;
}

/** A memslot of the stress VM's guest memory. */
export interface StressSlot {
  readonly id: number;
  readonly gpa: number;
  readonly size: number;
  readonly flags: number;
}

/**
 * Guest memory as memslots. A VM with private memory gets two: slot 0 (the lower half,
 * 2 MiB aligned) with guest_memfd, which attribute churn converts, and slot 1 without,
 * which dirty-log churn logs — KVM refuses KVM_MEM_LOG_DIRTY_PAGES on a guest_memfd slot.
 * Other VMs get one slot over all of it.
 */
export function stressSlots(cfg: StressConfig): StressSlot[] {
  if (!VM_TYPES[cfg.vmType].hasPrivateMem) return [{ id: MAIN_SLOT, gpa: 0, size: cfg.memoryBytes, flags: 0 }];
  const half = Math.floor(cfg.memoryBytes / 2 / MIB2) * MIB2;
  if (half === 0) return [{ id: MAIN_SLOT, gpa: 0, size: cfg.memoryBytes, flags: KVM_MEM_GUEST_MEMFD }];
  return [
    { id: MAIN_SLOT, gpa: 0, size: half, flags: KVM_MEM_GUEST_MEMFD },
    { id: MAIN_SLOT + 1, gpa: half, size: cfg.memoryBytes - half, flags: 0 },
  ];
}

/** The slot dirty-log churn logs (null when every slot has guest_memfd). */
export function dirtyLogSlot(cfg: StressConfig): StressSlot | null {
  return stressSlots(cfg).find((sl) => (sl.flags & KVM_MEM_GUEST_MEMFD) === 0) ?? null;
}

/** The VM's setup, run by the vmm before any actor starts: the memslots, and launch finish for SNP/TDX. */
export function stressSetup(cfg: StressConfig): Op[] {
  const ops: Op[] = stressSlots(cfg).map((sl) => ({ op: 'set_memslot', slot: sl.id, gpa: BigInt(sl.gpa), size: BigInt(sl.size), flags: sl.flags, backingLevel: cfg.backingLevel }));
  if (VM_TYPES[cfg.vmType].finalizeIoctl !== null) ops.push({ op: 'finalize' });
  return ops;
}

/** What a source answers: an op, "nothing before time t" (ms, performance.now()), or the end. */
export type Next = { readonly op: Op } | { readonly sleepUntil: number } | null;

export interface OpSource {
  next(now: number): Next;
  /** The result of the op this source handed out last (a source may keep score). */
  completed?(op: Op, result: OpResult): void;
}

/**
 * How a preset's actors meet between stages (the selftest's rendezvous): the engine
 * advances the stage once every vCPU has finished the previous one, and gives the host a
 * command to carry out between two stages.
 */
export interface StageSignals {
  /** The stage the vCPUs may run now. */
  stage(): number;
  /** This vCPU completed every op of stage `s`; with the results it saw there. */
  finishStage(s: number, tally: StageTally): void;
  /** The host's current command (0: none yet). */
  hostCommand(): number;
  /** The host carried out command `n`. */
  ackHostCommand(n: number): void;
}

export interface StageTally {
  ok: number;
  efault: number;
  otherErrors: number;
}

/** The stages of mmu_stress_test, in order (MMU reset before the second write). */
export const MMU_STRESS_STAGES = ['write', 'reset + re-write', 'read', 'mprotect(PROT_READ): writes fault', 'mprotect(PROT_READ|PROT_WRITE): writes succeed'] as const;
/** Host commands between stages: before stage 3 and before stage 4. */
export const MMU_STRESS_HOST_COMMANDS: Readonly<Record<number, 'r' | 'rw'>> = { 1: 'r', 2: 'rw' };

/**
 * A vCPU of `--preset mmu-stress`: its own partition of guest memory, every page once per
 * stage, in order — write, then (after kvm_mmu_reset_context) re-write, read, write while
 * the host has it read-only (every write must fail with EFAULT), write after the host made
 * it writable again (every write must succeed).
 */
export class MmuStressVcpuSource implements OpSource {
  private readonly lo: number;
  private readonly n: number;
  private stageNo = 0;
  private i = 0;
  private resetDone = false;
  private tally: StageTally = { ok: 0, efault: 0, otherErrors: 0 };

  constructor(cfg: StressConfig, vcpu: number, private readonly signals: StageSignals) {
    const pages = Math.floor(cfg.memoryBytes / PAGE);
    const part = Math.floor(pages / cfg.vcpus);
    this.lo = vcpu * part;
    this.n = vcpu === cfg.vcpus - 1 ? pages - this.lo : part;
  }

  next(now: number): Next {
    if (this.i >= this.n) {
      if (this.stageNo >= MMU_STRESS_STAGES.length) return null;
      if (this.i === this.n) {
        this.signals.finishStage(this.stageNo, this.tally);
        this.i++;
      }
      if (this.signals.stage() <= this.stageNo) return { sleepUntil: now + 1 };
      this.stageNo++;
      if (this.stageNo >= MMU_STRESS_STAGES.length) return null;
      this.i = 0;
      this.tally = { ok: 0, efault: 0, otherErrors: 0 };
    }
    if (this.stageNo === 1 && !this.resetDone) {
      this.resetDone = true;
      return { op: { op: 'mmu_reset' } };
    }
    const gpa = (this.lo + this.i++) * PAGE;
    return { op: { op: 'access', gpa, access: this.stageNo === 2 ? 'read' : 'write' } };
  }

  completed(_op: Op, r: OpResult): void {
    if (r.op !== 'access') return;
    if (r.ok) this.tally.ok++;
    else if (r.errno === 'EFAULT') this.tally.efault++;
    else this.tally.otherErrors++;
  }

  get stage(): number {
    return this.stageNo;
  }
}

/** The host of `--preset mmu-stress`: mprotect of all guest memory when the engine says so. */
export class MmuStressHostSource implements OpSource {
  private done = 0;
  private pending: Op[] = [];
  private current = 0;

  constructor(private readonly cfg: StressConfig, private readonly signals: StageSignals) {}

  next(now: number): Next {
    const queued = this.pending.shift();
    if (queued !== undefined) return { op: queued };
    if (this.current > this.done) {
      this.done = this.current;
      this.signals.ackHostCommand(this.current);
    }
    const cmd = this.signals.hostCommand();
    if (cmd > Object.keys(MMU_STRESS_HOST_COMMANDS).length) return null;
    if (cmd <= this.done) return { sleepUntil: now + 1 };
    this.current = cmd;
    const prot = MMU_STRESS_HOST_COMMANDS[cmd]!;
    this.pending = stressSlots(this.cfg).map((sl) => ({ op: 'invalidate', gpa: sl.gpa, size: sl.size, kind: 'mprotect', prot }) as Op);
    return { op: this.pending.shift()! };
  }
}

/** The seed of one actor's PRNG: the run seed mixed with the actor index. */
export function actorSeed(seed: number, actor: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(actor + 1, 0x85ebca6b)) >>> 0;
}

/** A vCPU: guest accesses by pattern; pre-fault calls at the churn rate. */
export class VcpuSource implements OpSource {
  private readonly prng: Prng;
  private readonly pages: number;
  private readonly lo: number;
  private readonly span: number;
  private cursor: number;
  private done = 0;
  private nextPrefault: number;
  private readonly prefaultEveryMs: number;
  private readonly hot: number;
  private readonly dummyPages: number;

  constructor(private readonly cfg: StressConfig, vcpu: number, start: number) {
    this.prng = new Prng(actorSeed(cfg.seed, vcpu));
    this.pages = Math.max(1, Math.floor(cfg.memoryBytes / PAGE));
    const part = Math.max(1, Math.floor(this.pages / cfg.vcpus));
    this.lo = cfg.workload === 'partitioned' ? Math.min(vcpu * part, this.pages - 1) : 0;
    this.span = cfg.workload === 'partitioned' ? Math.max(1, Math.min(part, this.pages - this.lo)) : this.pages;
    this.cursor = Math.floor((this.pages / cfg.vcpus) * vcpu);
    this.hot = Math.max(1, Math.min(this.pages, 64));
    // The dummy slot's two places (home, and 2 MiB higher once moved); one page for the preset.
    this.dummyPages = (cfg.churn.memslots ?? 0) > 0 ? (cfg.preset === 'memslot-churn' ? 1 : 2 * MIB2 / PAGE + 512) : 0;
    const rate = cfg.churn.prefault;
    this.prefaultEveryMs = rate !== undefined && rate > 0 ? (1000 * cfg.vcpus) / rate : Infinity;
    this.nextPrefault = this.prefaultEveryMs === Infinity ? Infinity : start + this.prng.nextFloat() * Math.min(this.prefaultEveryMs, 1000);
  }

  next(now: number): Next {
    if (this.cfg.accesses !== null && this.done >= this.cfg.accesses) return null;
    if (now >= this.nextPrefault) {
      this.nextPrefault = now + this.prefaultEveryMs;
      const chunks = Math.max(1, Math.floor(this.cfg.memoryBytes / MIB2));
      const chunk = this.prng.below(chunks);
      const size = Math.min(MIB2, this.cfg.memoryBytes - chunk * MIB2, PAGE * (1 + this.prng.below(512)));
      return { op: { op: 'pre_fault', gpa: BigInt(chunk * MIB2), size: BigInt(size), flags: 0n, untilDone: true } };
    }
    this.done++;
    // With memslot churn, one access in 64 goes where the dummy slot comes and goes (and
    // moves): mapped while it exists, MMIO (emulated) while it does not — so a delete or
    // move that leaves SPTEs behind has SPTEs to leave.
    if (this.dummyPages > 0 && this.prng.below(64) === 0) {
      return { op: { op: 'access', gpa: dummySlotGpa(this.cfg) + PAGE * this.prng.below(this.dummyPages), access: this.kind() } };
    }
    return { op: { op: 'access', gpa: this.page() * PAGE, access: this.kind() } };
  }

  private page(): number {
    switch (this.cfg.workload) {
      case 'uniform':
        return this.prng.below(this.pages);
      case 'partitioned':
        return this.lo + this.prng.below(this.span);
      case 'sequential': {
        const p = this.cursor;
        this.cursor = (this.cursor + 1) % this.pages;
        return p;
      }
      case 'shared-hot':
        // Nine in ten accesses go to the 64 hot pages every vCPU shares.
        return this.prng.below(10) < 9 ? this.prng.below(this.hot) : this.prng.below(this.pages);
    }
  }

  private kind(): AccessKind {
    if (this.prng.below(64) === 0) return 'exec';
    return this.prng.nextFloat() < this.cfg.writeRatio ? 'write' : 'read';
  }

  get accessesIssued(): number {
    return this.done;
  }
}

/** The host: notifier events over guest memory at the `invalidate` rate. */
export class HostSource implements OpSource {
  private readonly prng: Prng;
  private due: number;
  private readonly everyMs: number;
  /** An mprotect(PROT_READ) to undo next. */
  private restore: { gpa: number; size: number } | null = null;

  constructor(private readonly cfg: StressConfig, actor: number, start: number) {
    this.prng = new Prng(actorSeed(cfg.seed, actor));
    const rate = cfg.churn.invalidate ?? 0;
    this.everyMs = rate > 0 ? 1000 / rate : Infinity;
    this.due = start + this.everyMs * this.prng.nextFloat();
  }

  next(now: number): Next {
    if (this.everyMs === Infinity) return null;
    if (now < this.due) return { sleepUntil: this.due };
    this.due += this.everyMs;
    if (this.due < now - 1000) this.due = now;
    if (this.restore !== null) {
      const r = this.restore;
      this.restore = null;
      return { op: { op: 'invalidate', gpa: r.gpa, size: r.size, kind: 'mprotect', prot: 'rw' } };
    }
    const pages = Math.max(1, Math.floor(this.cfg.memoryBytes / PAGE));
    const size = PAGE * (1 + this.prng.below(Math.min(512, pages)));
    const gpa = PAGE * this.prng.below(Math.max(1, pages - size / PAGE + 1));
    const roll = this.prng.below(10);
    if (roll < 5) return { op: { op: 'invalidate', gpa, size, kind: 'migrate', prot: 'rw' } };
    if (roll < 8) return { op: { op: 'invalidate', gpa, size, kind: 'reclaim', prot: 'rw' } };
    this.restore = { gpa, size };
    return { op: { op: 'invalidate', gpa, size, kind: 'mprotect', prot: 'r' } };
  }
}

/** The VMM: memslot, attribute and dirty-log churn, interleaved at their rates. */
export class VmmSource implements OpSource {
  private readonly prng: Prng;
  private readonly due: Partial<Record<ChurnKind, number>> = {};
  private readonly every: Partial<Record<ChurnKind, number>> = {};
  private dummy: 'absent' | 'home' | 'moved' = 'absent';
  /** The dummy slot's size (a move keeps it). */
  private dummySize = 0n;
  private logging = false;
  private readonly pending: Op[] = [];
  private readonly manual: boolean;
  private readonly logSlot: StressSlot | null;

  constructor(private readonly cfg: StressConfig, actor: number, start: number, manualDirtyLogProtect: boolean) {
    this.prng = new Prng(actorSeed(cfg.seed, actor));
    this.manual = manualDirtyLogProtect;
    this.logSlot = dirtyLogSlot(cfg);
    for (const kind of ['memslots', 'attributes', 'dirty-log'] as const) {
      const rate = cfg.churn[kind];
      if (rate === undefined || rate <= 0) continue;
      if (kind === 'attributes' && !VM_TYPES[cfg.vmType].hasPrivateMem) continue;
      if (kind === 'dirty-log' && this.logSlot === null) continue;
      this.every[kind] = 1000 / rate;
      this.due[kind] = start + (1000 / rate) * this.prng.nextFloat();
    }
  }

  next(now: number): Next {
    const queued = this.pending.shift();
    if (queued !== undefined) return { op: queued };
    let kind: ChurnKind | null = null;
    let at = Infinity;
    for (const [k, t] of Object.entries(this.due) as [ChurnKind, number][]) {
      if (t < at) { at = t; kind = k; }
    }
    if (kind === null) return null;
    if (now < at) return { sleepUntil: at };
    this.due[kind] = Math.max(at + this.every[kind]!, now - 1000);
    switch (kind) {
      case 'memslots': return { op: this.memslotOp() };
      case 'attributes': return { op: this.attributesOp() };
      case 'dirty-log': return { op: this.dirtyLogOp() };
      default: return null;
    }
  }

  private memslotOp(): Op {
    const home = BigInt(dummySlotGpa(this.cfg));
    if (this.cfg.preset === 'memslot-churn') {
      // add, delete, add, … one page (DUMMY_MEMSLOT_INDEX, one host page)
      this.dummy = this.dummy === 'absent' ? 'home' : 'absent';
      return { op: 'set_memslot', slot: DUMMY_SLOT, gpa: home, size: this.dummy === 'home' ? BigInt(PAGE) : 0n, flags: 0, backingLevel: 1 };
    }
    const size = BigInt(PAGE * (1 + this.prng.below(512)));
    switch (this.dummy) {
      case 'absent':
        this.dummy = 'home';
        this.dummySize = size;
        return { op: 'set_memslot', slot: DUMMY_SLOT, gpa: home, size, flags: 0, backingLevel: 1 };
      case 'home':
        if (this.prng.below(4) === 0) {
          this.dummy = 'moved';
          return { op: 'set_memslot', slot: DUMMY_SLOT, gpa: home + BigInt(MIB2), size: this.dummySize, flags: 0, backingLevel: 1 };
        }
        this.dummy = 'absent';
        return { op: 'set_memslot', slot: DUMMY_SLOT, gpa: home, size: 0n, flags: 0, backingLevel: 1 };
      case 'moved':
        this.dummy = 'absent';
        return { op: 'set_memslot', slot: DUMMY_SLOT, gpa: home + BigInt(MIB2), size: 0n, flags: 0, backingLevel: 1 };
    }
  }

  private attributesOp(): Op {
    const gmem = stressSlots(this.cfg)[0]!;
    const chunks = Math.max(1, Math.floor(gmem.size / MIB2));
    const gpa = BigInt(gmem.gpa + this.prng.below(chunks) * MIB2);
    const size = BigInt(Math.min(MIB2, gmem.size));
    const priv = this.prng.below(2) === 0;
    return { op: 'set_memory_attributes', gpa, size, attributes: priv ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n, flags: 0n };
  }

  private dirtyLogOp(): Op {
    const sl = this.logSlot!;
    const region = (flags: number): Op => ({ op: 'set_memslot', slot: sl.id, gpa: BigInt(sl.gpa), size: BigInt(sl.size), flags, backingLevel: this.cfg.backingLevel });
    if (!this.logging) {
      this.logging = true;
      return region(sl.flags | KVM_MEM_LOG_DIRTY_PAGES);
    }
    if (this.prng.below(4) === 0) {
      this.logging = false;
      return region(sl.flags);
    }
    if (this.manual) this.pending.push({ op: 'clear_dirty_log', slot: sl.id, firstPage: 0n, numPages: BigInt(Math.floor(sl.size / PAGE)) });
    return { op: 'get_dirty_log', slot: sl.id };
  }
}
