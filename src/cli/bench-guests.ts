/**
 * The guests `faultline bench prefault-vs-lazy` runs: one per (memory, vCPUs) point of the
 * lists, or a recorded kvm:kvm_page_fault trace's own vCPUs at each memory size. A trace
 * that cannot be used — missing, malformed, a binary recording given for its text, more
 * vCPUs than the model runs — is one-line bad input.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { VCPUS_MAX } from '../kvm/limits.js';
import { guestWorkload, traceWorkload, type GuestWorkload } from '../workload/guest.js';
import { TraceFormatError, readKvmTraceFile, type KvmTrace } from '../workload/kvm-trace.js';
import { UsageError } from './args.js';
import type { BenchPlan } from './bench-plan.js';

export interface Guest {
  readonly w: GuestWorkload;
  /** What the guest runs, for the table's headings and the charts' titles. */
  readonly label: string;
}

/** A binary recording given where its text is wanted: trace-cmd's trace.dat or perf's perf.data (by magic), else null. */
function recordingKind(path: string): 'trace-cmd' | 'perf' | null {
  let head: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      head = Buffer.alloc(10);
      readSync(fd, head, 0, 10, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  if (head[0] === 0x17 && head[1] === 0x08 && head[2] === 0x44 && head.subarray(3, 10).toString('latin1') === 'tracing') return 'trace-cmd';
  if (head.subarray(0, 8).toString('latin1') === 'PERFILE2') return 'perf';
  return null;
}

/** The trace at `path`, with at least one fault. */
async function readTrace(path: string): Promise<KvmTrace> {
  let trace;
  try {
    trace = await readKvmTraceFile(path);
  } catch (e) {
    if (e instanceof TraceFormatError) throw new UsageError(`--trace ${path}: ${e.message}`);
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new UsageError(`--trace ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    throw e;
  }
  if (trace.faults.length === 0) {
    const binary = recordingKind(path);
    if (binary !== null) throw new UsageError(`--trace ${path}: a binary ${binary} recording; give its text: ${binary === 'trace-cmd' ? `trace-cmd report -i ${path}` : `perf script -i ${path}`} > trace.txt`);
    throw new UsageError(`--trace ${path}: no kvm_page_fault events (${trace.skipped} other lines)`);
  }
  return trace;
}

/** The trace's guests: one per --memory size given, else one just big enough; each a whole number of the largest page. */
function traceGuests(trace: KvmTrace, path: string, memories: readonly number[] | null, pageBytes: number): Guest[] {
  // (prefault-concurrent adds a spare vCPU.)
  if (trace.vcpuIds.length > VCPUS_MAX - 1) throw new UsageError(`--trace ${path}: ${trace.vcpuIds.length} vCPUs; the model runs at most ${VCPUS_MAX - 1}`);
  const guests: Guest[] = [];
  for (const m of memories ?? [undefined]) {
    let w;
    try {
      w = traceWorkload(trace, m);
    } catch (e) {
      throw new UsageError(`--trace ${path}: ${(e as Error).message}`);
    }
    if (w.memoryBytes % pageBytes !== 0) w = traceWorkload(trace, Math.ceil(w.memoryBytes / pageBytes) * pageBytes);
    const left = w.dropped === undefined ? '' : `; untouched gpa ${w.dropped.map(([a, b]) => `0x${a.toString(16)}-0x${b.toString(16)}`).join(', ')} left out`;
    guests.push({ w, label: `trace ${path} (${trace.faults.length} faults, ${trace.vcpuIds.length} vCPUs, ${trace.skipped} other lines skipped${left})` });
  }
  return guests;
}

/** The guests of the plan: from `--trace` (with `--memory` sizes if given; `--vcpus` does not apply), else every (memory, vCPUs) point. */
export async function benchGuests(plan: BenchPlan, trace: string | undefined, memoryGiven: boolean, vcpusGiven: boolean): Promise<Guest[]> {
  if (trace !== undefined) {
    const t = await readTrace(trace);
    if (vcpusGiven) throw new UsageError('--vcpus does not apply to --trace: the trace names its vCPUs');
    return traceGuests(t, trace, memoryGiven ? plan.memories : null, plan.pageBytes);
  }
  const { kind, sharing, seed } = plan;
  return plan.memories.flatMap((m) => plan.vcpuList.map((n) => ({ w: guestWorkload({ kind, vcpus: n, memoryBytes: m, sharing, seed }), label: `${kind}, ${sharing}` })));
}
