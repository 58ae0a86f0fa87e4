/**
 * Child process for lock-process.test.ts. Usage: kv-lock-child.ts <dir>
 * Opens a KvStore ('db') on a NodeStorage rooted at <dir>, writes one key, prints "ready <pid>"
 * (writeSync, so it is out before the wait), then holds the store open until stdin ends, when
 * it closes the store and exits 0. The parent may also kill it.
 */
import { writeSync } from 'node:fs';
import { KvStore } from '../../src/kv/store.js';
import { NodeStorage } from '../../src/storage/node.js';

async function main(): Promise<void> {
  const [dir] = process.argv.slice(2);
  if (dir === undefined) throw new Error('usage: kv-lock-child.ts <dir>');
  const db = await KvStore.open(await NodeStorage.open(dir), 'db');
  await db.put(Buffer.from('written-by-child'), Buffer.from(String(process.pid)));
  writeSync(1, `ready ${process.pid}\n`);
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.on('end', resolve));
  await db.close();
}

main().catch((error: unknown) => {
  writeSync(2, `kv-lock-child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
