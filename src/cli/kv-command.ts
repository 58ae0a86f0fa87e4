/**
 * `carve kv get|put|del|scan|checkpoint --db DIR`: inspect and script a Carve key-value store.
 * Writes are durable when the command returns. Keys and values are UTF-8 text by default, or
 * hex/base64 with --encoding. `get` of a missing key prints nothing to stdout and exits 1.
 */
import { Command, Option } from 'commander';
import { openDirectoryStorage } from '../kv/directory-storage.js';
import { KvStore } from '../kv/store.js';
import { parsePositiveInteger } from './parse.js';

type Encoding = 'utf8' | 'hex' | 'base64';

interface DbOptions {
  db: string;
  encoding: Encoding;
}

const encode = (text: string, encoding: Encoding): Uint8Array => Buffer.from(text, encoding);
const decode = (bytes: Uint8Array, encoding: Encoding): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding);

async function withStore<T>(options: DbOptions, create: boolean, body: (store: KvStore) => Promise<T>): Promise<T> {
  const { storage, directory } = await openDirectoryStorage(options.db, undefined, { createIfMissing: create, errorIfExists: false });
  const store = await KvStore.open(storage, directory, { createIfMissing: create });
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

function dbOptions(command: Command): Command {
  return command
    .requiredOption('--db <dir>', 'the database directory')
    .addOption(new Option('-e, --encoding <encoding>', 'how keys and values are written on the command line').choices(['utf8', 'hex', 'base64']).default('utf8'));
}

export function kvCommand(): Command {
  const kv = new Command('kv').description('inspect and script a Carve key-value store');
  dbOptions(kv.command('get').argument('<key>').description('print the value of a key (exit 1 if missing)')).action(
    async (key: string, options: DbOptions) => {
      const value = await withStore(options, false, async (store) => store.get(encode(key, options.encoding)));
      if (value === undefined) {
        console.error(`carve: key not found: ${key}`);
        process.exitCode = 1;
        return;
      }
      console.log(decode(value, options.encoding));
    },
  );
  dbOptions(kv.command('put').argument('<key>').argument('<value>').description('set a key (durable on return)')).action(
    async (key: string, value: string, options: DbOptions) => {
      await withStore(options, true, (store) => store.put(encode(key, options.encoding), encode(value, options.encoding)));
    },
  );
  dbOptions(kv.command('del').argument('<key>').description('delete a key (durable on return)')).action(async (key: string, options: DbOptions) => {
    await withStore(options, false, (store) => store.del(encode(key, options.encoding)));
  });
  dbOptions(
    kv
      .command('scan')
      .description('print entries in key order, one "key<TAB>value" per line (or JSON lines)')
      .option('--gte <key>', 'from this key')
      .option('--gt <key>', 'after this key')
      .option('--lte <key>', 'up to this key')
      .option('--lt <key>', 'before this key')
      .option('--reverse', 'in descending order')
      .option('--limit <n>', 'at most n entries', parsePositiveInteger)
      .option('--json', 'one JSON object {"key","value"} per line'),
  ).action(
    async (options: DbOptions & { gte?: string; gt?: string; lte?: string; lt?: string; reverse?: boolean; limit?: number; json?: boolean }) => {
      const bound = (key: string | undefined) => (key === undefined ? undefined : encode(key, options.encoding));
      await withStore(options, false, async (store) => {
        const range = { gte: bound(options.gte), gt: bound(options.gt), lte: bound(options.lte), lt: bound(options.lt), reverse: options.reverse === true, limit: options.limit };
        for (const [key, value] of store.entries(range)) {
          const [k, v] = [decode(key, options.encoding), decode(value, options.encoding)];
          console.log(options.json === true ? JSON.stringify({ key: k, value: v }) : `${k}\t${v}`);
        }
      });
    },
  );
  dbOptions(kv.command('checkpoint').description('write the data file and retire the logs it covers')).action(async (options: DbOptions) => {
    await withStore(options, false, (store) => store.checkpoint());
  });
  return kv;
}
