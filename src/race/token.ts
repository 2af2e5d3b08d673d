/**
 * Race tokens: everything a run needs, as one copy-pasteable string —
 * `fl1.` + base64url(deflate(JSON)). The JSON names the target (a catalogue entry or a
 * scenario file) with a hash of its content, the scheduler and seed it was found with,
 * the mutations, the workload ops the shrinker dropped, the violation it must produce, and
 * the schedule as labelled segments: `[label, n]` = the actor of `label` (whose step
 * starts in that machine state) takes n steps in a row. Labels, not indices, so a token
 * survives unrelated code changes and says where it stops applying.
 */

import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { isKernelRelease, type KernelRelease } from '../kvm/kernel-release.js';
import { PATCHES } from '../protocol/patches.js';

export const TOKEN_PREFIX = 'fl1.';
export const TOKEN_VERSION = 1;

/**
 * The kernel release of a token that names none: every token made before releases were
 * modelled ran the 6.19 model, and a token made on 6.19 leaves the field out (so those
 * tokens stay what they were). A token on any other release records it.
 */
export const TOKEN_KERNEL_UNRECORDED: KernelRelease = '6.19';

/** A run of steps by one actor: the first step's label and how many steps. */
export type Segment = readonly [label: string, steps: number];

export interface RaceToken {
  readonly v: number;
  /** `catalogue:NAME` or `file:PATH` */
  readonly target: string;
  /** First 16 hex digits of the target scenario's SHA-256 (of its canonical JSON). */
  readonly hash: string;
  readonly mutate: readonly string[];
  readonly skip: readonly string[];
  /** Candidate fixes the run had (`--patch`); absent = none. */
  readonly patch?: readonly string[];
  /** Scenario op indices removed by the shrinker. */
  readonly dropOps: readonly number[];
  /** How it was found (informational): `random`, `pct` (with depth), `dfs`, `shrink`. */
  readonly scheduler: string;
  readonly seed: number;
  readonly depth?: number;
  /** The kernel release it ran on; absent = TOKEN_KERNEL_UNRECORDED. */
  readonly kernel?: KernelRelease;
  /** The violation kind replaying it must produce. */
  readonly violation: string;
  readonly segments: readonly Segment[];
}

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

/** Hash of a scenario document: stable under whitespace and key order. */
export function scenarioHash(doc: unknown): string {
  return createHash('sha256').update(canonical(doc)).digest('hex').slice(0, 16);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Per-step labels → segments. */
export function toSegments(choices: readonly string[]): Segment[] {
  const out: [string, number][] = [];
  let actor = '';
  for (const label of choices) {
    const a = label.slice(0, label.indexOf(':'));
    const last = out[out.length - 1];
    if (last !== undefined && a === actor) last[1]++;
    else { out.push([label, 1]); actor = a; }
  }
  return out;
}

export function segmentSteps(segments: readonly Segment[]): number {
  return segments.reduce((n, s) => n + s[1], 0);
}

export function encodeToken(t: RaceToken): string {
  return TOKEN_PREFIX + deflateRawSync(Buffer.from(JSON.stringify(t)), { level: 9 }).toString('base64url');
}

/** Decodes and validates a token; a bad one is a TokenError saying what is wrong. */
export function decodeToken(text: string): RaceToken {
  const s = text.trim();
  if (!s.startsWith('fl')) throw new TokenError(`not a faultline race token (they start with '${TOKEN_PREFIX}')`);
  if (!s.startsWith(TOKEN_PREFIX)) throw new TokenError(`token version '${s.slice(0, s.indexOf('.') + 1)}' is not supported by this faultline (it reads '${TOKEN_PREFIX}')`);
  const body = s.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new TokenError('the token is damaged: it has characters base64url does not use (was it cut or wrapped?)');
  let json: unknown;
  try {
    json = JSON.parse(inflateRawSync(Buffer.from(body, 'base64url')).toString('utf8'));
  } catch {
    throw new TokenError('the token is damaged: it does not decompress to a token (was it cut or edited?)');
  }
  return validate(json);
}

function validate(j: unknown): RaceToken {
  const bad = (what: string): never => { throw new TokenError(`the token is damaged: ${what}`); };
  if (j === null || typeof j !== 'object') return bad('not an object');
  const o = j as Record<string, unknown>;
  if (o.v !== TOKEN_VERSION) return bad(`version ${String(o.v)}, expected ${TOKEN_VERSION}`);
  const str = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : bad(`field '${k}' is not a string`));
  const strs = (k: string): string[] => (Array.isArray(o[k]) && (o[k] as unknown[]).every((x) => typeof x === 'string') ? (o[k] as string[]) : bad(`field '${k}' is not a list of strings`));
  const ints = (k: string): number[] => (Array.isArray(o[k]) && (o[k] as unknown[]).every((x) => Number.isInteger(x) && (x as number) >= 0) ? (o[k] as number[]) : bad(`field '${k}' is not a list of op indices`));
  const target = str('target');
  if (!/^(catalogue|file):.+/.test(target)) bad(`target '${target}' is neither catalogue:NAME nor file:PATH`);
  const hash = str('hash');
  if (!/^[0-9a-f]{16}$/.test(hash)) bad('the scenario hash is malformed');
  if (!Number.isInteger(o.seed) || (o.seed as number) < 0) bad('the seed is not a non-negative integer');
  if (o.depth !== undefined && (!Number.isInteger(o.depth) || (o.depth as number) < 1)) bad('the depth is not a positive integer');
  if (o.kernel !== undefined && !isKernelRelease(o.kernel)) bad(`kernel ${JSON.stringify(o.kernel)} is not a release this faultline models`);
  if (o.patch !== undefined) {
    const unknown = strs('patch').find((p) => !PATCHES.some((x) => x.name === p));
    if (unknown !== undefined) bad(`patch '${unknown}' is not one this faultline has`);
  }
  const segs = o.segments;
  if (!Array.isArray(segs) || segs.length === 0) return bad('no schedule');
  for (const g of segs) {
    if (!Array.isArray(g) || g.length !== 2 || typeof g[0] !== 'string' || !/^[a-z]+[0-9]*:[a-z0-9_-]+(\.[A-Za-z0-9_]+)?$/.test(g[0]) || !Number.isInteger(g[1]) || g[1] < 1) {
      return bad(`schedule segment ${JSON.stringify(g).slice(0, 60)} is not [label, steps]`);
    }
  }
  return {
    v: TOKEN_VERSION, target, hash, mutate: strs('mutate'), skip: strs('skip'), ...(o.patch !== undefined ? { patch: strs('patch') } : {}), dropOps: ints('dropOps'), scheduler: str('scheduler'),
    seed: o.seed as number, ...(o.depth !== undefined ? { depth: o.depth as number } : {}), ...(o.kernel !== undefined ? { kernel: o.kernel as KernelRelease } : {}),
    violation: str('violation'), segments: segs as Segment[],
  };
}

/** The release a token runs on. */
export function tokenKernel(t: RaceToken): KernelRelease {
  return t.kernel ?? TOKEN_KERNEL_UNRECORDED;
}

/** A token's `kernel` field for a run on release k: left out on TOKEN_KERNEL_UNRECORDED. */
export function kernelField(k: KernelRelease): { kernel?: KernelRelease } {
  return k === TOKEN_KERNEL_UNRECORDED ? {} : { kernel: k };
}
