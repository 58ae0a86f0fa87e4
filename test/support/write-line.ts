/**
 * A line written whole to a file descriptor before the call returns, for child processes that
 * report progress to their parent on a pipe. fs.writeSync on a pipe the parent is slow to read
 * can fail with EAGAIN (Node makes the pipes of a spawned child's stdio non-blocking), or write
 * part of the line: here it waits 1 ms and writes the rest. The child then blocks while the pipe
 * is full, as a blocking write would; what it prints is never lost nor reordered.
 */
import { writeSync } from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

export function writeLineSync(fd: number, line: string): void {
  const bytes = Buffer.from(line.endsWith('\n') ? line : `${line}\n`, 'utf8');
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
