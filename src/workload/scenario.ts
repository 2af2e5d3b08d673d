/**
 * Scenario files: a VM, its initial memslots and a list of ops, each run by one actor
 * (`vcpu0`…, `host`, `vmm`), in uAPI terms — the JSON form of the engine's RunConfig.
 *
 * ```json
 * { "$schema": "scenario.schema.json", "name": "…", "description": "…",
 *   "vm": { "type": "default", "vcpus": 2, "memory": "256MiB" },
 *   "memslots": [ { "slot": 0, "gpa": "0x0", "size": "64MiB", "flags": ["log_dirty_pages"], "backing": "4K" } ],
 *   "ops": [ { "actor": "vcpu0", "op": "access", "gpa": "0x1000", "access": "write", "repeat": 3 }, … ] }
 * ```
 *
 * The format is defined once, in scenario-schema.ts (zod: types, validation, the published
 * JSON Schema); scenario-parse.ts adds the checks that relate fields to each other, and
 * scenario-run-config.ts turns a Scenario into the engine's RunConfig. Two kinds of wrong
 * input, kept apart on purpose:
 * - bad input — malformed JSON, an unknown field, op, actor, flag name or enum value, an
 *   op given to an actor that cannot run it, a number that is not one: ScenarioError,
 *   with a one-line message naming the field (`ops[3].size: …`);
 * - values the kernel rejects — an unaligned or wrapping pre-fault range, non-zero
 *   pre-fault flags, an unaligned memslot, unknown attribute or memslot flag bits: passed
 *   through unchanged (u64 fields as bigint), so the model answers with the kernel's errno.
 *
 * An access with `repeat: N` expands into N ops; `Scenario.ops` is the expanded list and
 * each entry remembers its position in the file and its repetition.
 */

export { ScenarioError } from './scenario-error.js';
export { jsonErrorOffset } from './scenario-json.js';
export { parseScenario, validateScenarioDocument, SCENARIO_MEMORY_MIN, type Scenario, type ScenarioOp, type ScenarioVm } from './scenario-parse.js';
export { scenarioToRunConfig, type ScenarioRunOptions } from './scenario-run-config.js';
export { scenarioFileSchema, scenarioJsonSchema, SCENARIO_SCHEMA_FILE, type ScenarioFile, type ScenarioFileParsed, type RaceMetadata } from './scenario-schema.js';
export { ACCESS_GPA_LIMIT, MAP_MEMORY_FLAG_NAMES, MEMORY_ATTRIBUTE_NAMES, OP_NAMES, type OpName } from './scenario-ops.js';
export { BACKINGS } from './scenario-memslot.js';
