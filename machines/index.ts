/** Every protocol machine of faultline, by id. */

import { dirtyLogMachine } from './dirty-log.machine.js';
import { invalidationMachine } from './invalidation.machine.js';
import { memslotUpdateMachine } from './memslot-update.machine.js';
import { mmuLockMachine } from './mmu-lock.machine.js';
import { pageFaultMachine } from './page-fault.machine.js';
import { preFaultMachine } from './pre-fault.machine.js';
import { snpLaunchUpdateMachine } from './snp-launch-update.machine.js';
import { vcpuMachine } from './vcpu.machine.js';

export { dirtyLogMachine, invalidationMachine, memslotUpdateMachine, mmuLockMachine, pageFaultMachine, preFaultMachine, snpLaunchUpdateMachine, vcpuMachine };

export const ALL_MACHINES = [
  mmuLockMachine, pageFaultMachine, invalidationMachine, memslotUpdateMachine, preFaultMachine, vcpuMachine, dirtyLogMachine, snpLaunchUpdateMachine,
] as const;
