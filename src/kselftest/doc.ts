/**
 * Building a selftest's scenario document in code: ops in the scenario file's JSON form,
 * appended in order, each call returning the op's index (what cases and `after` name).
 */

export const PAGE = 0x1000;

/** A u64 in the file format's hex form. */
export const hx = (v: bigint | number): string => `0x${v.toString(16)}`;

export class OpList {
  readonly ops: object[] = [];
  /**
   * Ops that wait for more than one op of other actors (a rendezvous): the scenario file's
   * `after` takes one index, the engine several — runScenario() gives the engine these.
   */
  readonly gates = new Map<number, readonly number[]>();
  private readonly actorOf: string[] = [];

  /** Appends an op; `after` may name ops of this actor too (dropped: its own ops run in order). Returns its index. */
  add(actor: string, op: string, fields: object = {}, after?: number | readonly number[]): number {
    const others = (after === undefined ? [] : typeof after === 'number' ? [after] : [...after]).filter((i) => i >= 0 && this.actorOf[i] !== actor);
    const gate = others.length === 0 ? {} : { after: others[0] };
    if (others.length > 1) this.gates.set(this.ops.length, others);
    this.ops.push({ actor, op, ...fields, ...gate });
    this.actorOf.push(actor);
    return this.ops.length - 1;
  }

  /** One guest access per page of [gpa, gpa + pages·4K); returns the indices. */
  touch(actor: string, gpa: bigint | number, pages: number, access: 'read' | 'write' | 'exec', after?: number | readonly number[]): number[] {
    const out: number[] = [];
    for (let i = 0; i < pages; i++) out.push(this.add(actor, 'access', { gpa: hx(BigInt(gpa) + BigInt(i * PAGE)), access }, i === 0 ? after : undefined));
    return out;
  }

  get length(): number {
    return this.ops.length;
  }
}

/** The indices [from, to). */
export const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
