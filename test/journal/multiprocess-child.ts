/**
 * Child process for multiprocess.test.ts. Usage: multiprocess-child.ts <dir> <name> <count|forever> <lanes>
 * Opens the shared journal in <dir> through NodeStorage and JournalWriter, prints
 * "writer <id>", then keeps <lanes> appends in flight (so they share blocks and syncs),
 * printing "ack <seq>" (synchronously, writeLineSync on fd 1) after each append resolves, that
 * is once it is durable. With a count it closes the journal and exits 0; with "forever" it
 * runs until the parent kills it.
 *
 * payloadFor is exported so the parent can check every entry's bytes.
 */
import { writeLineSync } from '../support/write-line.js';
import { pathToFileURL } from 'node:url';
import { JournalWriter } from '../../src/journal/writer.js';
import { NodeStorage } from '../../src/storage/node.js';

export const sharedJournal = 'shared.journal';

/** Entry `seq` of writer `writerId`: names both, then 0 to ~3 KiB of filler so blocks vary in size. */
export function payloadFor(writerId: string, seq: number): Buffer {
  const filler = 'x'.repeat((seq * 7919) % 3000);
  return Buffer.from(`${writerId} entry ${seq} ${filler}`);
}

async function main(): Promise<void> {
  const [dir, name, countText, lanesText] = process.argv.slice(2);
  if (dir === undefined || name === undefined || countText === undefined || lanesText === undefined) {
    throw new Error('usage: multiprocess-child.ts <dir> <name> <count|forever> <lanes>');
  }
  const count = countText === 'forever' ? Number.POSITIVE_INFINITY : Number(countText);
  const storage = await NodeStorage.open(dir);
  const writer = await JournalWriter.open(storage, sharedJournal, { name });
  writeLineSync(1, `writer ${writer.writerId}`);
  let issued = 0;
  const lane = async () => {
    while (issued < count) {
      issued += 1;
      const seq = issued;
      const ack = await writer.append(payloadFor(writer.writerId, seq));
      if (ack.seq !== seq) throw new Error(`append ${seq} was acknowledged as seq ${ack.seq}`);
      writeLineSync(1, `ack ${ack.seq}`);
    }
  };
  await Promise.all(Array.from({ length: Number(lanesText) }, lane));
  await writer.close();
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  main().catch((error: unknown) => {
    writeLineSync(2, `multiprocess-child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  });
}
