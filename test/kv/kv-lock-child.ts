/**
 * Child process for lock-process.test.ts. Usage: kv-lock-child.ts <dir> [--race]
 * Opens a KvStore ('db') on a NodeStorage rooted at <dir>, writes one key, prints "ready <pid>"
 * (writeLineSync, so it is out before the wait), then holds the store open until stdin ends, when
 * it closes the store and exits 0. The parent may also kill it.
 * With --race it first prints "waiting <pid>" and opens only when a first chunk arrives on
 * stdin (so that the parent can start several children's opens at once); an open refused with
 * E_DB_LOCKED prints "locked <pid>" and exits 0.
 */
import { writeLineSync } from '../support/write-line.js';
import { ErrorCodes, isCarveError } from '../../src/errors.js';
import { KvStore } from '../../src/kv/store.js';
import { NodeStorage } from '../../src/storage/node.js';

async function main(): Promise<void> {
  const [dir, mode] = process.argv.slice(2);
  if (dir === undefined || (mode !== undefined && mode !== '--race')) throw new Error('usage: kv-lock-child.ts <dir> [--race]');
  const storage = await NodeStorage.open(dir);
  process.stdin.resume();
  const stdinEnded = new Promise<void>((resolve) => process.stdin.on('end', resolve));
  if (mode === '--race') {
    const go = new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
    writeLineSync(1, `waiting ${process.pid}`);
    await go;
  }
  let db: KvStore;
  try {
    db = await KvStore.open(storage, 'db');
  } catch (error) {
    if (mode !== '--race' || !isCarveError(error, ErrorCodes.DB_LOCKED)) throw error;
    writeLineSync(1, `locked ${process.pid}`);
    process.exit(0);
  }
  await db.put(Buffer.from('written-by-child'), Buffer.from(String(process.pid)));
  writeLineSync(1, `ready ${process.pid}`);
  await stdinEnded;
  await db.close();
}

main().catch((error: unknown) => {
  writeLineSync(2, `kv-lock-child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
