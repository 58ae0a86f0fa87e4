/**
 * The checkpoint writer worker. It maps the state's shared slabs and page tables, opens
 * NodeStorage on the root it was given, and for each job runs writeCheckpoint, the same
 * protocol the inline writer runs, reading frozen pages straight from shared memory (no copy of
 * the state is ever made in the main thread). It reports each job's outcome, and only then, so
 * the main thread may recycle the frozen pages once it hears back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assert } from '../errors.js';
import { NodeStorage } from '../storage/node.js';
import { FrozenPages, PageTables } from './page-tables.js';
import { SlotSpace } from './slots.js';
import { type FromWorker, type ToWorker, type WorkerInit, serializeError } from './worker-protocol.js';
import { writeCheckpoint } from './write-checkpoint.js';

const port = parentPort;
assert(port !== null, 'worker.ts runs as a worker thread');
const init = workerData as WorkerInit;
const post = (message: FromWorker): void => port.postMessage(message);

const slots = new SlotSpace(init.layout);
for (const slab of init.slabs) slots.addSlab(slab);
const frozen = new FrozenPages(new PageTables(init.layout.pageCount, init.tables), slots);
let running = false;

try {
  const storage = await NodeStorage.open(init.rootPath);
  port.on('message', (message: ToWorker) => {
    if (message.type === 'slab') {
      const firstSlot = slots.addSlab(message.buffer);
      assert(firstSlot === message.firstSlot, `slab announced at slot ${message.firstSlot} maps at ${firstSlot}`);
      return;
    }
    assert(!running, 'one checkpoint job at a time');
    running = true;
    const { job } = message;
    writeCheckpoint(storage, init.targetPath, frozen, job, { chunkBytes: init.chunkBytes, mode: init.mode }).then(
      ({ sizeBytes }) => {
        running = false;
        post({ type: 'written', epoch: job.epoch, sizeBytes });
      },
      (error: unknown) => {
        running = false;
        post({ type: 'failed', epoch: job.epoch, error: serializeError(error) });
      },
    );
  });
  post({ type: 'ready' });
} catch (error) {
  post({ type: 'init-failed', error: serializeError(error) });
}
