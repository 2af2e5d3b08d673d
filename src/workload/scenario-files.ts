/**
 * The scenario files the package ships: everything under scenarios/ that ends in .json
 * (JSON Schema files, `*.schema.json`, aside), the catalogue's races under scenarios/races/ included.
 */

import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package's scenarios/ folder (next to build/), with a trailing separator. */
export const SHIPPED_SCENARIO_DIR = fileURLToPath(new URL('../../../scenarios/', import.meta.url));

/** Every scenario file under `dir`, as sorted relative paths (`default.json`, `races/seq-check.json`). */
export function shippedScenarioFiles(dir: string = SHIPPED_SCENARIO_DIR): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((f) => f.replace(/\\/g, '/'))
    .filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'))
    .sort();
}

/**
 * The shipped file a name stands for: `default` or `default.json` (a top-level file), else
 * a file of that name in one subfolder (`seq-check` → `races/seq-check.json`); null when
 * none matches, or several subfolders have it.
 */
export function findShippedScenario(name: string, dir: string = SHIPPED_SCENARIO_DIR): string | null {
  const file = name.endsWith('.json') ? name : `${name}.json`;
  const files = shippedScenarioFiles(dir);
  if (files.includes(file)) return file;
  const hits = files.filter((f) => f.endsWith(`/${file}`));
  return hits.length === 1 ? hits[0]! : null;
}
