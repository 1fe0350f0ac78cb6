// A file the profiler outputs append to (profile.ts), written in batches.
//
// A write per placement cost more than the define it recorded (a system call each: a unit of 8
// functions took 4x as long with a jitdump). Profilers read these files after the run, and a
// jitdump record carries its own timestamp, so when the bytes reach the file does not matter, only
// that they do: they are kept in memory and written before 64 KiB would be waiting, at the next
// turn of the event loop, and when the process exits. A process killed by a signal loses what is still
// waiting (at most what one turn of the event loop placed).

import { writeSync } from 'node:fs';

const FLUSH_AT = 64 * 1024;

/** The files of this process (a perf map and a jitdump or two), each written at exit. */
const files: TraceFile[] = [];
let exitHooked = false;

export class TraceFile {
  /** The buffer and a view of it: write at what reserve() returned, before the next reserve(). */
  bytes = new Uint8Array(FLUSH_AT);
  view = new DataView(this.bytes.buffer);
  #length = 0;
  #scheduled = false;

  constructor(private readonly fd: number) {
    files.push(this);
  }

  /**
   * Room for `size` more bytes: returns the offset in `bytes` (and `view`) to write them at, valid
   * until the next reserve, and counts them as written. (No object per call: a record is a few
   * hundred nanoseconds in all.)
   */
  reserve(size: number): number {
    // What waits is written before the buffer would pass FLUSH_AT; a record larger than the
    // buffer gets one of its own size.
    if (this.#length > 0 && this.#length + size > this.bytes.length) this.flush();
    if (size > this.bytes.length) {
      this.bytes = new Uint8Array(size);
      this.view = new DataView(this.bytes.buffer);
    }
    const at = this.#length;
    this.#length += size;
    this.#schedule();
    return at;
  }

  /** Writes what waits, now. */
  flush(): void {
    let written = 0;
    while (written < this.#length) written += writeSync(this.fd, this.bytes, written, this.#length - written);
    this.#length = 0;
  }

  #schedule(): void {
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', () => {
        for (const file of files) file.flush();
      });
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.flush();
    }, 0).unref();
  }
}
