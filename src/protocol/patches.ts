/**
 * Patches: candidate kernel fixes, tried in the model. A patch is a named set of guard and
 * action changes, applied like a mutation (`--patch NAME` on the engine commands), but
 * where a mutation puts a historical bug back, a patch takes a fix no kernel has yet —
 * the machines carry its transitions behind guards that are false unless the patch forces
 * them on, so the unpatched protocol is unchanged. Tokens record the patches they ran with.
 */

import { mutableNames, type Mutations } from './mutations.js';
import type { CompiledMachine } from './compile.js';

export interface Patch {
  readonly name: string;
  /** One line: what the patch changes, in kernel terms. */
  readonly summary: string;
  /** The C change it stands for (a sketch of the diff, for the write-up and `--help`). */
  readonly kernel: string;
  /** `machine.guard` → forced value. */
  readonly guards: Readonly<Record<string, boolean>>;
  /** `machine.action` names the patch removes. */
  readonly skip: readonly string[];
}

export const PATCHES: readonly Patch[] = [
  {
    name: 'prefault-reload-obsolete-roots',
    summary: 'kvm_tdp_map_page(): after RET_PF_RETRY, process KVM_REQ_MMU_FREE_OBSOLETE_ROOTS and kvm_mmu_reload() before the next fault',
    kernel: 'in the do { } while (r == RET_PF_RETRY) loop, before kvm_mmu_do_page_fault(): '
      + 'if (kvm_check_request(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, vcpu)) kvm_mmu_free_obsolete_roots(vcpu); '
      + 'r = kvm_mmu_reload(vcpu); if (r) return r;',
    guards: { 'pre-fault.patchReloadInRetryLoop': true },
    skip: [],
  },
  {
    name: 'prefault-eagain-obsolete-root',
    summary: 'kvm_tdp_map_page(): a prefetch fault that retries on an obsolete root returns -EAGAIN to userspace',
    kernel: 'in the loop, after kvm_mmu_do_page_fault(): '
      + 'if (r == RET_PF_RETRY && is_obsolete_root(vcpu->kvm, vcpu->arch.mmu->root.hpa)) return -EAGAIN;',
    guards: { 'pre-fault.patchEagainOnObsoleteRoot': true },
    skip: [],
  },
  {
    name: 'prefault-srcu-cycle-on-retry',
    summary: 'kvm_tdp_map_page(): drop and retake kvm->srcu after RET_PF_RETRY (sketched on the kvm list for the INVALID-slot case; lets the delete finish, does not reload the root)',
    kernel: 'in the loop, after kvm_mmu_do_page_fault(): '
      + 'if (r == RET_PF_RETRY) { kvm_vcpu_srcu_read_unlock(vcpu); kvm_vcpu_srcu_read_lock(vcpu); }',
    guards: { 'pre-fault.patchSrcuCycleOnRetry': true },
    skip: [],
  },
];

export class PatchError extends Error {}

/** The patch of a name; an unknown name is a PatchError listing the patches. */
export function patchByName(name: string): Patch {
  const p = PATCHES.find((x) => x.name === name.trim());
  if (p === undefined) throw new PatchError(`unknown patch '${name}'; patches: ${PATCHES.map((x) => x.name).join(', ')}`);
  return p;
}

/** Checks every patch against the machines: each name it forces or skips exists (a test runs it). */
export function checkPatches(machines: readonly CompiledMachine[]): void {
  const { guards, actions } = mutableNames(machines);
  for (const p of PATCHES) {
    for (const g of Object.keys(p.guards)) if (!guards.includes(g)) throw new PatchError(`patch ${p.name}: no guard ${g}`);
    for (const a of p.skip) if (!actions.includes(a)) throw new PatchError(`patch ${p.name}: no action ${a}`);
  }
}

/** The patches' changes as `--mutate`/`--skip` specs (validated names, sorted, no duplicates). */
export function patchSpecs(names: readonly string[]): { mutate: string[]; skip: string[] } {
  const mutate = new Set<string>();
  const skip = new Set<string>();
  for (const n of names) {
    const p = patchByName(n);
    for (const [g, v] of Object.entries(p.guards)) mutate.add(`${g}=${v}`);
    for (const a of p.skip) skip.add(a);
  }
  return { mutate: [...mutate].sort(), skip: [...skip].sort() };
}

/** Mutations plus the patches' changes (a patch's forced guard wins over a mutation of the same guard). */
export function withPatches(m: Mutations, names: readonly string[]): Mutations {
  if (names.length === 0) return m;
  const forceGuards = new Map(m.forceGuards);
  const skipActions = new Set(m.skipActions);
  for (const n of names) {
    const p = patchByName(n);
    for (const [g, v] of Object.entries(p.guards)) forceGuards.set(g, v);
    for (const a of p.skip) skipActions.add(a);
  }
  return { forceGuards, skipActions };
}

/** Distinct patch names in the order given (validated). */
export function patchNames(names: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const n of names ?? []) {
    const p = patchByName(n);
    if (!out.includes(p.name)) out.push(p.name);
  }
  return out;
}

/**
 * Command-line form of a mutation set with the patches folded back: the guard forces and
 * skips of a patch that is wholly present become `--patch NAME`.
 */
export function foldPatches(mutate: readonly string[], skip: readonly string[]): string[] {
  let m = [...mutate];
  let k = [...skip];
  const patches: string[] = [];
  for (const p of PATCHES) {
    const specs = Object.entries(p.guards).map(([g, v]) => `${g}=${v}`);
    if (specs.length === 0 || !specs.every((x) => m.includes(x)) || !p.skip.every((x) => k.includes(x))) continue;
    m = m.filter((x) => !specs.includes(x));
    k = k.filter((x) => !p.skip.includes(x));
    patches.push(`--patch ${p.name}`);
  }
  return [...m.map((x) => `--mutate ${x}`), ...k.map((x) => `--skip ${x}`), ...patches];
}

/** `--patch` help text: every patch with its summary. */
export function describePatches(): string {
  return PATCHES.map((p) => `${p.name}: ${p.summary}`).join('; ');
}
