/**
 * Every limit of the model, named once. Each has a doc line saying what it bounds and,
 * where a run can exceed it, the likely cause; the ones a user may need to raise read an
 * environment override (FAULTLINE_<NAME>).
 */

function envInt(name: string, fallback: number): number {
  const raw = typeof process !== 'undefined' ? process.env[`FAULTLINE_${name}`] : undefined;
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`FAULTLINE_${name} must be a positive integer, got '${raw}'`);
  }
  return value;
}

/** Bytes per guest and host page (x86 4 KiB). */
export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
/** PAGE_SIZE for the u64 arithmetic of ioctl arguments (gpa, size). */
export const PAGE_SIZE_BIG = BigInt(PAGE_SIZE);
/** The largest u64: a gpa + size above it wraps (-EINVAL). */
export const U64_MAX = (1n << 64n) - 1n;
/** SPTEs per page-table page (512 x 8 bytes). */
export const SPTES_PER_TABLE = 512;
/** The deepest TDP page table (5-level EPT / NPT): the size of a walk's path. A VM's own root level is vm.rootLevel (address-space.ts). */
export const TDP_MAX_ROOT_LEVEL = 5;
/** Largest mapping level KVM installs on x86 (1 GiB). */
export const KVM_MAX_HUGEPAGE_LEVEL = 3;


/** Memslots per address space the model keeps (KVM allows 32764; scenarios use a few). */
export const MEMSLOTS_MAX = envInt('MEMSLOTS_MAX', 32);
/** TDP roots alive at once (valid plus invalidated, not yet freed: an idle vCPU keeps its obsolete root until it runs again). */
export const ROOTS_MAX = 64;
/** Page-table pages a vCPU's cache holds after `mmu_topup_memory_caches` (a 5-level walk links at most 4). */
export const MMU_CACHE_TABLES = 4;
/** Entries of each vCPU's model TLB (direct-mapped by gfn). */
export const TLB_ENTRIES = 64;
/** Gfns covered by one chunk of the memory-attribute array (1 GiB of guest memory). */
export const ATTR_CHUNK_GFNS = 1 << 18;
/** Extra page-table pages beyond the estimate for a full guest (MMIO SPTEs, churn, obsolete roots). */
export const TABLES_SLACK = envInt('TABLES_SLACK', 256);
/** Bounds of a VM's explicit page-table pool (`vm.page_tables`): a root, and what an SPTE's table index can name. */
export const PAGE_TABLES_MIN = 1;
export const PAGE_TABLES_MAX = (1 << 20) - 2;

/**
 * Shared-memory sizing slack (layoutConfigFor): what the layout holds beyond the estimate
 * for the configured guest. Running out of any of them is a RangeError naming the region.
 */
/** Host pages beyond twice the guest's (migration targets) and the huge-block alignment. */
export const HOST_PAGES_SLACK = 1024;
/** Host virtual pages beyond twice the guest's (moved and re-created slots) and the huge-block alignment. */
export const HVA_PAGES_SLACK = 1024;
/** guest_memfd pages beyond one per guest page. */
export const GMEM_PAGES_SLACK = 1024;
/** Dirty-bitmap words beyond one bit per guest page: each slot's bitmap is word-aligned plus a word, for up to 64 bitmaps of 32 words. */
export const DIRTY_WORDS_SLACK = 64 * 32;
/** Memory-attribute chunks beyond those covering the guest's size (slots placed above it). */
export const ATTR_CHUNKS_SLACK = 4;

/** Spins, tries and batch sizes of the model's own machinery (none is a kernel limit). */
/** CAS attempts on the mmu_lock word before a trylock reports 'busy' (other actors keep changing the reader count). */
export const MMU_LOCK_CAS_TRIES = 32;
/** Spins on a vCPU's mode word before a remote TLB flush sleeps on it (as csd_lock_wait() spins). */
export const MODE_SPINS = 256;
/** Spins on an internal allocator mutex before sleeping (it is held for a few stores; a futex round trip costs tens of µs). */
export const INTERNAL_LOCK_SPINS = 200;
/** One Atomics.wait on a contended internal mutex, in ms, before it is tried again. */
export const INTERNAL_LOCK_WAIT_MS = 1;
/**
 * Waits (of INTERNAL_LOCK_WAIT_MS each, about 2 s in all) a thread makes for the model's
 * internal mutex before calling it leaked — a step holds it for a few stores; only a
 * skipped unlock keeps it: the run stops (ModelStuck). Counted, not timed: the model
 * reads no clock.
 */
export const INTERNAL_LOCK_GIVE_UP_WAITS = 2000;
/** Host pages a thread takes from the shared allocator at once (its per-CPU page list). */
export const HOST_PAGE_BATCH = 32;
/** Words a step footprint's range list starts with (two per range; it doubles when full). */
export const FOOTPRINT_WORDS_INITIAL = 64;
/** Words of a chunk frozen footprints are copied into (shm.ts): a couple of hundred steps' worth. */
export const FOOTPRINT_CHUNK_WORDS = 4096;
/** Entries of the mmu_lock protocol's memo of (lock word, event) → next word; a power of two. */
export const LOCK_MEMO_ENTRIES = 1024;
/** In-place resets kept compiled for reuse by later explorations (engine/reset-in-place.ts); past it the cache starts over. */
export const RESETS_COMPILED_MAX = 64;

/**
 * Retries of one fault or pre-fault, with no step of any other actor in between, after
 * which the run reports a livelock (KVM's RET_PF_RETRY loop that nothing can end: an
 * obsolete root never freed, an INVALID memslot under SRCU, a wrapped sequence number).
 */
export const LIVELOCK_RETRIES = envInt('LIVELOCK_RETRIES', 64);
/**
 * Leaf SPTEs a yielding zap (tdp_mmu_zap_leafs() with can_yield) handles before
 * tdp_mmu_iter_cond_resched() drops mmu_lock: the kernel yields when need_resched() or the
 * lock is contended; the model stands in a count for both.
 */
export const ZAP_YIELD_SPTES = envInt('ZAP_YIELD_SPTES', 8);
/** Steps a deterministic run may take before it stops with a 'step limit' error. */
export const STEPS_MAX = envInt('STEPS_MAX', 20_000_000);
/**
 * Steps one schedule of an exploration (explore, replay, shrink, swarm) may take: a
 * schedule still running then is reported as a livelock — an actor loops without waiting,
 * retrying a fault or finishing (say, a vCPU re-entering on a request nothing clears).
 * Catalogue schedules take hundreds of steps, the longest of 141,153 swarm scenarios about
 * 36,000 on average; raise it for a scenario that is simply longer.
 */
export const EXPLORE_STEPS_MAX = envInt('EXPLORE_STEPS_MAX', 200_000);
/** Ops a scenario may hold (a typo like a size in bytes where a count was meant). */
export const SCENARIO_OPS_MAX = envInt('SCENARIO_OPS_MAX', 1_000_000);
/** vCPUs a VM may have in the model. */
export const VCPUS_MAX = 256;
/** Guest memory the model lays out at most (sum of memslots); the SharedArrayBuffer grows with it. */
export const GUEST_BYTES_MAX = envInt('GUEST_BYTES_MAX', 2 ** 37);

// ---- Command-line bounds and defaults ----
// What the faultline command accepts: a value outside is bad input (one line, exit 2).
// Most are there to catch a typo (a size in bytes where a count was meant) before a run.

/** Guest memory of a stress run, bytes: every vCPU worker walks all of it. */
export const STRESS_MEMORY_BYTES_MIN = 2 << 20;
export const STRESS_MEMORY_BYTES_MAX = 64 * 2 ** 30;
/** Guest memory of one benchmark point, bytes (a 4K point above ~5 GiB takes minutes). */
export const BENCH_MEMORY_BYTES_MIN = 2 << 20;
export const BENCH_MEMORY_BYTES_MAX = 256 * 2 ** 30;
/** Wall-clock runs of one benchmark point (`--repeat`). */
export const BENCH_REPEAT_MAX = 99;
/** Guest accesses per vCPU of a stress run (`--accesses`). */
export const STRESS_ACCESSES_MAX = 1e12;
/** A stress run's length when neither `--duration` nor `--accesses` is given, ms. */
export const STRESS_DURATION_MS_DEFAULT = 10_000;
/** The shortest `--watchdog`, ms: below it a busy machine's scheduling delays read as deadlocks. */
export const WATCHDOG_MS_MIN = 100;
/** PCT bug depth / DFS preemption bound (`--depth`): the PCT bound 1/(n·k^(d−1)) is hopeless beyond it. */
export const EXPLORE_DEPTH_MAX = 16;
/** Schedules an exploration may try (`--budget`), and how many it tries when neither the entry nor the option says. */
export const EXPLORE_BUDGET_MAX = 100_000_000;
export const EXPLORE_BUDGET_DEFAULT = 1000;
/** `race swarm`: schedules per scenario (one turn of the portfolio's rotation), and scenarios without --time or --scenarios. */
export const SWARM_BUDGET_DEFAULT = 9;
export const SWARM_SCENARIOS_DEFAULT = 1000;
/** Replays the shrinker may try (`race shrink --attempts`). */
export const SHRINK_ATTEMPTS_MAX = 1_000_000;

// ---- Threaded engine defaults ----

/** An unfinished actor with no step (or no progress) for this long is a deadlock (livelock), ms. */
export const THREADED_WATCHDOG_MS = 5000;
/** Interval between stop-the-world invariant scans, ms (0 = only at the end). */
export const THREADED_SCAN_INTERVAL_MS = 2000;
/** Records in each actor's event ring (a power of two). */
export const THREADED_RING_RECORDS = 65536;
/** The vmm signals a vCPU whose SRCU read lock has held up a memslot update this long, ms (0 = never). */
export const THREADED_KICK_MS = 100;
/** A vCPU worker's warm-up on a private VM before the start barrier, ms (0 = none). */
export const THREADED_WARMUP_MS = 0;
/** Pages the warm-up faults, then pre-faults, per round. */
export const THREADED_WARMUP_PAGES = 4096;
/** Guest memory of the warm-up's private VM, bytes. */
export const THREADED_WARMUP_GUEST_BYTES = 64 << 20;
/** The main thread's period between drains of the rings and looks at the run, ms. */
export const THREADED_TICK_MS = 10;
/** Its period while waiting for the start barrier, ms. */
export const THREADED_START_POLL_MS = 1;
/** Its period while waiting for every actor to park at a quiescent point, ms. */
export const THREADED_PARK_POLL_MS = 0.2;
/** Worker start-up (module load, machine binding) must finish within this, ms. */
export const THREADED_STARTUP_MS = 60_000;
/** Reads of a waited-on word an actor spins through before it Atomics.wait()s. */
export const ACTOR_SPINS = 64;
/** An actor's Atomics.wait() on a VM word, ms (short: a park or stop request is seen). */
export const ACTOR_WAIT_MS = 2;
/** An actor's Atomics.wait() on a control word (start barrier, park), ms. */
export const ACTOR_CONTROL_WAIT_MS = 50;
/** The longest an actor with nothing due sleeps before it looks again, ms. */
export const ACTOR_SLEEP_MAX_MS = 20;
/** An actor's Atomics.wait() for the main thread to drain its full event ring, ms (nothing is dropped). */
export const ACTOR_RING_FULL_WAIT_MS = 5;
/** Guest accesses an actor counts before it sends them as one ring record. */
export const ACTOR_ACCESS_BATCH = 1024;
/** Steps between an actor's looks at the control words and publishing its status (a power of two). */
export const ACTOR_TICK_STEPS = 64;
/** Violations an actor keeps (the rest are counted): a broken run can report thousands. */
export const ACTOR_VIOLATIONS_KEPT = 20;
/** How long a scripted actor gated on another thread's op sleeps before it looks again, ms. */
export const SCRIPT_GATE_POLL_MS = 0.05;
