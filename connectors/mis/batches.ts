import { BATCH_SIZE, type MarkRecord, type MisBatch, type PupilRecord } from './types.ts';

/** Collects records as a reader finds them and hands them on in batches of BATCH_SIZE. */
export class BatchBuffer {
  pupils: PupilRecord[] = [];
  marks: MarkRecord[] = [];

  /** Full batches now; with `final`, whatever is left too. Pupils before marks. */
  *drain(final = false): Generator<MisBatch> {
    if (this.pupils.length >= BATCH_SIZE || (final && this.pupils.length)) {
      yield { kind: 'pupils', pupils: this.pupils };
      this.pupils = [];
    }
    if (this.marks.length >= BATCH_SIZE || (final && this.marks.length)) {
      yield { kind: 'marks', marks: this.marks };
      this.marks = [];
    }
  }
}
