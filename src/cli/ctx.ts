/** What a command's action gets besides its options: where to write, whether stderr is a terminal, and where to leave its exit status. */

import type { Io } from './io.js';

export interface Ctx {
  readonly io: Io;
  /** stderr is a terminal: progress is redrawn in place. */
  readonly isTty: boolean;
  /** The exit status the command's action leaves (0 clean, 1 a violation or a run error). */
  status: number;
}
