/**
 * A line written whole to a file descriptor before the call returns, for child processes that
 * report progress to their parent. A spawned child's stdout and stderr are socketpairs, which
 * the child's own Node makes non-blocking when it opens process.stdout and process.stderr (tsx's
 * preload already has, before the script runs): fs.writeSync to a parent slow to read can then
 * fail with EAGAIN, or write part of the line. Here it waits 1 ms and writes the rest, so the
 * child blocks while the socket is full, as a blocking write would, and what it prints is never
 * lost nor reordered. Any other error (EPIPE once the parent has gone) is thrown.
 */
import { writeSync } from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes `line` and a newline. */
export function writeLineSync(fd: number, line: string): void {
  const bytes = Buffer.from(`${line}\n`, 'utf8');
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(fd, bytes, written, bytes.length - written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
