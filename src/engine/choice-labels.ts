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

/** The label numbered `id` (choiceId). */
export function choiceLabel(id: number): string {
  return LABELS[id]!;
}

/**
 * A run's choices as recorded: label numbers in a buffer that grows by doubling and is
 * kept from run to run (a snapshot's runs clear it), so recording allocates nothing once
 * it has grown to a schedule's length.
 */
export class ChoiceLog {
  private ids = new Int32Array(256);
  length = 0;

  push(id: number): void {
    if (this.length === this.ids.length) {
      const grown = new Int32Array(2 * this.ids.length);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[this.length++] = id;
  }

  clear(): void {
    this.length = 0;
  }

  /** The labels recorded so far, in order (a new list). */
  labels(): string[] {
    const out = new Array<string>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = LABELS[this.ids[i]!]!;
    return out;
  }
}
