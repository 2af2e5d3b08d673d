/**
 * A fixed list of ops as a threaded actor's workload (the benchmark's runs on real
 * threads, a worker's warm-up): the actor's ops in order; an op with `after` starts only
 * once those ops (of other actors, on other threads) are done — a flag per op in a shared
 * buffer, polled while the actor sleeps briefly; an access stream is handed out one access
 * at a time. When an op is done its flag is set and the wall-clock time stored beside it.
 *
 * Shared buffer layout for n ops: Int32 flags [0, n), then (8-byte aligned) Float64 end
 * times in epoch milliseconds. This module is also the op-source module of a scripted run
 * (`createOpSource`, see op-source.ts).
 */

import { PAGE_SIZE, SCRIPT_GATE_POLL_MS } from '../kvm/limits.js';
import type { AccessKind, Op, OpResult } from '../kvm/ops.js';
import type { Next, OpSource, OpSourceContext, OpSourceSpec } from './op-source.js';

export interface ScriptedOp {
  /** Position in the whole script (the flag it sets). */
  readonly index: number;
  readonly op: Op;
  readonly after?: number | readonly number[];
}

/** The data of a scripted run's source spec: the shared op-done buffer (each actor's ops are its actorData). */
export interface ScriptData {
  readonly sab: SharedArrayBuffer;
  readonly nOps: number;
}

const KINDS: readonly AccessKind[] = ['read', 'write', 'exec'];

export function scriptBuffer(nOps: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.ceil((nOps * 4) / 8) * 8 + nOps * 8);
}

export function scriptViews(sab: SharedArrayBuffer, nOps: number): { done: Int32Array; endMs: Float64Array } {
  return { done: new Int32Array(sab, 0, nOps), endMs: new Float64Array(sab, Math.ceil((nOps * 4) / 8) * 8, nOps) };
}

/** This module, as an op-source module (op-source.ts). */
export const SCRIPT_MODULE = new URL(import.meta.url).href;

/** The source spec of a scripted run: this module, the shared buffer, and per actor its ops. */
export function scriptSpec(data: ScriptData, perActor: readonly (readonly ScriptedOp[])[]): OpSourceSpec {
  return { module: SCRIPT_MODULE, data, actorData: perActor };
}

/** op-source.ts OpSourceFactory: the actor's part of the script. */
export function createOpSource(data: unknown, ctx: OpSourceContext): OpSource {
  const d = data as ScriptData;
  return new ScriptSource((ctx.actorData ?? []) as readonly ScriptedOp[], d.sab, d.nOps, ctx.epochMs);
}

export class ScriptSource implements OpSource {
  private i = 0;
  /** Position in the current access stream. */
  private pos = 0;
  private readonly done: Int32Array;
  private readonly endMs: Float64Array;

  constructor(private readonly ops: readonly ScriptedOp[], sab: SharedArrayBuffer, nOps: number, private readonly epochMs: () => number) {
    ({ done: this.done, endMs: this.endMs } = scriptViews(sab, nOps));
  }

  next(now: number): Next {
    for (;;) {
      const s = this.ops[this.i];
      if (s === undefined) return null;
      const gates = s.after === undefined ? [] : typeof s.after === 'number' ? [s.after] : s.after;
      if (this.pos === 0 && gates.some((g) => Atomics.load(this.done, g) === 0)) return { sleepUntil: now + SCRIPT_GATE_POLL_MS };
      if (s.op.op !== 'access_stream') return { op: s.op };
      if (s.op.gfns.length === 0) {
        this.finish(s.index);
        continue;
      }
      return { op: { op: 'access', gpa: s.op.gfns[this.pos]! * PAGE_SIZE, access: KINDS[s.op.kinds[this.pos]!] ?? 'read' } };
    }
  }

  completed(_op: Op, _result: OpResult): void {
    const s = this.ops[this.i]!;
    if (s.op.op === 'access_stream' && ++this.pos < s.op.gfns.length) return;
    this.finish(s.index);
  }

  private finish(index: number): void {
    this.endMs[index] = this.epochMs();
    Atomics.store(this.done, index, 1);
    this.i++;
    this.pos = 0;
  }
}
