// Goal: a staged run — the next stage opens only once every vCPU finished this one, the host's command due before a stage is given and awaited first, each stage's tally comes from the vCPUs' stage records, and the run stops after the last stage; method: a StageKeeper over a real run state, the actors' words written by hand.

import test from 'ava';
import { Subject } from 'rxjs';
import { AST, CTL, Control, EV, type ActorEvent } from '../../src/engine/control.js';
import { RunState } from '../../src/engine/threaded-run.js';
import { StageKeeper } from '../../src/engine/threaded-stages.js';
import { Vm } from '../../src/kvm/vm.js';
import { CompiledLockProtocol } from '../../src/protocol/lock-protocol.js';
import { compiled } from '../../src/protocol/machines.js';
import { NO_MUTATIONS } from '../../src/protocol/mutations.js';

function rig() {
  const lock = new CompiledLockProtocol(compiled('mmu-lock'), NO_MUTATIONS);
  const vm = Vm.create({ type: 'default', vcpus: 2, guestBytes: 4 << 20 }, lock);
  const run = new RunState(vm, Control.create(vm.layout.actors, 16), lock);
  const events$ = new Subject<ActorEvent>();
  const keeper = new StageKeeper(run, { names: ['a', 'b', 'c'], hostCommandBefore: { 2: 1 } }, events$);
  const i32 = run.ctl.i32;
  const finish = (v: number, stage: number): void => { i32[run.ctl.word(v, AST.STAGE_DONE)] = stage + 1; };
  return { run, events$, keeper, i32, finish };
}

test('a stage opens once every vCPU finished the last; the host command before it is given and awaited; the last stage stops the run', (t) => {
  const { run, keeper, i32, finish } = rig();
  keeper.advance();
  t.is(i32[CTL.STAGE], 0);
  finish(0, 0);
  keeper.advance();
  t.is(i32[CTL.STAGE], 0, 'vcpu1 has not finished stage 0');
  finish(1, 0);
  keeper.advance();
  t.is(i32[CTL.STAGE], 1);
  finish(0, 1); finish(1, 1);
  keeper.advance();
  t.is(i32[CTL.STAGE], 1, 'stage 2 waits for the host');
  t.is(i32[CTL.HOST_CMD], 1);
  i32[CTL.HOST_ACK] = 1;
  keeper.advance();
  t.is(i32[CTL.STAGE], 2);
  t.is(run.stopReason, null);
  finish(0, 2); finish(1, 2);
  keeper.advance();
  t.is(run.stopReason, 'stages');
  t.is(i32[CTL.HOST_CMD], 2, 'the host has nothing more to do');
  t.deepEqual(keeper.results().map((r) => [r.stage, r.name]), [[0, 'a'], [1, 'b'], [2, 'c']]);
});

test('each stage\'s tally sums the vCPUs\' stage records', (t) => {
  const { events$, keeper } = rig();
  events$.next({ actor: 0, type: EV.STAGE, code: 1, a: 10, b: 1, c: 0 });
  events$.next({ actor: 1, type: EV.STAGE, code: 1, a: 5, b: 0, c: 2 });
  events$.next({ actor: 1, type: EV.ZAPS, code: 0, a: 99, b: 0, c: 0 });
  t.deepEqual(keeper.results().map((r) => [r.stage, r.name, r.ok, r.efault, r.otherErrors]), [[1, 'b', 15, 1, 2]]);
});
