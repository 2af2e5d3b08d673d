/** Checks the modelled selftests share: op results by kind, and no violation in the run. */

import type { RunResult } from '../engine/deterministic.js';
import type { Errno } from '../kvm/types.js';
import { resultOf, type Check } from './harness.js';

/** Every access among `ops` succeeded without an exit to userspace (ok, not emulated). */
export function accessesOk(ops: readonly number[], what: string): Check {
  return (r: RunResult) => {
    for (const i of ops) {
      const x = resultOf(r, i, 'access');
      if (!x.ok || x.emulated) return `${what}: access op ${i} ${x.emulated ? 'exited to emulation (MMIO)' : `failed with ${x.errno ?? 'an error'}`}`;
    }
    return null;
  };
}

/** Every access among `ops` failed with `errno` (KVM_RUN returned -1 with it). */
export function accessesFail(ops: readonly number[], errno: Errno, what: string): Check {
  return (r: RunResult) => {
    for (const i of ops) {
      const x = resultOf(r, i, 'access');
      if (x.ok || x.errno !== errno) return `${what}: access op ${i} ${x.ok ? 'succeeded' : `failed with ${x.errno ?? 'no errno'}`}, expected ${errno}`;
    }
    return null;
  };
}

/** Each access among `ops` exited as MMIO (emulated): the gpa has no memslot. */
export function accessesEmulated(ops: readonly number[], what: string): Check {
  return (r: RunResult) => {
    for (const i of ops) {
      const x = resultOf(r, i, 'access');
      if (!x.emulated) return `${what}: access op ${i} ${x.ok ? 'read guest memory' : `failed with ${x.errno ?? 'an error'}`}, expected an MMIO exit`;
    }
    return null;
  };
}

/** Every KVM_SET_USER_MEMORY_REGION2 among `ops` returned 0. */
export function memslotOpsOk(ops: readonly number[]): Check {
  return (r: RunResult) => {
    for (const i of ops) {
      const x = resultOf(r, i, 'set_memslot');
      if (x.ret !== 0) return `KVM_SET_USER_MEMORY_REGION2 (op ${i}, ${x.change}) failed: ${x.errno ?? x.ret}`;
    }
    return null;
  };
}

/** KVM_SET_MEMORY_ATTRIBUTES among `ops` returned 0. */
export function attributeOpsOk(ops: readonly number[]): Check {
  return (r: RunResult) => {
    for (const i of ops) {
      const x = resultOf(r, i, 'set_memory_attributes');
      if (x.ret !== 0) return `KVM_SET_MEMORY_ATTRIBUTES (op ${i}) failed: ${x.errno ?? x.ret}`;
    }
    return null;
  };
}

/** The run ended with no violation of the model's invariants. */
export const noViolation: Check = (r: RunResult) => (r.violations.length === 0 ? null : `${r.violations[0]!.kind}: ${r.violations[0]!.message}`);
