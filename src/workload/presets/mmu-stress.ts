/**
 * `--preset mmu-stress`, after the kernel's mmu_stress_test: each vCPU goes over its own
 * partition of guest memory once per stage — write, then (after kvm_mmu_reset_context)
 * re-write, read, write while the host has it read-only (every write must fail with
 * EFAULT), write after the host made it writable again (every write must succeed) — and
 * the vCPUs meet between stages (src/engine/op-source.ts StagePlan), the host carrying
 * out its mprotect before stages 3 and 4. This module is the run's op-source module
 * (`createOpSource`, loaded in every worker) and holds its stage plan; its stage check is
 * in checks.ts.
 */

import type { Next, OpSource, OpSourceContext, StagePlan, StageSignals, StageTally } from '../../engine/op-source.js';
import type { Op, OpResult } from '../../kvm/ops.js';
import { PAGE, stressSlots, type StressConfig } from '../stress.js';
import { VmmSource } from './churn.js';

/** op-source.ts OpSourceFactory: the preset's vCPUs and host (data: its StressConfig); the vmm has nothing to do. */
export function createOpSource(data: unknown, ctx: OpSourceContext): OpSource {
  const s = data as StressConfig;
  if (ctx.actor < ctx.vcpus) return new MmuStressVcpuSource(s, ctx.actor, ctx.signals);
  if (ctx.actor === ctx.hostActor) return new MmuStressHostSource(s, ctx.signals);
  return new VmmSource(s, ctx.actor, ctx.startMs, ctx.manualDirtyLogProtect);
}

/** The stages of mmu_stress_test, in order (MMU reset before the second write). */
export const MMU_STRESS_STAGES = ['write', 'reset + re-write', 'read', 'mprotect(PROT_READ): writes fault', 'mprotect(PROT_READ|PROT_WRITE): writes succeed'] as const;
/** Host commands between stages: before stage 3 and before stage 4. */
export const MMU_STRESS_HOST_COMMANDS: Readonly<Record<number, 'r' | 'rw'>> = { 1: 'r', 2: 'rw' };

/** The stages as the engine runs them: command 1 (mprotect read-only) before stage 3, command 2 before stage 4. */
export const MMU_STRESS_PLAN: StagePlan = { names: MMU_STRESS_STAGES, hostCommandBefore: { 3: 1, 4: 2 } };

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


