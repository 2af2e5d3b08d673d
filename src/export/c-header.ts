/**
 * The reproducer's header comment: what the scenario does, where it comes from (a token
 * or a scenario file), what the model predicts on which kernel, what exit 0 and 1 mean
 * on a kernel with and without the bug, how to build and run it, and what of the
 * scenario a real host does not reproduce.
 */

import { chunk } from './c-text.js';
import { vmTypeMacro } from './c-tables.js';
import type { CPlan } from './plan.js';

/** What the exporter knows of the token a file is made from. */
export interface TokenFacts {
  readonly text: string;
  readonly violation: string;
  readonly mutate: readonly string[];
  readonly skip: readonly string[];
  /** Candidate fixes the token ran with (`--patch`): in the model only, in no kernel. */
  readonly patch?: readonly string[];
  /** Ops the token's replay left unfinished (a livelock's stuck ops), as "op #i vcpu0 …". */
  readonly stuck: readonly string[];
}

/** A catalogue entry's race: its reference, the fix, what goes wrong, the release before the fix. */
export interface EntryFacts {
  readonly ref: string;
  readonly fix: { readonly title: string; readonly hash: string };
  readonly summary: string;
  readonly kernel?: string;
}

export interface HeaderFacts {
  readonly plan: CPlan;
  readonly entry?: EntryFacts;
  readonly description: string;
  /** `catalogue:NAME` or `file:PATH`. */
  readonly target: string;
  readonly kernel: string;
  readonly token: TokenFacts | null;
  readonly runs: number;
  readonly clean: number;
  /** The unmutated model's runs that ended in a violation, by kind. */
  readonly violations: Readonly<Record<string, number>>;
}

/** For a scenario without a token: what the unmutated model's own runs showed. */
function unmutatedViolations(h: HeaderFacts): string[] {
  const kinds = Object.entries(h.violations);
  if (kinds.length === 0) return [];
  const list = kinds.map(([k, n]) => `${k} in ${n}`).join(', ');
  return ['', `The unmutated ${h.kernel} model itself shows ${list} of its ${h.runs} runs: on a kernel with that behaviour expect exit 1 within some windows${kinds.some(([k]) => k === 'livelock') ? ' (a call that never returned)' : ''}; on a kernel without it, exit 0. 'faultline race explore' on the scenario prints the interleaving.`];
}

/** Why the model's violation shows, or does not, on a real kernel — and so what pass and fail mean. */
export function expectationLines(h: HeaderFacts): string[] {
  const t = h.token;
  const base = `PASS (exit 0): in every window each op returned an outcome the model allows (the .expect of each op below, from ${h.clean} clean runs of ${h.runs} of the scenario on the ${h.kernel} model without mutations); FAIL (exit 1): an op returned anything else, or a call never returned within the watchdog's deadline.`;
  if (t === null) return [base, ...unmutatedViolations(h)];
  const mutated = t.mutate.length + t.skip.length > 0;
  const patched = (t.patch ?? []).length > 0 ? [`The token ran with the candidate fix${t.patch!.length > 1 ? 'es' : ''} ${t.patch!.join(', ')} (--patch): in the model only; the kernel under test has whatever its source has.`] : [];
  if (mutated) {
    return [base, ...patched, '', `The token's ${t.violation} needs the model mutated (${[...t.mutate.map((m) => `--mutate ${m}`), ...t.skip.map((s) => `--skip ${s}`)].join(' ')}): the bug is put back in the model, and a real kernel has the fix. Expect exit 0 on any kernel; the violation itself happens inside KVM's page tables and is not visible from userspace.`];
  }
  if (t.violation === 'livelock') {
    return [base, ...patched, '', `The model predicts a livelock on ${h.kernel} without any mutation: ${t.stuck.length > 0 ? t.stuck.join('; ') : 'an op'} never completes. On a kernel with the bug, expect exit 1 within some windows, with a line such as "KVM_PRE_FAULT_MEMORY never returned"; the watchdog's signal then makes the ioctl return EINTR, which ends the hang. On a kernel with the fix, expect exit 0.`];
  }
  return [base, ...patched, '', `The model predicts ${t.violation} on ${h.kernel} without any mutation. From userspace it shows only as an outcome outside what the model allows or as a hang: expect exit 1 on a kernel with the bug (within some windows), exit 0 with the fix.`];
}

/** The header comment's lines. */
export function headerLines(h: HeaderFacts): string[] {
  const p = h.plan;
  const lines: string[] = [
    `faultline reproducer: ${p.name}`, '', h.description, '',
    `From: ${h.target}; model kernel ${h.kernel}; VM type ${vmTypeMacro(p)}, ${p.vcpus} vCPU${p.vcpus === 1 ? '' : 's'}.`,
  ];
  const e = h.entry;
  if (e !== undefined) {
    lines.push('', `Catalogue entry ${e.ref}: ${e.summary}.`, `Fixed by "${e.fix.title}" (${e.fix.hash})${e.kernel !== undefined ? `; ${e.kernel} is the last modelled release without the fix` : ', before the first modelled release: in the model the bug is put back by a mutation'}.`);
  }
  if (h.token !== null) lines.push('Token (faultline race replay TOKEN shows the interleaving):', ...chunk(h.token.text, 80).map((s) => `  ${s}`));
  lines.push('', ...expectationLines(h), '',
    'Every window builds a fresh VM (memslots, vCPUs, a flat 32-bit guest at its first instruction), starts one thread per actor from a barrier, and each thread runs its ops in order: vCPU ops from the vCPU\'s thread (KVM_RUN for guest accesses, KVM_PRE_FAULT_MEMORY), memslot and attribute changes from the VMM\'s, host mm events (madvise, mprotect, munmap) on the backing from the host\'s.',
    '', 'Build: cc -Wall -Werror -pthread -o repro repro.c',
    'Run:   ./repro [-n WINDOWS] [-w WATCHDOG_SECONDS] [-j JITTER_US] [-v]   (as a user with access to /dev/kvm; defaults 1000 windows, 10 s, 200 us: each actor starts a different 0 to 200 us after the barrier in each window)',
    'Exit:  0 pass, 1 fail, 4 skip (no /dev/kvm, or a VM type or capability the host lacks: one line says which), as a kselftest.');
  if (p.notes.length > 0) lines.push('', 'Not reproduced on a real host:', ...p.notes.map((n) => `  - ${n}`));
  lines.push('', 'Generated by faultline race export; libc, pthreads and <linux/kvm.h> only.');
  return lines;
}
