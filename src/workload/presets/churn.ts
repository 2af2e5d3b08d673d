/**
 * The default stress run's actors (`faultline stress` without a preset, and
 * `--preset memslot-churn`, which only places and churns its dummy slot differently):
 *
 * - vCPUs: guest accesses by pattern (uniform, sequential, partitioned, shared-hot), and,
 *   with `prefault` churn, KVM_PRE_FAULT_MEMORY calls looped until done;
 * - host: MMU-notifier events over guest memory (migrate, reclaim, mprotect read-only
 *   and back), with `invalidate` churn;
 * - vmm: a dummy memslot created, moved and deleted next to guest memory (`memslots`),
 *   private/shared conversions (`attributes`), dirty logging switched on and off with
 *   KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG between (`dirty-log`).
 *
 * Rates are ops per second for the actor kind (split across vCPUs for pre-fault); a
 * source answers "sleep until t" when its next op is not due yet. This module is the
 * run's op-source module (`createOpSource`, src/engine/op-source.ts), loaded in every
 * worker; its online check is in checks.ts.
 */

import type { Next, OpSource, OpSourceContext } from '../../engine/op-source.js';
import { KVM_MEM_LOG_DIRTY_PAGES } from '../../kvm/memslots.js';
import type { AccessKind, Op } from '../../kvm/ops.js';
import { VM_TYPES } from '../../kvm/vm-types.js';
import { Prng } from '../../sched/prng.js';
import { DUMMY_SLOT, MIB2, PAGE, actorSeed, dirtyLogSlot, dummySlotGpa, stressSlots, type ChurnKind, type StressConfig, type StressSlot } from '../stress.js';
import { MEMSLOT_CHURN_DUMMY_PAGES, isMemslotChurn, memslotChurnOp } from './memslot-churn.js';

const KVM_MEMORY_ATTRIBUTE_PRIVATE = 1n << 3n;

/** op-source.ts OpSourceFactory: each vCPU, the host and the vmm of a stress run (data: its StressConfig). */
export function createOpSource(data: unknown, ctx: OpSourceContext): OpSource {
  const s = data as StressConfig;
  if (ctx.actor < ctx.vcpus) return new VcpuSource(s, ctx.actor, ctx.startMs);
  if (ctx.actor === ctx.hostActor) return new HostSource(s, ctx.actor, ctx.startMs);
  return new VmmSource(s, ctx.actor, ctx.startMs, ctx.manualDirtyLogProtect);
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
    this.dummyPages = (cfg.churn.memslots ?? 0) > 0 ? (isMemslotChurn(cfg) ? MEMSLOT_CHURN_DUMMY_PAGES : 2 * MIB2 / PAGE + 512) : 0;
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
    if (isMemslotChurn(this.cfg)) {
      this.dummy = this.dummy === 'absent' ? 'home' : 'absent';
      return memslotChurnOp(this.dummy === 'home', home);
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
