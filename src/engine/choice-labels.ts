/**
 * A run's recorded choices as integers: every step label (`vcpu1:page-fault.checkStale`,
 * `host:invalidate`) gets a number once, for the life of the process, and a run records
 * the numbers — one integer store per step instead of a pointer store, and the label
 * strings are made only when a token or result reads the choices. The table holds each
 * distinct label once (actor names × machine states and op names: a few thousand at most).
 */

const LABELS: string[] = [];
const IDS = new Map<string, number>();

/** The number of `label` (the same for every run of the process). */
export function choiceId(label: string): number {
  let id = IDS.get(label);
  if (id === undefined) {
    id = LABELS.length;
    LABELS.push(label);
    IDS.set(label, id);
  }
  return id;
}

/** The labels of recorded choice numbers, in order. */
export function choiceLabels(ids: readonly number[]): string[] {
  const out = new Array<string>(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = LABELS[ids[i]!]!;
  return out;
}
