/**
 * `npm run schema`: writes the published JSON Schema of scenario files
 * (scenarios/scenario.schema.json) from the zod definition. A test checks the file is
 * current.
 */

import { writeFileSync } from 'node:fs';
import { SHIPPED_SCENARIO_DIR } from './scenario-files.js';
import { SCENARIO_SCHEMA_FILE, scenarioJsonSchema } from './scenario-schema.js';

/** The schema file's text: two-space indented JSON and a final newline. */
export function scenarioJsonSchemaText(): string {
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const path = `${SHIPPED_SCENARIO_DIR}${SCENARIO_SCHEMA_FILE}`;
  writeFileSync(path, scenarioJsonSchemaText());
  process.stdout.write(`wrote scenarios/${SCENARIO_SCHEMA_FILE}\n`);
}
