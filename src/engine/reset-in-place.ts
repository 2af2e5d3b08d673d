/**
 * Putting a plain-data object graph back as it was built, in place: the kernel-side state of
 * an actor (struct kvm_vcpu's in-flight fault, iterator, host page stock, ioctl states,
 * counters) between two runs restored from one snapshot, instead of building it anew for
 * every schedule. The state to return to is a pristine twin, built with the same
 * arguments and never run: every field is reset to the twin's — numbers, strings,
 * booleans, bigints and null by value, typed arrays and arrays of such values by copy,
 * maps and sets by their entries, nested objects field by field. A field the twin shares
 * with the object (the VM, the op queue, the finding sink, the engine's hooks) is the same
 * reference and left alone. Primitive values and arrays of them are written as constants:
 * the twin must not change once the reset is compiled.
 *
 * The reset is compiled once from the twin's shape into straight-line code (a reflective
 * walk of every field cost more than building the objects anew).
 */

import { RESETS_COMPILED_MAX } from '../kvm/limits.js';

type Fields = Record<string, unknown>;

/** The code resetting `o` from `p` (their fields at `ov`, `pv` when compiled), appended to `lines`. */
function emitObject(lines: string[], o: string, p: string, ov: Fields, pv: Fields, seen: Set<object>, path: string): void {
  if (seen.has(pv)) throw new Error(`reset ${path}: the object graph has a cycle`);
  seen.add(pv);
  let n = 0;
  for (const k of Object.keys(pv)) {
    const key = JSON.stringify(k);
    const a: unknown = ov[k];
    const b: unknown = pv[k];
    const where = `${path}.${k}`;
    if (a === b && (typeof b === 'object' || typeof b === 'function') && b !== null) continue; // shared: the same reference
    if (typeof b === 'function') throw new Error(`reset ${where}: a function field differs from the pristine one`);
    if (typeof b !== 'object' || b === null) {
      lines.push(`${o}[${key}] = ${literal(b, where)};`);
      continue;
    }
    if (typeof a !== 'object' || a === null) throw new Error(`reset ${where}: not an object where the pristine one has one`);
    const oc = `${o}_${n}`;
    const pc = `${p}_${n}`;
    n++;
    lines.push(`{ const ${oc} = ${o}[${key}], ${pc} = ${p}[${key}];`);
    if (ArrayBuffer.isView(b)) {
      lines.push(`${oc}.set(${pc});`);
    } else if (Array.isArray(b)) {
      if (b.some((e) => typeof e === 'object' && e !== null)) throw new Error(`reset ${where}: an array of objects`);
      // (Setting an array's length is a runtime call: only when there is something to drop.)
      lines.push(`if (${oc}.length !== ${b.length}) ${oc}.length = ${b.length};`);
      b.forEach((e, i) => lines.push(`${oc}[${i}] = ${literal(e, `${where}[${i}]`)};`));
    } else if (b instanceof Map || b instanceof Set) {
      lines.push(`if (${oc}.size !== 0) ${oc}.clear();`);
      if (b.size !== 0) lines.push(b instanceof Map ? `for (const [k, v] of ${pc}) ${oc}.set(k, v);` : `for (const v of ${pc}) ${oc}.add(v);`);
    } else {
      emitObject(lines, oc, pc, a as Fields, b as Fields, seen, where);
    }
    lines.push('}');
  }
}

/** A primitive as a JavaScript literal (the reset writes the pristine values as constants). */
function literal(v: unknown, where: string): string {
  switch (typeof v) {
    case 'number': return Object.is(v, -0) ? '-0' : String(v);
    case 'string': return JSON.stringify(v);
    case 'bigint': return `${v}n`;
    case 'boolean': case 'undefined': return String(v);
    default:
      if (v === null) return 'null';
      throw new Error(`reset ${where}: a ${typeof v} field`);
  }
}

/**
 * A function that resets `obj` to `pristine`'s state (both as now: `pristine` must not
 * change after). A field it cannot reset (a cycle, an array of objects, a function or an
 * object the twin does not share) is an Error naming it.
 */
export function compileReset<T extends object>(obj: T, pristine: T): (obj: T) => void {
  const lines: string[] = [];
  emitObject(lines, 'o', 'p', obj as Fields, pristine as Fields, new Set(), '');
  const body = lines.join('\n');
  let make = compiled.get(body);
  if (make === undefined) {
    make = new Function('p', `return function resetInPlace(o) {\n${body}\n};`) as (p: object) => (o: object) => void;
    // (Bounded: a swarm's many scenarios may each bring actors of their own shape or values.)
    if (compiled.size >= RESETS_COMPILED_MAX) compiled.clear();
    compiled.set(body, make);
  }
  return make(pristine) as (obj: T) => void;
}

/**
 * The resets compiled so far, by their code: the same shape with the same pristine values
 * (an actor of the same scenario in the next exploration) gets a closure of the same
 * function, whose code the JIT has already optimized, instead of a new function to warm up.
 */
const compiled = new Map<string, (p: object) => (o: object) => void>();
