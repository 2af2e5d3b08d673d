/**
 * Worker for bench/threaded.ts: the raw walk + CAS fault loop (bench/common.ts) on its own
 * VM in a worker thread, started together with its siblings, so the raw loop's scaling
 * from 1 to 2 threads is measured beside the model's.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { rawSample } from './common.js';

const { faults, go } = workerData as { faults: number; go: SharedArrayBuffer };
const flag = new Int32Array(go);
rawSample(Math.min(faults, 4096)); // warm-up (JIT)
Atomics.add(flag, 1, 1);
while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 50);
const s = rawSample(faults);
parentPort!.postMessage(s.ns);
