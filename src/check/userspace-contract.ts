/**
 * The userspace-contract checks of a deterministic run: what the ioctls that hand state
 * back to the VMM promised, checked against what they returned — the dirty log
 * (dirty-log-contract.ts) and the memory attributes (attributes-contract.ts). The engine
 * tells it when a vmm op begins and ends and when a guest access completes, in the order
 * the steps ran; findings go to the run's sink.
 */

import type { FindingSink } from '../kvm/findings.js';
import { PAGE_SIZE, PAGE_SIZE_BIG } from '../kvm/limits.js';
import type { Op, OpResult } from '../kvm/ops.js';
import type { Vm } from '../kvm/vm.js';
import { AttributesContract } from './attributes-contract.js';
import { DirtyLogContract } from './dirty-log-contract.js';

/** The gfn of a hex gpa as the dirty-log results carry it. */
const gfnOfHex = (gpa: string): number => Math.floor(Number.parseInt(gpa, 16) / PAGE_SIZE);

export class UserspaceContract {
  readonly dirty: DirtyLogContract;
  readonly attributes: AttributesContract;

  constructor(vm: Vm, private readonly sink: FindingSink) {
    this.dirty = new DirtyLogContract(vm);
    this.attributes = new AttributesContract(vm);
  }

  reset(): void {
    this.dirty.reset();
    this.attributes.reset();
  }

  /** A host or vmm op begins (the ioctl is entered). */
  opStarted(op: Op): void {
    switch (op.op) {
      case 'get_dirty_log':
      case 'clear_dirty_log':
        this.dirty.logBegin(op.slot);
        return;
      case 'set_memslot':
        this.dirty.memslotBegin(op.slot);
        return;
      case 'set_memory_attributes':
        this.attributes.setBegin(Number(op.gpa / PAGE_SIZE_BIG), Number((op.gpa + op.size) / PAGE_SIZE_BIG));
        return;
      default:
        return;
    }
  }

  /** A host or vmm op returned `r`. */
  opCompleted(op: Op, r: OpResult): void {
    if (op.op === 'get_dirty_log' && r.op === 'get_dirty_log') {
      this.report(this.dirty.logEnd('KVM_GET_DIRTY_LOG', r.ret === 0, r.dirty.map(gfnOfHex), null));
    } else if (op.op === 'clear_dirty_log' && r.op === 'clear_dirty_log') {
      this.report(this.dirty.logEnd('KVM_CLEAR_DIRTY_LOG', r.ret === 0, r.cleared.map(gfnOfHex), [Number(op.firstPage), Number(op.numPages)]));
    } else if (op.op === 'set_memslot') {
      this.dirty.memslotEnd();
    } else if (op.op === 'set_memory_attributes' && r.op === 'set_memory_attributes') {
      this.report(this.attributes.setEnd(r.ret === 0, Number(op.gpa / PAGE_SIZE_BIG), Number((op.gpa + op.size) / PAGE_SIZE_BIG), Number(op.attributes)));
    }
  }

  /** A guest access of `actor` to `gpa` completed successfully through the MMU (not emulated). */
  accessCompleted(actor: string, gpa: number, write: boolean): void {
    const gfn = Math.floor(gpa / PAGE_SIZE);
    if (write) this.dirty.guestWrite(actor, gfn);
    if (this.attributes.watching) {
      const v = this.attributes.checkGfn(gfn);
      if (v !== null) this.sink.report({ ...v, actors: [actor] });
    }
  }

  /** A completed run: the attributes read back as userspace set them. */
  atEnd(): void {
    this.report(this.attributes.atEnd());
  }

  private report(v: ReturnType<DirtyLogContract['logEnd']> | ReturnType<AttributesContract['atEnd']>): void {
    if (v !== null) this.sink.report(v);
  }
}
