/** Bad scenario input, as one line. */

/** Bad scenario input. `field` is the path of the offending field (`ops[3].size`), or '' for the file as a whole. */
export class ScenarioError extends Error {
  constructor(readonly source: string, readonly field: string, readonly detail: string) {
    super(`${source}: ${field === '' ? '' : `${field}: `}${detail}`);
    this.name = 'ScenarioError';
  }
}
