/**
 * A timed run's warm-up. A new worker runs the model in V8's baseline tier until the
 * optimizing compiler, on a background thread, has compiled the hot paths — and with every
 * CPU busy with vCPU threads that compiler gets little time: a profile of a short timed
 * run shows the vCPU threads in baseline code and inline-cache stubs for most of it. So
 * before it reports ready, a vCPU's worker runs this same loop as vcpu0 of a private VM
 * (its own SharedArrayBuffers, nothing shared with the run): faults over 16 MiB, then a
 * pre-fault of 16 MiB, again until the time given has passed. Its task is structured-cloned
 * as the real one is: objects the deserializer builds have other hidden classes than
 * literals, and code optimized for the literals' would be thrown away ("wrong map") the
 * moment the real run starts.
 */

import { PAGE_SIZE, THREADED_RING_RECORDS, THREADED_WARMUP_GUEST_BYTES, THREADED_WARMUP_PAGES } from '../kvm/limits.js';
import { Vm } from '../kvm/vm.js';
import { CompiledLockProtocol } from '../protocol/lock-protocol.js';
import { compiled } from '../protocol/machines.js';
import type { Mutations } from '../protocol/mutations.js';
import { CTL, Control } from './control.js';
import { runSetup } from './setup.js';
import { SCRIPT_MODULE, createOpSource, scriptBuffer, type ScriptedOp } from './threaded-script.js';
import type { ActorOutcome, ActorTask } from './threaded-task.js';

/** Runs `runActor` on private VMs until `task.warmupMs` has passed; throws if a round found a violation. */
export function warmUp(task: ActorTask, mutations: Mutations, runActor: (t: ActorTask, f: typeof createOpSource) => ActorOutcome): void {
  const pages = THREADED_WARMUP_PAGES;
  const ops: ScriptedOp[] = [
    { index: 0, op: { op: 'access_stream', gfns: Uint32Array.from({ length: pages }, (_, i) => i), kinds: Uint8Array.from({ length: pages }, (_, i) => i & 1) } },
    { index: 1, op: { op: 'pre_fault', gpa: BigInt(pages * PAGE_SIZE), size: BigInt(pages * PAGE_SIZE), flags: 0n, untilDone: true } },
  ];
  const t0 = performance.now();
  do {
    const vm = Vm.create({ type: 'default', vcpus: 1, guestBytes: THREADED_WARMUP_GUEST_BYTES }, new CompiledLockProtocol(compiled('mmu-lock'), mutations));
    runSetup(vm, [{ op: 'set_memslot', slot: 0, gpa: 0n, size: BigInt(2 * pages * PAGE_SIZE), flags: 0, backingLevel: 1 }], mutations, []);
    const ctl = Control.create(vm.layout.actors, THREADED_RING_RECORDS);
    Atomics.store(ctl.i32, CTL.GO, 1);
    const { crashAfterSteps: _crash, ...rest } = task;
    const source = { module: SCRIPT_MODULE, data: { sab: scriptBuffer(2), nOps: 2 }, actorData: ops };
    const out = runActor(structuredClone({ ...rest, vm: { sab: vm.sharedBuffer, layout: vm.layout, type: 'default', kernel: vm.kernel.release, disabledQuirks: vm.disabledQuirks }, ctl: { sab: ctl.sab, layout: ctl.layout }, actor: 0, source, warmupMs: 0, kickMs: 0, startEpochMs: performance.timeOrigin + performance.now() }), createOpSource);
    if (out.violations.length > 0) throw new Error(`warm-up run failed: ${out.violations[0]!.message}`);
  } while (performance.now() - t0 < task.warmupMs!);
}
