/**
 * Child process for sigkill.test.ts. Usage: checkpoint-child.ts <dir>
 * Recovers the state from <dir>/world.ckpt if there is one (else starts empty), opens a
 * Checkpointer with the worker writer (which sweeps temps a kill left), and loops forever: set
 * the whole state to version n (versionPage), checkpoint, and while the worker writes, keep
 * scribbling 0xEE over random pages; once the checkpoint is durable, print "acked <n>" (writeLineSync
 * on fd 1). It only stops when the parent kills it. versionPage is exported so the parent can
 * rebuild the exact bytes any checkpoint must hold.
 */
import { writeLineSync } from '../support/write-line.js';
import { pathToFileURL } from 'node:url';
import { Checkpointer } from '../../src/checkpoint/checkpointer.js';
import { loadCheckpointIfExists } from '../../src/checkpoint/load.js';
import { PagedState } from '../../src/checkpoint/paged-state.js';
import { NodeStorage } from '../../src/storage/node.js';

export const checkpointName = 'world.ckpt';
export const pageBytes = 64 * 1024;
export const pageCount = 128;

/** Page p of version n: filled with (n*13 + p*7) & 0xff, then n and p as u32 LE in the first 8 bytes. */
export function versionPage(version: number, page: number): Uint8Array {
  const bytes = new Uint8Array(pageBytes).fill((version * 13 + page * 7) & 0xff);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, version, true);
  view.setUint32(4, page, true);
  return bytes;
}

async function main(): Promise<void> {
  const [dir] = process.argv.slice(2);
  if (dir === undefined) throw new Error('usage: checkpoint-child.ts <dir>');
  const storage = await NodeStorage.open(dir);
  const loaded = await loadCheckpointIfExists(storage, checkpointName);
  const state = loaded?.state ?? PagedState.create({ pageBytes, pageCount });
  const checkpointer = await Checkpointer.open(state, { storage, path: checkpointName, writer: 'worker', sequence: loaded?.sequence ?? 0 });
  const scribble = new Uint8Array(512).fill(0xee);
  let seed = 12345 + (loaded?.sequence ?? 0);
  const random = (bound: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % bound;
  };
  for (;;) {
    const version = checkpointer.lastSequence + 1;
    for (let page = 0; page < pageCount; page++) state.write(page, 0, versionPage(version, page));
    const running = checkpointer.checkpoint();
    let done = false;
    void running.then(() => (done = true), () => (done = true));
    while (!done) {
      for (let i = 0; i < 16; i++) state.write(random(pageCount), random(pageBytes - scribble.length), scribble);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const { sequence } = await running;
    if (sequence !== version) throw new Error(`checkpoint ${sequence} was expected to be ${version}`);
    writeLineSync(1, `acked ${sequence}`);
  }
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  main().catch((error: unknown) => {
    writeLineSync(2, `checkpoint-child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  });
}
