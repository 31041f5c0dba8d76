// What was computed from a file's contents, reused while the file is unchanged: a start reads the
// device policy and the app's margo.yaml, and parsing and validating them again each time was most
// of a warm start's own work. "Unchanged" is the same inode, size and modification time to the
// nanosecond; anything else (an edit, a replace by rename) computes afresh.
import fs from 'node:fs';

const MAX_ENTRIES = 256;

export class FileMemo<T> {
  readonly #entries = new Map<string, { stamp: string; value: T }>();

  /** `compute(contents)`, or its earlier result for the same file state. Errors are not kept. */
  get(file: string, compute: (contents: Buffer) => T): T {
    const st = fs.statSync(file, { bigint: true });
    const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const hit = this.#entries.get(file);
    if (hit?.stamp === stamp) return hit.value;
    const value = compute(fs.readFileSync(file));
    this.#entries.delete(file);
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(file, { stamp, value });
    return value;
  }
}
