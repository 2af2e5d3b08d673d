/**
 * Fault traces recorded on a real host, as workloads: the text that `trace-cmd report`,
 * `perf script` or the ftrace `trace` file print for the `kvm:kvm_page_fault` event
 * (arch/x86/kvm/trace.h), in both its forms —
 *
 *   current (5.19+): `vcpu %u rip 0x%lx address 0x%016llx error_code 0x%llx`
 *   older:           `address %lx error_code %x` (later `%llx`), no vCPU id
 *
 * — each fault becoming a guest access of the vCPU that took it. The error code is the
 * page-fault error code KVM built for the EPT violation / #NPF: PFERR_FETCH (bit 4) makes
 * the access an instruction fetch, else PFERR_WRITE (bit 1) a write, else a read;
 * PFERR_PRIVATE_ACCESS (bit 49) marks a private access. For the older form the vCPU comes
 * from the line's thread: QEMU names vCPU threads `CPU <n>/KVM`, any other thread name is
 * numbered by its pid in order of appearance.
 *
 * When trace-cmd or perf cannot use an event's print format it prints the raw fields
 * instead — `[FAILED TO PARSE] vcpu_id=0 guest_rip=0x… fault_address=1052672 error_code=388`
 * (or without vcpu_id / guest_rip for the older event), each value decimal or 0x-hex —
 * which is read too, as the form its fields say.
 *
 * Lines of other events (and the tools' headers) are skipped and counted; comment lines
 * (`#`) and blank lines are ignored; a `kvm_page_fault` line whose fields do not parse is
 * an error naming its line number.
 */

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AccessKind } from '../kvm/ops.js';

const PFERR_WRITE = 1n << 1n;
const PFERR_FETCH = 1n << 4n;
const PFERR_PRIVATE_ACCESS = 1n << 49n;

export interface TraceFault {
  /** 1-based line number in the trace text. */
  readonly line: number;
  /** The vCPU id as the trace names it (or as the thread name gives it, for the older form). */
  readonly vcpuId: number;
  /** Guest physical address of the fault. */
  readonly gpa: bigint;
  readonly errorCode: bigint;
  readonly access: AccessKind;
  readonly private: boolean;
  /** Guest RIP (current form only). */
  readonly rip: bigint | null;
  /** Timestamp in seconds, when the line has one. */
  readonly time: number | null;
}

export interface KvmTrace {
  readonly faults: readonly TraceFault[];
  /** Lines of other events or tool output, skipped. */
  readonly skipped: number;
  /** vCPU ids in ascending order: the vCPU actor of a fault is the index of its id here. */
  readonly vcpuIds: readonly number[];
  /** Faults in the current (`vcpu … rip …`) and the older form. */
  readonly forms: { readonly current: number; readonly older: number };
}

export class TraceFormatError extends Error {
  constructor(readonly line: number, message: string) {
    super(`trace line ${line}: ${message}`);
    this.name = 'TraceFormatError';
  }
}

/** `kvm_page_fault:` as trace-cmd and ftrace print it, `kvm:kvm_page_fault:` as perf script does. */
const EVENT = /(?:^|\s)(?:kvm:)?kvm_page_fault:(.*)$/;
const CURRENT = /^vcpu (\d+) rip 0x([0-9a-f]+) address 0x([0-9a-f]+) error_code 0x([0-9a-f]+)$/i;
const OLDER = /^address (?:0x)?([0-9a-f]+) error_code (?:0x)?([0-9a-f]+)$/i;
/** Raw fields: `[FAILED TO PARSE] name=value …`, values decimal or 0x-hex. */
const RAW = /^(?:\[FAILED TO PARSE\]\s*)?((?:[a-z_]+=(?:0x[0-9a-f]+|\d+)\s*)+)$/i;
/** A timestamp before the event name: `1234.567890:` (trace-cmd, ftrace, perf). */
const TIME = /\s(\d+\.\d+):\s/;
/** The thread before the CPU field: `CPU 1/KVM-12346 [001]` or `qemu-kvm 1234 [003]`. */
const THREAD = /^\s*(.+?)[-\s](\d+)\s+(?:\(\s*\d+\)\s+)?\[\d+\]/;
const QEMU_VCPU_THREAD = /^CPU (\d+)\/KVM$/;

export function accessOfErrorCode(errorCode: bigint): AccessKind {
  if ((errorCode & PFERR_FETCH) !== 0n) return 'exec';
  return (errorCode & PFERR_WRITE) !== 0n ? 'write' : 'read';
}

/**
 * Reads a trace one line at a time (a recorded boot of a big guest is millions of lines:
 * more than one string may hold); `result()` when the lines are done.
 */
export class KvmTraceReader {
  private readonly faults: TraceFault[] = [];
  private skipped = 0;
  private current = 0;
  private older = 0;
  private lineNo = 0;
  private readonly pidVcpu = new Map<string, number>();

  /** One line of the trace (without its newline); throws TraceFormatError on a bad kvm_page_fault line. */
  line(raw: string): void {
    const lineNo = ++this.lineNo;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const ev = EVENT.exec(raw);
    if (ev === null) {
      this.skipped++;
      return;
    }
    const prefix = raw.slice(0, ev.index);
    const payload = ev[1]!.trim();
    const tm = TIME.exec(` ${prefix} `);
    const time = tm !== null ? Number(tm[1]) : null;
    const push = (vcpuId: number, gpa: bigint, errorCode: bigint, rip: bigint | null): void => {
      this.faults.push({ line: lineNo, vcpuId, gpa, errorCode, access: accessOfErrorCode(errorCode), private: (errorCode & PFERR_PRIVATE_ACCESS) !== 0n, rip, time });
    };
    let m = CURRENT.exec(payload);
    if (m !== null) {
      const vcpuId = Number(m[1]);
      if (!Number.isSafeInteger(vcpuId)) throw new TraceFormatError(lineNo, `vcpu id '${m[1]}' is not a number`);
      push(vcpuId, BigInt(`0x${m[3]}`), BigInt(`0x${m[4]}`), BigInt(`0x${m[2]}`));
      this.current++;
      return;
    }
    m = OLDER.exec(payload);
    if (m !== null) {
      push(threadVcpu(prefix, this.pidVcpu), BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`), null);
      this.older++;
      return;
    }
    const rawFields = RAW.exec(payload);
    if (rawFields !== null) {
      const fields = new Map(rawFields[1]!.trim().split(/\s+/).map((kv) => { const [k, v] = kv.split('='); return [k!, BigInt(v!)] as const; }));
      const gpa = fields.get('fault_address');
      const errorCode = fields.get('error_code');
      if (gpa !== undefined && errorCode !== undefined) {
        const id = fields.get('vcpu_id');
        if (id !== undefined && id > BigInt(Number.MAX_SAFE_INTEGER)) throw new TraceFormatError(lineNo, `vcpu_id ${id} is not a vCPU id`);
        push(id !== undefined ? Number(id) : threadVcpu(prefix, this.pidVcpu), gpa, errorCode, fields.get('guest_rip') ?? null);
        if (id !== undefined) this.current++;
        else this.older++;
        return;
      }
    }
    throw new TraceFormatError(lineNo, `a kvm_page_fault event whose fields are neither 'vcpu N rip 0x… address 0x… error_code 0x…' nor 'address … error_code …' nor raw fields (fault_address=… error_code=…): '${payload.length > 80 ? `${payload.slice(0, 80)}…` : payload}'`);
  }

  result(): KvmTrace {
    const vcpuIds = [...new Set(this.faults.map((f) => f.vcpuId))].sort((a, b) => a - b);
    return { faults: this.faults, skipped: this.skipped, vcpuIds, forms: { current: this.current, older: this.older } };
  }
}

/** Parses a fault trace (see the module comment); throws TraceFormatError on a bad kvm_page_fault line. */
export function readKvmTrace(text: string): KvmTrace {
  const reader = new KvmTraceReader();
  for (const line of text.split(/\r?\n/)) reader.line(line);
  return reader.result();
}

/** Reads a trace file as a stream of lines (any size); file errors reject as they are. */
export async function readKvmTraceFile(path: string): Promise<KvmTrace> {
  const reader = new KvmTraceReader();
  const input = createReadStream(path, { encoding: 'utf8' });
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) reader.line(line);
  } finally {
    input.destroy();
  }
  return reader.result();
}

/** The vCPU of an older-form line: `CPU n/KVM` threads are vCPU n; others numbered by pid, in order of appearance. */
function threadVcpu(prefix: string, pidVcpu: Map<string, number>): number {
  const t = THREAD.exec(prefix);
  if (t === null) return 0;
  const name = t[1]!.trim();
  const q = QEMU_VCPU_THREAD.exec(name);
  if (q !== null) return Number(q[1]);
  const pid = t[2]!;
  let v = pidVcpu.get(pid);
  if (v === undefined) {
    v = pidVcpu.size;
    pidVcpu.set(pid, v);
  }
  return v;
}
