/**
 * Child process for crash-sigkill.test.ts. Usage: kv-writer-child.ts <dir> <run> <writers>
 * Opens a KvStore ('db') on a NodeStorage rooted at <dir>, with a 64 KiB checkpoint threshold so
 * checkpoints happen often, prints "opened <pid>", then runs <writers> concurrent writers until
 * it is killed. Writer w writes batch j = 0, 1, 2, ... (batchOps below), each only after the
 * previous one resolved, and prints "acked <run> <w> <j>" with writeLineSync(1) as soon as it
 * resolves, so the line is in the pipe before the next operation starts. Writer 0 also runs an
 * explicit checkpoint after every 25th batch.
 *
 * batchOps and valueFor are exported so the parent can check exactly what each batch wrote.
 */
import { writeLineSync } from '../support/write-line.js';
import { pathToFileURL } from 'node:url';
import type { BatchOp } from '../../src/kv/batch-codec.js';
import { KvStore } from '../../src/kv/store.js';
import { NodeStorage } from '../../src/storage/node.js';

export const storeDirectory = 'db';
export const checkpointThresholdBytes = 64 * 1024;

const pad = (j: number): string => String(j).padStart(6, '0');
export const batchKey = (run: number, w: number, j: number): string => `b/${run}/${w}/${pad(j)}/key`;
export const batchMarker = (run: number, w: number, j: number): string => `b/${run}/${w}/${pad(j)}/marker`;
export const lastKey = (run: number, w: number): string => `last/${run}/${w}`;
export const tmpKey = (run: number, w: number, j: number): string => `tmp/${run}/${w}/${pad(j)}`;

/** 200 B to 2 KiB, a pattern unique to (run, w, j). */
export function valueFor(run: number, w: number, j: number): Uint8Array {
  const seed = (run * 7919 + w * 104_729 + j * 31) >>> 0;
  const length = 200 + (Math.imul(seed, 2_654_435_761) >>> 0) % 1848;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed + i * 13) & 0xff;
  return out;
}

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/**
 * Batch j of writer w: its key (a large value) and its marker, the writer's `last` pointer set
 * to j, and the writer's single `tmp` key moved from j-1 to j (a delete and a put). So after any
 * crash: key and marker come together, `last` names the newest batch present, and exactly one
 * tmp key (the newest batch's) exists.
 */
export function batchOps(run: number, w: number, j: number): BatchOp[] {
  const ops: BatchOp[] = [
    { type: 'put', key: enc(batchKey(run, w, j)), value: valueFor(run, w, j) },
    { type: 'put', key: enc(batchMarker(run, w, j)), value: enc(`m/${run}/${w}/${j}`) },
    { type: 'put', key: enc(lastKey(run, w)), value: enc(String(j)) },
  ];
  if (j > 0) ops.push({ type: 'del', key: enc(tmpKey(run, w, j - 1)) });
  ops.push({ type: 'put', key: enc(tmpKey(run, w, j)), value: enc('t') });
  return ops;
}

async function main(): Promise<void> {
  const [dir, runText, writersText] = process.argv.slice(2);
  if (dir === undefined || runText === undefined || writersText === undefined) {
    throw new Error('usage: kv-writer-child.ts <dir> <run> <writers>');
  }
  const run = Number(runText);
  const storage = await NodeStorage.open(dir);
  const db = await KvStore.open(storage, storeDirectory, { checkpointThresholdBytes });
  writeLineSync(1, `opened ${process.pid}`);
  const writer = async (w: number): Promise<void> => {
    for (let j = 0; ; j++) {
      await db.write(batchOps(run, w, j));
      writeLineSync(1, `acked ${run} ${w} ${j}`);
      if (w === 0 && j % 25 === 24) await db.checkpoint();
    }
  };
  await Promise.all(Array.from({ length: Number(writersText) }, (_, w) => writer(w)));
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  main().catch((error: unknown) => {
    writeLineSync(2, `kv-writer-child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  });
}
