/**
 * An actor's running machines as its status line shows them: the actor publishes
 * (machine index << 16 | state index) per frame, outermost first; the main thread reads
 * them back as `vcpu.exit > page-fault.walk` for a watchdog or crash report.
 */

import { COMPILED } from '../protocol/machines.js';
import type { ActorRuntime } from './actor-runtime.js';
import { AST, FRAMES_MAX, type Control } from './control.js';

const MACHINE_INDEX = new Map(COMPILED.map((m, i) => [m.id, i]));

/** The actor side: writes its runtime's frames to its status line. */
export class FramePublisher {
  private readonly frames: { machine: string; state: number }[] = [];
  private readonly base: number;
  private readonly countWord: number;

  constructor(private readonly ctl: Control, actor: number, private readonly rt: ActorRuntime) {
    this.base = ctl.word(actor, AST.FRAMES);
    this.countWord = ctl.word(actor, AST.FRAME_COUNT);
  }

  publish(): void {
    const n = Math.min(this.rt.frameStates(this.frames), FRAMES_MAX);
    for (let i = 0; i < n; i++) this.ctl.i32[this.base + i] = (MACHINE_INDEX.get(this.frames[i]!.machine)! << 16) | this.frames[i]!.state;
    Atomics.store(this.ctl.i32, this.countWord, n);
  }
}

/** `vcpu.exit > page-fault.walk`, from an actor's published frames. */
export function describeFrames(ctl: Control, actor: number): string {
  const n = Atomics.load(ctl.i32, ctl.word(actor, AST.FRAME_COUNT));
  if (n === 0) return 'no machine (between ops)';
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = Atomics.load(ctl.i32, ctl.word(actor, AST.FRAMES) + i);
    const m = COMPILED[f >>> 16];
    parts.push(m ? `${m.id}.${m.states[f & 0xffff]?.name ?? '?'}` : '?');
  }
  return parts.join(' > ');
}
