/**
 * KvStore's contract, on the real disk (NodeStorage in a temp dir) and on SimStorage alike:
 * get/put/del/batch; ordered range iteration (forward and reverse, gt/gte/lt/lte, limit), checked
 * by a model-based property test against a sorted Map over random operation sequences that
 * include concurrent writes, reopening (close + KvStore.open) and checkpoints, comparing the
 * full contents after every step; snapshots are consistent and immutable; stored values are not
 * aliased to the caller's buffers; the size limits refuse oversized keys, values and batches
 * with E_KV_LIMIT before anything is written; a closed store refuses use with E_DB_CLOSED (and a
 * write racing close() either resolves and is kept, or is refused and never lands); a second
 * open in the same process is E_DB_LOCKED and leaves the first store working. Recovery: a
 * foreign file under a log name is E_FOREIGN_FILE and changes nothing in the directory; a
 * corrupt data.ckpt is E_CORRUPT naming it; a torn tail in the last log is truncated to the end
 * of the last whole record and every earlier record is kept; a bad record in synced data (later
 * records, or a later log, prove it was durable) is E_CORRUPT and nothing is truncated; a missing
 * log in the sequence is E_CORRUPT. Options: a memtableEntries that is not a positive integer is
 * E_INVALID_ARGUMENT and creates nothing. Automatic checkpoints wait for the log to outgrow both
 * the threshold and the data file.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes } from '../../src/errors.js';
import type { BatchOp } from '../../src/kv/batch-codec.js';
import { parseDataFile } from '../../src/kv/data-file.js';
import { maxKeyBytes, maxValueBytes } from '../../src/kv/limits.js';
import { spacePageBytes } from '../../src/kv/log-space.js';
import { encodeRecord, parseLog } from '../../src/kv/log-format.js';
import type { RangeOptions } from '../../src/kv/range.js';
import { KvStore, type KvOptions } from '../../src/kv/store.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { readFileIfExists, readWholeFile, text } from '../../src/storage/files.js';
import { NodeStorage } from '../../src/storage/node.js';
import type { Storage } from '../../src/storage/storage.js';
import { FailingDirSync, FailingHandleCalls, FailingOpens, RecordingStorage, assertReopenedHolds, b, carveError, hex, latin1, seededRandom, tempNodeStorages } from './kv-helpers.js';

interface Backend {
  readonly name: string;
  /** A fresh, empty storage. */
  make(): Promise<Storage>;
  /** numRuns for the model-based property (the real disk syncs for real, so fewer). */
  readonly modelRuns: number;
  /** Options every store in the suite opens with (unless a test overrides them). */
  readonly storeDefaults: KvOptions;
}

const tempStorage = tempNodeStorages('carve-kv-store-');

const backends: readonly Backend[] = [
  // Small fills in the simulation: it copies every byte a write carries, and the default's
  // chunks of zeros (up to 256 KiB) would be most of them. The real disk runs the default chunk.
  // Memtables of a few entries, so that the index's sorted runs and merges are exercised, not
  // only its memtable.
  { name: 'SimStorage', make: async () => new SimStorage(), modelRuns: 150, storeDefaults: { logPreallocationBytes: 2 * spacePageBytes, memtableEntries: 3 } },
  {
    name: 'NodeStorage',
    make: async () => (await tempStorage()).storage,
    modelRuns: 40,
    storeDefaults: { memtableEntries: 5 },
  },
];

// ---- the model ------------------------------------------------------------------------------

type Model = Map<string, { key: Uint8Array; value: Uint8Array }>;
const mkey = (key: Uint8Array): string => Buffer.from(key).toString('hex');
const cmp = (x: Uint8Array, y: Uint8Array): number => Buffer.compare(Buffer.from(x), Buffer.from(y));

function applyToModel(model: Model, ops: readonly BatchOp[]): void {
  for (const op of ops) {
    if (op.type === 'put') model.set(mkey(op.key), { key: Uint8Array.from(op.key), value: Uint8Array.from(op.value) });
    else model.delete(mkey(op.key));
  }
}

type Row = { key: Uint8Array; value: Uint8Array };
const sortedRows = (model: Model): Row[] => [...model.values()].sort((x, y) => cmp(x.key, y.key));

function modelRange(model: Model | Row[], o: RangeOptions): Array<[string, string]> {
  let rows = Array.isArray(model) ? model : sortedRows(model);
  rows = rows.filter(({ key }) => {
    if (o.gte !== undefined) {
      if (cmp(key, o.gte) < 0) return false;
    } else if (o.gt !== undefined && cmp(key, o.gt) <= 0) return false;
    if (o.lte !== undefined) {
      if (cmp(key, o.lte) > 0) return false;
    } else if (o.lt !== undefined && cmp(key, o.lt) >= 0) return false;
    return true;
  });
  if (o.reverse === true) rows.reverse();
  if (o.limit !== undefined && o.limit >= 0) rows = rows.slice(0, o.limit);
  return rows.map(({ key, value }) => [hex(key)!, hex(value)!]);
}

const show = (entries: Iterable<[Uint8Array, Uint8Array]>): Array<[string, string]> => [...entries].map(([k, v]) => [hex(k)!, hex(v)!]);

function assertMatchesModel(db: KvStore, model: Model, where: string): void {
  assert.deepEqual(show(db.entries()), modelRange(model, {}), `${where}: full contents, forward`);
  assert.deepEqual(show(db.entries({ reverse: true })), modelRange(model, { reverse: true }), `${where}: full contents, reverse`);
  assert.equal(db.size, model.size, `${where}: size`);
  for (const { key, value } of model.values()) assert.equal(hex(db.get(key)), hex(value), `${where}: get ${hex(key)}`);
}

// Keys from a few byte values, including 0x00, 0x7f, 0x80 and 0xff, so bytewise order matters
// (and differs from UTF-8 or signed order), with the empty key, prefixes and collisions.
const keyArb = fc.array(fc.constantFrom(0x00, 0x01, 0x61, 0x62, 0x7f, 0x80, 0xff), { minLength: 0, maxLength: 3 }).map((bytes) => Uint8Array.from(bytes));
const valueArb = fc.uint8Array({ minLength: 0, maxLength: 40 });
const putArb = fc.record({ type: fc.constant('put' as const), key: keyArb, value: valueArb });
const delArb = fc.record({ type: fc.constant('del' as const), key: keyArb });
const batchOpArb: fc.Arbitrary<BatchOp> = fc.oneof({ weight: 3, arbitrary: putArb }, { weight: 1, arbitrary: delArb });
const rangeArb: fc.Arbitrary<RangeOptions> = fc.record(
  {
    gt: keyArb,
    gte: keyArb,
    lt: keyArb,
    lte: keyArb,
    reverse: fc.boolean(),
    limit: fc.integer({ min: -1, max: 6 }),
  },
  { requiredKeys: [] },
);

type Step =
  | { kind: 'put'; op: BatchOp & { type: 'put' } }
  | { kind: 'del'; op: BatchOp & { type: 'del' } }
  | { kind: 'batch'; ops: BatchOp[] }
  | { kind: 'concurrent'; writes: BatchOp[][] }
  | { kind: 'reopen' }
  | { kind: 'checkpoint' }
  | { kind: 'range'; options: RangeOptions };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: putArb.map((op): Step => ({ kind: 'put', op })) },
  { weight: 2, arbitrary: delArb.map((op): Step => ({ kind: 'del', op })) },
  { weight: 3, arbitrary: fc.array(batchOpArb, { minLength: 0, maxLength: 8 }).map((ops): Step => ({ kind: 'batch', ops })) },
  { weight: 2, arbitrary: fc.array(fc.array(batchOpArb, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 6 }).map((writes): Step => ({ kind: 'concurrent', writes })) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'reopen' }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'checkpoint' }) },
  { weight: 3, arbitrary: rangeArb.map((options): Step => ({ kind: 'range', options })) },
);

const describeStep = (step: Step): string => JSON.stringify(step, (_, v: unknown) => (v instanceof Uint8Array ? `0x${hex(v)}` : v));

// ---- directory helpers ----------------------------------------------------------------------

/**
 * Every file of the store's directory and its bytes, but the LOCK file: any open, even one
 * refused, leaves it (lock.ts), and it holds no data.
 */
async function directoryState(storage: Storage, directory: string): Promise<Record<string, string>> {
  const state: Record<string, string> = {};
  for (const name of await storage.readdir(directory)) {
    if (name !== 'LOCK') state[name] = hex(await readWholeFile(storage, `${directory}/${name}`))!;
  }
  return state;
}

async function writeFile(storage: Storage, path: string, data: Uint8Array): Promise<void> {
  const handle = await storage.open(path, 'w');
  await handle.write(data, 0);
  await handle.close();
}

async function appendBytes(storage: Storage, path: string, data: Uint8Array): Promise<void> {
  const handle = await storage.open(path, 'r+');
  const { sizeBytes } = await handle.stat();
  await handle.write(data, sizeBytes);
  await handle.close();
}

async function writeBytes(storage: Storage, path: string, data: Uint8Array, position: number): Promise<void> {
  const handle = await storage.open(path, 'r+');
  await handle.write(data, position);
  await handle.close();
}

async function truncateFile(storage: Storage, path: string, sizeBytes: number): Promise<void> {
  const handle = await storage.open(path, 'r+');
  await handle.truncate(sizeBytes);
  await handle.close();
}

async function flipByte(storage: Storage, path: string, position: number): Promise<void> {
  const handle = await storage.open(path, 'r+');
  const [byte] = await handle.read(1, position);
  await handle.write(Uint8Array.of(byte! ^ 0x5a), position);
  await handle.close();
}

const sizeOf = async (storage: Storage, path: string): Promise<number> => (await storage.stat(path)).sizeBytes;

/** `call` returns a promise that rejects as `matcher` says; it must not throw instead. */
async function refuses(call: () => Promise<unknown>, matcher: (error: unknown) => boolean, message = 'the call'): Promise<void> {
  let promise: Promise<unknown> | undefined;
  assert.doesNotThrow(() => {
    promise = call();
  }, `${message} throws instead of returning a rejected promise`);
  await assert.rejects(promise!, matcher, message);
}

// ---- the tests ------------------------------------------------------------------------------

for (const backend of backends) {
  describe(`KvStore on ${backend.name}`, () => {
    let storage: Storage;
    let counter = 0;
    const freshDir = () => `db-${++counter}`;
    const openStore = (on: Storage, dir: string, options: KvOptions = {}): Promise<KvStore> =>
      KvStore.open(on, dir, { ...backend.storeDefaults, ...options });
    before(async () => {
      storage = await backend.make();
    });

    describe('basic operations', () => {
      it('put, get, overwrite, del, batch, empty batch', async () => {
        const dir = freshDir();
        const db = await openStore(storage, dir);
        try {
          assert.equal(db.get(b('a')), undefined);
          await db.put(b('a'), b('1'));
          assert.equal(text(db.get(b('a'))!), '1');
          await db.put(b('a'), b('2'));
          assert.equal(text(db.get(b('a'))!), '2');
          await db.del(b('a'));
          assert.equal(db.get(b('a')), undefined);
          await db.del(b('never-there')); // deleting a missing key is not an error
          await db.write([
            { type: 'put', key: b('x'), value: b('first') },
            { type: 'put', key: b('y'), value: b('y') },
            { type: 'del', key: b('y') },
            { type: 'put', key: b('x'), value: b('second') }, // later ops in a batch win
            { type: 'put', key: b(''), value: b('empty key') },
            { type: 'put', key: b('z'), value: new Uint8Array(0) }, // empty value is a value
          ]);
          await db.write([]);
          assert.deepEqual(
            [...db.entries()].map(([k, v]) => [text(k), text(v)]),
            [['', 'empty key'], ['x', 'second'], ['z', '']],
          );
          assert.equal(db.size, 3);
          assert.notEqual(db.get(b('z')), undefined);
          await db.close();
          const reopened = await openStore(storage, dir);
          assert.deepEqual(
            [...reopened.entries()].map(([k, v]) => [text(k), text(v)]),
            [['', 'empty key'], ['x', 'second'], ['z', '']],
          );
          await reopened.close();
        } finally {
          await db.close();
        }
      });

      it('range iteration: forward, reverse, bounds, precedence and limit (examples)', async () => {
        const dir = freshDir();
        const db = await openStore(storage, dir);
        try {
          await db.write(['a', 'b', 'c', 'd', 'e'].map((k) => ({ type: 'put' as const, key: b(k), value: b(k.toUpperCase()) })));
          const keys = (o: RangeOptions) => [...db.entries(o)].map(([k]) => text(k)).join('');
          assert.equal(keys({}), 'abcde');
          assert.equal(keys({ reverse: true }), 'edcba');
          assert.equal(keys({ gt: b('b') }), 'cde');
          assert.equal(keys({ gte: b('b') }), 'bcde');
          assert.equal(keys({ lt: b('d') }), 'abc');
          assert.equal(keys({ lte: b('d') }), 'abcd');
          assert.equal(keys({ gt: b('a'), lt: b('e'), reverse: true }), 'dcb');
          assert.equal(keys({ gte: b('bb'), lte: b('dd') }), 'cd');
          assert.equal(keys({ gt: b('b'), lt: b('d'), reverse: true }), 'c');
          assert.equal(keys({ gte: b('b'), gt: b('b') }), 'bcde', 'gte takes precedence over gt');
          assert.equal(keys({ lte: b('d'), lt: b('d'), reverse: true }), 'dcba', 'lte takes precedence over lt');
          assert.equal(keys({ limit: 2 }), 'ab');
          assert.equal(keys({ limit: 2, reverse: true }), 'ed');
          assert.equal(keys({ limit: 0 }), '');
          assert.equal(keys({ limit: -1 }), 'abcde');
          assert.equal(keys({ gt: b('e') }), '');
          assert.equal(keys({ lt: b('a'), reverse: true }), '');
          assert.equal(keys({ gt: b('c'), lt: b('c') }), '');
          assert.equal(keys({ gte: b('z'), reverse: true }), '');
          assert.equal(keys({ lte: b('zzz'), reverse: true, limit: 1 }), 'e');
        } finally {
          await db.close();
        }
      });

      it('range iteration across sorted runs and merges matches the model (2,000 keys, 400 random ranges)', async () => {
        const dir = freshDir();
        const db = await openStore(storage, dir);
        try {
          const random = seededRandom(0xb7ee);
          const model: Model = new Map();
          const randomKey = () => Uint8Array.from({ length: 1 + Math.floor(random() * 3) }, () => [0, 1, 0x41, 0x61, 0x7f, 0x80, 0xfe, 0xff][Math.floor(random() * 8)]!);
          const ops: BatchOp[] = [];
          for (let i = 0; i < 2000; i++) ops.push({ type: 'put', key: Uint8Array.from([Math.floor(random() * 256), Math.floor(random() * 256)]), value: b(String(i)) });
          await db.write(ops);
          applyToModel(model, ops);
          const rows = sortedRows(model);
          for (let i = 0; i < 400; i++) {
            const options: RangeOptions = { reverse: random() < 0.5 };
            if (random() < 0.5) options[random() < 0.5 ? 'gt' : 'gte'] = random() < 0.5 ? randomKey() : ops[Math.floor(random() * ops.length)]!.key;
            if (random() < 0.5) options[random() < 0.5 ? 'lt' : 'lte'] = random() < 0.5 ? randomKey() : ops[Math.floor(random() * ops.length)]!.key;
            if (random() < 0.3) options.limit = Math.floor(random() * 50);
            assert.deepEqual(show(db.entries(options)), modelRange(rows, options), `range ${describeStep({ kind: 'range', options })}`);
          }
        } finally {
          await db.close();
        }
      });
    });

    it(`model-based: random op sequences with reopen and checkpoints match a sorted Map (${backend.modelRuns} runs)`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(stepArb, { minLength: 1, maxLength: 35 }),
          fc.constantFrom(0, 300, 4096),
          async (steps, checkpointThresholdBytes) => {
            const dir = freshDir();
            const options: KvOptions = { checkpointThresholdBytes };
            const model: Model = new Map();
            let db = await openStore(storage, dir, options);
            try {
              for (const [index, step] of steps.entries()) {
                const where = `step ${index} ${describeStep(step)}`;
                switch (step.kind) {
                  case 'put':
                    await db.put(step.op.key, step.op.value);
                    applyToModel(model, [step.op]);
                    break;
                  case 'del':
                    await db.del(step.op.key);
                    applyToModel(model, [step.op]);
                    break;
                  case 'batch':
                    await db.write(step.ops);
                    applyToModel(model, step.ops);
                    break;
                  case 'concurrent':
                    // Issued together: they share groups, and apply in the order they were issued.
                    await Promise.all(step.writes.map((ops) => db.write(ops)));
                    for (const ops of step.writes) applyToModel(model, ops);
                    break;
                  case 'reopen':
                    await db.close();
                    db = await openStore(storage, dir, options);
                    break;
                  case 'checkpoint':
                    await db.checkpoint();
                    break;
                  case 'range':
                    assert.deepEqual(show(db.entries(step.options)), modelRange(model, step.options), where);
                    break;
                }
                assertMatchesModel(db, model, where);
              }
              await db.close();
              db = await openStore(storage, dir, options);
              assertMatchesModel(db, model, 'after the final reopen');
            } finally {
              await db.close();
            }
          },
        ),
        { numRuns: backend.modelRuns },
      );
    });

    describe('snapshots', () => {
      it('a snapshot (and a running iteration) does not see later writes', async () => {
        const dir = freshDir();
        const db = await openStore(storage, dir);
        try {
          await db.write([
            { type: 'put', key: b('a'), value: b('1') },
            { type: 'put', key: b('b'), value: b('2') },
            { type: 'put', key: b('c'), value: b('3') },
          ]);
          const snapshot = db.snapshot();
          const running = db.entries()[Symbol.iterator]();
          assert.equal(text(running.next().value![0]), 'a');
          await db.put(b('d'), b('4'));
          await db.del(b('b'));
          await db.put(b('c'), b('33'));
          await db.checkpoint();
          await db.write([{ type: 'put', key: b('aa'), value: b('new') }, { type: 'del', key: b('a') }]);
          assert.equal(snapshot.size, 3);
          assert.equal(text(snapshot.get(b('a'))!), '1');
          assert.equal(text(snapshot.get(b('b'))!), '2');
          assert.equal(text(snapshot.get(b('c'))!), '3');
          assert.equal(snapshot.get(b('d')), undefined);
          assert.equal(snapshot.get(b('aa')), undefined);
          assert.deepEqual([...snapshot.entries()].map(([k, v]) => `${text(k)}=${text(v)}`), ['a=1', 'b=2', 'c=3']);
          assert.deepEqual([...snapshot.entries({ reverse: true, gt: b('a') })].map(([k]) => text(k)), ['c', 'b']);
          const rest: string[] = [];
          for (let step = running.next(); step.done !== true; step = running.next()) rest.push(`${text(step.value[0])}=${text(step.value[1])}`);
          assert.deepEqual(rest, ['b=2', 'c=3'], 'the iteration continues on its own snapshot');
          assert.deepEqual([...db.entries()].map(([k, v]) => `${text(k)}=${text(v)}`), ['aa=new', 'c=33', 'd=4']);
        } finally {
          await db.close();
        }
      });

      it('a snapshot taken while a write is in flight does not see it', async () => {
        const dir = freshDir();
        const db = await openStore(storage, dir);
        try {
          const pending = db.put(b('k'), b('v'));
          const snapshot = db.snapshot();
          await pending;
          assert.equal(snapshot.get(b('k')), undefined);
          assert.equal(text(db.get(b('k'))!), 'v');
        } finally {
          await db.close();
        }
      });
    });

    describe('values are not aliased to the caller', () => {
      it('mutating the value or key buffer after put (resolved or pending) does not change the store', async () => {
        const dir = freshDir();
        const db = await openStore(storage, dir);
        try {
          const value = b('original');
          const key = b('key');
          await db.put(key, value);
          value.fill(0x21);
          key.fill(0x21);
          assert.equal(text(db.get(b('key'))!), 'original');
          assert.equal(db.get(b('!!!')), undefined);

          const pendingValue = b('pending');
          const pending = db.put(b('p'), pendingValue);
          pendingValue.fill(0x3f); // before the commit has resolved
          await pending;
          assert.equal(text(db.get(b('p'))!), 'pending');

          const batchValue = b('in a batch');
          const batch = db.write([{ type: 'put', key: b('q'), value: batchValue }]);
          batchValue.fill(0);
          await batch;
          assert.equal(text(db.get(b('q'))!), 'in a batch');

          const backing = b('xxxxxVIEWyyyyy');
          await db.put(b('view'), backing.subarray(5, 9)); // a view with a non-zero byteOffset
          backing.fill(0);
          assert.equal(text(db.get(b('view'))!), 'VIEW');

          await db.close();
          const reopened = await openStore(storage, dir);
          try {
            assert.equal(text(reopened.get(b('key'))!), 'original');
            assert.equal(text(reopened.get(b('p'))!), 'pending');
            assert.equal(text(reopened.get(b('q'))!), 'in a batch');
            assert.equal(text(reopened.get(b('view'))!), 'VIEW');
          } finally {
            await reopened.close();
          }
        } finally {
          await db.close();
        }
      });
    });

    describe('limits', () => {
      it('a key over 65,535 B, a value over 16 MiB, or a batch over 64 MiB is E_KV_LIMIT and writes nothing', async () => {
        const dir = freshDir();
        const db = await openStore(storage, dir);
        try {
          await db.put(b('before'), b('ok'));
          const logPath = `${dir}/log-000001.wal`;
          const logSize = await sizeOf(storage, logPath);
          const stats = { ...db.stats };
          const bigKey = new Uint8Array(maxKeyBytes + 1).fill(0x6b);
          const bigValue = new Uint8Array(maxValueBytes + 1);
          const fullValue = new Uint8Array(maxValueBytes); // shared by every op below: no extra memory
          const attempts: Array<[string, () => Promise<void>]> = [
            ['put with a big key', () => db.put(bigKey, b('v'))],
            ['del with a big key', () => db.del(bigKey)],
            ['put with a big value', () => db.put(b('k'), bigValue)],
            ['batch with one bad op after good ones', () => db.write([{ type: 'put', key: b('good'), value: b('1') }, { type: 'put', key: b('bad'), value: bigValue }])],
            ['batch with a big key in a del', () => db.write([{ type: 'put', key: b('good'), value: b('1') }, { type: 'del', key: bigKey }])],
            ['batch over 64 MiB encoded', () => db.write([0, 1, 2, 3].map((i) => ({ type: 'put' as const, key: b(`big-${i}`), value: fullValue })))],
          ];
          for (const [name, attempt] of attempts) {
            await refuses(attempt, carveError(ErrorCodes.KV_LIMIT), name);
          }
          assert.equal(await sizeOf(storage, logPath), logSize, 'nothing reached the log');
          assert.deepEqual(db.stats, stats, 'nothing was committed');
          assert.deepEqual([...db.entries()].map(([k]) => text(k)), ['before']);
          // The store still works, and the limits themselves are allowed.
          await db.put(new Uint8Array(maxKeyBytes).fill(0x6b), b('max key'));
          await db.put(b('max value'), fullValue);
          assert.equal(db.get(b('max value'))!.length, maxValueBytes);
          await db.close();
          const reopened = await openStore(storage, dir);
          try {
            assert.equal(reopened.size, 3);
            assert.equal(text(reopened.get(new Uint8Array(maxKeyBytes).fill(0x6b))!), 'max key');
            assert.equal(reopened.get(b('max value'))!.length, maxValueBytes);
            assert.equal(reopened.get(b('good')), undefined);
          } finally {
            await reopened.close();
          }
        } finally {
          await db.close();
        }
      });
    });

    describe('createIfMissing: false', () => {
      it('refuses a missing directory, or one holding no store, with ENOENT, and leaves both as they were (no LOCK file)', async () => {
        const missing = freshDir();
        await assert.rejects(openStore(storage, missing, { createIfMissing: false }), carveError(ErrorCodes.ENOENT, { path: missing }));
        await assert.rejects(storage.stat(missing), carveError(ErrorCodes.ENOENT), 'not created');
        const empty = freshDir();
        await storage.mkdir(empty);
        await assert.rejects(openStore(storage, empty, { createIfMissing: false }), carveError(ErrorCodes.ENOENT, { path: empty }));
        assert.deepEqual(await storage.readdir(empty), [], 'nothing written into it');
        const existing = freshDir();
        const db = await openStore(storage, existing);
        await db.put(b('k'), b('v'));
        await db.close();
        const reopened = await openStore(storage, existing, { createIfMissing: false });
        try {
          assert.equal(text(reopened.get(b('k'))!), 'v');
        } finally {
          await reopened.close();
        }
      });
    });

    it('opens even when writing its pid into the LOCK file fails (the pid is for messages only)', async () => {
      const failing = new FailingHandleCalls(storage);
      const dir = freshDir();
      failing.failNext('append', new RegExp(`^${dir}/LOCK$`));
      const db = await openStore(failing, dir);
      try {
        assert.equal(failing.failed.append, 1, 'the pid write failed');
        await db.put(b('k'), b('v'));
        await assert.rejects(openStore(storage, dir), carveError(ErrorCodes.DB_LOCKED, { path: `${dir}/LOCK` }), 'and the lock is held');
      } finally {
        await db.close();
      }
    });

    it('refuses a store path that is a file with ENOTDIR', async () => {
      const path = freshDir();
      await writeFile(storage, path, b('not a directory'));
      await assert.rejects(openStore(storage, path), carveError(ErrorCodes.ENOTDIR, { path }));
      assert.equal(text((await readWholeFile(storage, path))!), 'not a directory');
    });

    describe('closed and locked', () => {
      it('every use of a closed store is E_DB_CLOSED; close is idempotent; nothing is written', async () => {
        const dir = freshDir();
        const db = await openStore(storage, dir);
        await db.put(b('k'), b('v'));
        await db.close();
        const state = await directoryState(storage, dir);
        const closed = carveError(ErrorCodes.DB_CLOSED, { path: dir });
        assert.throws(() => db.get(b('k')), closed);
        assert.throws(() => db.snapshot(), closed);
        assert.throws(() => db.entries(), closed);
        await refuses(() => db.put(b('k'), b('w')), closed, 'put');
        await refuses(() => db.del(b('k')), closed, 'del');
        await refuses(() => db.write([{ type: 'put', key: b('k'), value: b('w') }]), closed, 'write');
        await refuses(() => db.checkpoint(), closed, 'checkpoint');
        await db.close();
        assert.deepEqual(await directoryState(storage, dir), state, 'nothing in the directory changed');
      });

      it(
        'a write issued while close() runs either resolves and is kept, or is refused with E_DB_CLOSED and never lands',
        async () => {
          const dir = freshDir();
          const db = await openStore(storage, dir);
          await db.put(b('before'), b('1'));
          const closing = db.close();
          const racing = ['during-1', 'during-2'].map((key) => ({ key, outcome: db.put(b(key), b('x')).then(() => 'ok', (error: unknown) => error) }));
          await closing;
          const reopened = await openStore(storage, dir);
          try {
            for (const { key, outcome } of racing) {
              const result = await outcome;
              const present = reopened.get(b(key)) !== undefined;
              if (result === 'ok') assert.ok(present, `${key} resolved but is missing after reopen`);
              else {
                carveError(ErrorCodes.DB_CLOSED)(result);
                assert.equal(present, false, `${key} was refused but is present after reopen`);
              }
            }
          } finally {
            await reopened.close();
          }
        },
      );

      it('a second open of the same directory in this process is E_DB_LOCKED, and the first store keeps working', async () => {
        const dir = freshDir();
        const first = await openStore(storage, dir);
        try {
          await first.put(b('a'), b('1'));
          const lockBefore = await readFileIfExists(storage, `${dir}/LOCK`);
          assert.ok(lockBefore !== undefined, 'the LOCK file exists');
          assert.equal(text(lockBefore), `${storage.processId}\n`, "the LOCK file names the storage's process");
          await assert.rejects(openStore(storage, dir), (error: unknown) => {
            carveError(ErrorCodes.DB_LOCKED)(error);
            assert.match((error as Error).message, /open in this process/);
            return true;
          });
          await assert.rejects(openStore(storage, dir, { durability: 'none' }), carveError(ErrorCodes.DB_LOCKED));
          assert.equal(hex(await readFileIfExists(storage, `${dir}/LOCK`)), hex(lockBefore), 'the lock is still held');
          await first.put(b('b'), b('2'));
          await first.checkpoint();
          await first.put(b('c'), b('3'));
          assert.deepEqual([...first.entries()].map(([k]) => text(k)), ['a', 'b', 'c']);
        } finally {
          await first.close();
        }
        const again = await openStore(storage, dir);
        try {
          assert.deepEqual([...again.entries()].map(([k]) => text(k)), ['a', 'b', 'c']);
        } finally {
          await again.close();
        }
      });

      if (backend.name === 'NodeStorage') {
        it(
          'a second open through another NodeStorage on the same directory in this process is E_DB_LOCKED',
          async () => {
            const root = (storage as NodeStorage).rootPath;
            const dir = freshDir();
            const first = await openStore(storage, dir);
            let second: KvStore | undefined;
            try {
              await first.put(b('a'), b('1'));
              const otherStorage = await NodeStorage.open(root);
              await assert.rejects(
                (async () => {
                  second = await openStore(otherStorage, dir);
                })(),
                carveError(ErrorCodes.DB_LOCKED),
              );
              await first.put(b('b'), b('2'));
              assert.deepEqual([...first.entries()].map(([k]) => text(k)), ['a', 'b']);
            } finally {
              await second?.close();
              await first.close();
            }
          },
        );
      }
    });

    describe('recovery', () => {
      it('a foreign file named like a log is E_FOREIGN_FILE, and nothing in the directory changes (fresh directory)', async () => {
        const dir = freshDir();
        await storage.mkdir(dir);
        await writeFile(storage, `${dir}/log-000009.wal`, b('this is somebody else\'s file, not a Carve log\n'));
        const state = await directoryState(storage, dir);
        await assert.rejects(openStore(storage, dir), carveError(ErrorCodes.FOREIGN_FILE, { path: `${dir}/log-000009.wal` }));
        assert.deepEqual(await directoryState(storage, dir), state);
        await assert.rejects(openStore(storage, dir), carveError(ErrorCodes.FOREIGN_FILE), 'again (the lock was released)');
      });

      it('a foreign file after real logs is E_FOREIGN_FILE, and even a torn tail elsewhere is left untouched', async () => {
        const dir = freshDir();
        for (let round = 1; round <= 3; round++) {
          const db = await openStore(storage, dir);
          await db.put(b(`round-${round}`), b('x'));
          await db.close();
        } // logs 1, 2, 3
        assert.deepEqual((await storage.readdir(dir)).filter((n) => n.endsWith('.wal')), ['log-000001.wal', 'log-000002.wal', 'log-000003.wal']);
        await appendBytes(storage, `${dir}/log-000003.wal`, new Uint8Array(100)); // a torn tail recovery would cut
        await writeFile(storage, `${dir}/log-000004.wal`, new Uint8Array(64).fill(0xee));
        const state = await directoryState(storage, dir);
        await assert.rejects(openStore(storage, dir), carveError(ErrorCodes.FOREIGN_FILE, { path: `${dir}/log-000004.wal` }));
        assert.deepEqual(await directoryState(storage, dir), state);
      });

      it('a corrupt data.ckpt is E_CORRUPT naming it, and nothing changes', async () => {
        const dir = freshDir();
        const db = await openStore(storage, dir);
        for (let i = 0; i < 20; i++) await db.put(b(`key-${i}`), b(`value-${i}`));
        await db.checkpoint();
        await db.put(b('after'), b('checkpoint'));
        await db.close();
        const dataPath = `${dir}/data.ckpt`;
        const size = await sizeOf(storage, dataPath);
        await flipByte(storage, dataPath, Math.floor(size / 2));
        const state = await directoryState(storage, dir);
        await assert.rejects(openStore(storage, dir), carveError(ErrorCodes.CORRUPT, { path: dataPath }));
        assert.deepEqual(await directoryState(storage, dir), state);
        await truncateFile(storage, dataPath, size - 10);
        await assert.rejects(openStore(storage, dir), carveError(ErrorCodes.CORRUPT, { path: dataPath }), 'a truncated data file too');
      });

      for (const tail of ['truncated last record', 'zero-filled tail', 'garbage tail', 'half of a valid record'] as const) {
        it(`a torn tail in the last log (${tail}) is cut at the last whole record, keeping every earlier record`, async () => {
          const dir = freshDir();
          const db = await openStore(storage, dir);
          for (let i = 0; i < 10; i++) await db.put(b(`key-${i}`), b(`value-${i}`.repeat(3)));
          await db.close();
          const logPath = `${dir}/log-000001.wal`;
          const whole = parseLog(await readWholeFile(storage, logPath), logPath);
          // The records end here (a clean close cut off the preallocated zeros); the tails below
          // are what a crash may leave after them.
          const size = whole.validEndOffset;
          assert.equal(await sizeOf(storage, logPath), size);
          assert.equal(whole.records.length, 10);
          let validEnd = size;
          let expectedKeys = 10;
          if (tail === 'truncated last record') {
            await truncateFile(storage, logPath, size - 7);
            validEnd = whole.records[9]!.offset;
            expectedKeys = 9;
          } else if (tail === 'zero-filled tail') {
            await writeBytes(storage, logPath, new Uint8Array(300), size);
          } else if (tail === 'garbage tail') {
            const random = seededRandom(7);
            await writeBytes(storage, logPath, Uint8Array.from({ length: 300 }, () => 1 + Math.floor(random() * 255)), size);
          } else {
            const record = encodeRecord(b('a record that never finished'), whole.header.salt, size);
            await writeBytes(storage, logPath, record.subarray(0, 30), size);
          }
          const reopened = await openStore(storage, dir);
          try {
            assert.equal(await sizeOf(storage, logPath), validEnd, 'the log was truncated to its valid end');
            assert.equal(reopened.size, expectedKeys);
            for (let i = 0; i < expectedKeys; i++) assert.equal(text(reopened.get(b(`key-${i}`))!), `value-${i}`.repeat(3));
            await reopened.put(b('after'), b('recovery'));
          } finally {
            await reopened.close();
          }
          const third = await openStore(storage, dir);
          try {
            assert.equal(third.size, expectedKeys + 1);
            assert.equal(text(third.get(b('after'))!), 'recovery');
          } finally {
            await third.close();
          }
        });
      }

      it('a bad record in synced data (later records durable past it) is E_CORRUPT, and the log is not truncated', async () => {
        const dir = freshDir();
        const db = await openStore(storage, dir);
        for (let i = 0; i < 6; i++) await db.put(b(`key-${i}`), b(`value-${i}`)); // one sync each
        await db.close();
        const logPath = `${dir}/log-000001.wal`;
        const parsed = parseLog(await readWholeFile(storage, logPath), logPath);
        const bad = parsed.records[2]!.offset;
        await flipByte(storage, logPath, bad + 30);
        const state = await directoryState(storage, dir);
        await assert.rejects(openStore(storage, dir), carveError(ErrorCodes.CORRUPT, { path: logPath, offset: bad }));
        assert.deepEqual(await directoryState(storage, dir), state, 'acknowledged data is never truncated away');
      });

      it(
        'a bad last record in a log that is not the last one is E_CORRUPT (a later log proves it was synced), and nothing is truncated',
        async () => {
          const dir = freshDir();
          const first = await openStore(storage, dir);
          for (let i = 0; i < 3; i++) await first.put(b(`key-${i}`), b(`value-${i}`)); // each synced before it resolved
          await first.close();
          const second = await openStore(storage, dir); // recovery done; log 2 is created only now
          await second.put(b('later'), b('x'));
          await second.close();
          const logPath = `${dir}/log-000001.wal`;
          const parsed = parseLog(await readWholeFile(storage, logPath), logPath);
          const bad = parsed.records[2]!.offset;
          await flipByte(storage, logPath, bad + 30); // bit rot in acknowledged, synced data
          const state = await directoryState(storage, dir);
          let opened: KvStore | undefined;
          try {
            await assert.rejects(
              (async () => {
                opened = await openStore(storage, dir);
              })(),
              carveError(ErrorCodes.CORRUPT, { path: logPath, offset: bad }),
              `opened anyway; acknowledged key-2 is ${opened?.get(b('key-2')) === undefined ? 'silently lost' : 'present'}`,
            );
            assert.deepEqual(await directoryState(storage, dir), state);
          } finally {
            await opened?.close();
          }
        },
      );

      it('a log missing from the middle of the sequence is E_CORRUPT', async () => {
        const dir = freshDir();
        for (let round = 1; round <= 3; round++) {
          const db = await openStore(storage, dir);
          await db.put(b(`round-${round}`), b('x'));
          await db.close();
        }
        await storage.unlink(`${dir}/log-000002.wal`);
        const state = await directoryState(storage, dir);
        await assert.rejects(openStore(storage, dir), carveError(ErrorCodes.CORRUPT));
        assert.deepEqual(await directoryState(storage, dir), state);
      });

      it(
        'the first log after the data file missing is E_CORRUPT (not a silent loss of its writes)',
        async () => {
          const dir = freshDir();
          const db = await openStore(storage, dir, { checkpointThresholdBytes: 0 });
          await db.put(b('in-data-file'), b('1'));
          await db.checkpoint(); // data.ckpt covers log 1; commits continue in log 2
          await db.put(b('in-log-2'), b('2'));
          await db.close();
          const again = await openStore(storage, dir); // replays log 2, creates log 3
          await again.put(b('in-log-3'), b('3'));
          await again.close();
          assert.deepEqual(await storage.readdir(dir), ['LOCK', 'data.ckpt', 'log-000002.wal', 'log-000003.wal']);
          await storage.unlink(`${dir}/log-000002.wal`);
          let opened: KvStore | undefined;
          try {
            await assert.rejects(
              (async () => {
                opened = await openStore(storage, dir);
              })(),
              carveError(ErrorCodes.CORRUPT),
              `opened anyway; acknowledged 'in-log-2' is ${opened?.get(b('in-log-2')) === undefined ? 'lost' : 'present'}`,
            );
          } finally {
            await opened?.close();
          }
        },
      );

      it('after a checkpoint, recovery loads the data file plus newer logs, and covered logs are gone (the last kept as the spare)', async () => {
        const dir = freshDir();
        const db = await openStore(storage, dir, { checkpointThresholdBytes: 0 });
        for (let i = 0; i < 10; i++) await db.put(b(`k${i}`), b(`v${i}`));
        await db.checkpoint();
        await db.del(b('k3'));
        await db.put(b('k4'), b('changed'));
        await db.close();
        assert.deepEqual((await storage.readdir(dir)).sort(), ['LOCK', 'data.ckpt', 'log-000002.wal', 'spare.wal']);
        const reopened = await openStore(storage, dir);
        try {
          assert.equal(reopened.size, 9);
          assert.equal(reopened.get(b('k3')), undefined);
          assert.equal(text(reopened.get(b('k4'))!), 'changed');
          assert.equal(text(reopened.get(b('k9'))!), 'v9');
        } finally {
          await reopened.close();
        }
      });
    });
  });
}

describe('values handed out are copies', () => {
  it('changing a value returned by get, a snapshot or an iteration never changes the store', async () => {
    const storage = new SimStorage();
    const db = await KvStore.open(storage, 'copies');
    const key = new TextEncoder().encode('k');
    await db.put(key, new TextEncoder().encode('value'));
    const snapshot = db.snapshot();
    const handedOut = [db.get(key)!, snapshot.get(key)!, ...[...db.entries()].map(([, value]) => value)];
    for (const value of handedOut) value[0] = 0x58;
    assert.equal(new TextDecoder().decode(db.get(key)), 'value');
    assert.equal(new TextDecoder().decode(snapshot.get(key)), 'value');
    await db.close();
  });
});

describe('options', () => {
  it('a memtableEntries that is not a positive integer is E_INVALID_ARGUMENT, and creates nothing', async () => {
    const storage = new SimStorage();
    for (const memtableEntries of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(KvStore.open(storage, 'db', { memtableEntries }), carveError(ErrorCodes.INVALID_ARGUMENT), String(memtableEntries));
    }
    assert.deepEqual(await storage.readdir(''), []);
  });
});

/** The store's log files in `dir`, in order. */
const logFiles = async (storage: Storage, dir: string): Promise<string[]> => (await storage.readdir(dir)).filter((name) => /^log-\d+\.wal$/.test(name)).sort();

describe('automatic checkpoints', () => {
  /** The first log the data file says to replay: each checkpoint moves it on. */
  const checkpointedUpTo = async (storage: Storage, dir: string) => parseDataFile(await readWholeFile(storage, `${dir}/data.ckpt`), `${dir}/data.ckpt`).firstLogNumber;

  it('wait for the log to outgrow the data file when the data file is larger than the threshold', async () => {
    const storage = new SimStorage();
    const value = new Uint8Array(200).fill(7);
    const options: KvOptions = { checkpointThresholdBytes: 4096, logPreallocationBytes: 0 };
    const db = await KvStore.open(storage, 'db', options);
    let first = 0;
    try {
      for (let i = 0; i < 200; i++) await db.put(b(`big-${i}`), value);
      await db.checkpoint();
      const dataFileBytes = (await storage.stat('db/data.ckpt')).sizeBytes;
      assert.ok(dataFileBytes > 40_000, `the data file holds about 40 KB (${dataFileBytes} B)`);
      first = await checkpointedUpTo(storage, 'db');

      // About 22 KB of log: past the 4 KiB threshold, short of the data file.
      for (let i = 0; i < 100; i++) await db.put(b(`k-${i % 10}`), value);
      await db.checkpoint(); // joins one running, if any, else runs one
      assert.equal(await checkpointedUpTo(storage, 'db'), first + 1, 'only the explicit checkpoint ran');

      // Past the data file's size (the explicit checkpoint started a fresh log): now one runs.
      for (let i = 0; i < 250; i++) await db.put(b(`k-${i % 10}`), value);
    } finally {
      await db.close();
    }
    assert.ok((await checkpointedUpTo(storage, 'db')) > first + 1, 'an automatic checkpoint once the log outgrew the data file');
  });


  it('count the logs of earlier sessions: a store opened for many short sessions keeps a few logs, not one per session', async () => {
    // Each session that writes leaves its log for the next open to replay; each such log
    // weighs 1 MiB toward the threshold, so a checkpoint comes every fifth session here.
    const storage = new SimStorage();
    const options: KvOptions = { checkpointThresholdBytes: 4 * 1024 * 1024 };
    for (let session = 0; session < 20; session++) {
      const db = await KvStore.open(storage, 'db', options);
      try {
        await db.put(b(`k${session}`), b(`v${session}`));
      } finally {
        await db.close();
      }
      const logs = await logFiles(storage, 'db');
      assert.ok(logs.length <= 4, `after session ${session}: ${logs.join(', ')}`);
    }
    assert.ok((await checkpointedUpTo(storage, 'db')) > 1, 'checkpoints ran');
    const db = await KvStore.open(storage, 'db', options);
    try {
      for (let session = 0; session < 20; session++) assert.equal(latin1(db.get(b(`k${session}`))), `v${session}`);
    } finally {
      await db.close();
    }
  });

  it('remove a log whose checkpoint failed once a later checkpoint covers it', async () => {
    const storage = new FailingOpens(new SimStorage());
    const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 });
    try {
      await db.put(b('a'), b('1'));
      storage.failOpensOf(/data\.ckpt/, 1);
      await assert.rejects(db.checkpoint(), carveError(ErrorCodes.ENOSPC, { path: 'db/data.ckpt' }));
      await db.put(b('b'), b('2'));
      assert.equal((await logFiles(storage, 'db')).length, 2, 'the failed checkpoint started a log, and kept the one it did not cover');
      await db.checkpoint();
      assert.deepEqual(await logFiles(storage, 'db'), ['log-000003.wal'], 'only the log after the checkpoint is left');
    } finally {
      await db.close();
    }
    await assertReopenedHolds(storage, { a: '1', b: '2' });
  });

  it('count the bytes of the logs of earlier sessions, and only until a checkpoint covers them', async () => {
    const storage = new SimStorage();
    const options: KvOptions = { checkpointThresholdBytes: 8 * 1024 * 1024 };
    const value = new Uint8Array(1000).fill(7);
    const writeBatches = async (db: KvStore, from: number, batches: number): Promise<void> => {
      for (let batch = 0; batch < batches; batch++) {
        const ops: BatchOp[] = Array.from({ length: 100 }, (_, i) => ({ type: 'put', key: b(`k${from + batch * 100 + i}`), value }));
        await db.write(ops);
      }
    };
    const first = await KvStore.open(storage, 'db', options);
    try {
      await writeBatches(first, 0, 55); // about 5.5 MB of log: short of the threshold
    } finally {
      await first.close();
    }
    assert.equal(await readFileIfExists(storage, 'db/data.ckpt'), undefined, 'no checkpoint in the first session');
    const second = await KvStore.open(storage, 'db', options);
    let covered = 0;
    try {
      // 5.5 MB of the first session's log, 1 MiB for its file, and about 2 MB more pass 8 MiB;
      // without the first log's bytes, the second session would need over 7 MB.
      let batches = 0;
      while ((await readFileIfExists(storage, 'db/data.ckpt')) === undefined) {
        assert.ok(batches < 40, 'an automatic checkpoint within 4 MB of the second session');
        await writeBatches(second, 5500 + batches * 100, 1);
        batches += 1;
      }
      covered = await checkpointedUpTo(storage, 'db');
      // 3 MB more: past 8 MiB again if the covered logs' bytes still counted.
      await writeBatches(second, 10_000, 30);
    } finally {
      await second.close();
    }
    assert.equal(await checkpointedUpTo(storage, 'db'), covered, 'no checkpoint after the one that covered the earlier logs');
  });

  for (const [what, failing, flags] of [
    ['the data file', /data\.ckpt/, undefined],
    ['the new log, before it takes its name', /log-(?!000001)\d+\.wal\.tmp$/, 'w'], // log 1 is made at open
  ] as const) {
    it(`wait for as much log again after a checkpoint fails (${what}), not retry after every commit`, async () => {
      const storage = new FailingOpens(new SimStorage());
      storage.failOpensOf(failing, Infinity, flags);
      const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 64 * 1024 });
      const value = new Uint8Array(1000).fill(7);
      try {
        // About 200 KB of log: three thresholds' worth.
        for (let i = 0; i < 200; i++) await db.put(b(`k${i}`), value);
      } finally {
        await db.close();
      }
      assert.ok(storage.failedOpens >= 1 && storage.failedOpens <= 4, `${storage.failedOpens} checkpoints tried`);
      const logs = await logFiles(storage, 'db');
      assert.ok(logs.length <= 5, `logs left: ${logs.join(', ')}`);
    });
  }
});

describe('log rotation failures', () => {
  it('keep filling the log ahead of its records when the rotation fails before the new log takes its name', async () => {
    const failing = new FailingOpens(new SimStorage());
    const storage = new RecordingStorage(failing);
    const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 });
    const value = b('v'.repeat(1000));
    try {
      await db.put(b('a'), value);
      failing.failOpensOf(/log-000002\.wal\.tmp$/, 1, 'w');
      await assert.rejects(db.checkpoint(), carveError(ErrorCodes.ENOSPC));
      const fillsBefore = storage.zeroWrites.length;
      // About 1 MB of records: past every fill made so far (64, 128 and 256 KiB at most).
      for (let i = 0; i < 1000; i++) await db.put(b(`k${i}`), value);
      const fillsAfter = storage.zeroWrites.slice(fillsBefore);
      assert.ok(fillsAfter.length >= 2, `${fillsAfter.length} fills after the failed rotation`);
      assert.ok(fillsAfter.every((path) => path === 'db/log-000001.wal'), fillsAfter.join(', '));
      await db.checkpoint(); // the next rotation succeeds
    } finally {
      await db.close();
    }
    await assertReopenedHolds(storage, { a: 'v'.repeat(1000), k999: 'v'.repeat(1000) });
  });

  /** Storages that make the new log 2 fail after it took its name, once `inject` is called. */
  const failuresAfterTheRename = [
    {
      what: 'its directory sync',
      make: () => {
        const storage = new FailingDirSync(new SimStorage());
        return { storage, inject: () => storage.failNextDirSync() };
      },
    },
    {
      what: 'its opening for appends',
      make: () => {
        const storage = new FailingOpens(new SimStorage());
        return { storage, inject: () => storage.failOpensOf(/log-000002\.wal$/, 1, 'r+') };
      },
    },
  ];

  for (const { what, make } of failuresAfterTheRename) {
    it(`fail the store when the new log took its name but ${what} failed: the log before it takes no more records, and a reopen recovers`, async () => {
      const { storage, inject } = make();
      const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 });
      try {
        await db.put(b('a'), b('1'));
        inject();
        const checkpoint = db.checkpoint();
        const during = db.put(b('b'), b('2')); // queued behind the rotation
        await assert.rejects(checkpoint, carveError(ErrorCodes.DB_FAILED, { path: 'db/log-000002.wal' }));
        await assert.rejects(during, carveError(ErrorCodes.DB_FAILED));
        await assert.rejects(db.put(b('c'), b('3')), carveError(ErrorCodes.DB_FAILED));
      } finally {
        await db.close();
      }
      // Log 2's header says where log 1 ended; a record written to log 1 after it would make
      // recovery refuse the directory (E_CORRUPT).
      for (const value of ['4', '5']) {
        const reopened = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 });
        try {
          assert.deepEqual([latin1(reopened.get(b('a'))), reopened.get(b('b')), reopened.get(b('c'))], ['1', undefined, undefined]);
          if (value === '5') assert.equal(latin1(reopened.get(b('d'))), '4', 'the first reopen\'s commit');
          await reopened.put(b('d'), b(value));
          await reopened.checkpoint();
        } finally {
          await reopened.close();
        }
      }
    });

    it(`reject an open whose new log took its name but ${what} failed (E_DB_FAILED); the next open recovers`, async () => {
      const { storage, inject } = make();
      const first = await KvStore.open(storage, 'db');
      try {
        await first.put(b('a'), b('1'));
      } finally {
        await first.close(); // log 1 keeps a record: the next open makes log 2
      }
      inject();
      await assert.rejects(KvStore.open(storage, 'db'), carveError(ErrorCodes.DB_FAILED, { path: 'db/log-000002.wal' }));
      const reopened = await KvStore.open(storage, 'db');
      try {
        assert.deepEqual(await logFiles(storage, 'db'), ['log-000001.wal', 'log-000002.wal'], 'log 2, header only, taken as the last log');
        assert.equal(latin1(reopened.get(b('a'))), '1');
        await reopened.put(b('b'), b('2'));
        await reopened.checkpoint();
      } finally {
        await reopened.close();
      }
    });
  }

  it("fail no checkpoint for a failed close of the log's fill handle (its fills are durable already)", async () => {
    const storage = new FailingHandleCalls(new SimStorage());
    const db = await KvStore.open(storage, 'db', { checkpointThresholdBytes: 0 });
    try {
      await db.put(b('a'), b('1'));
      storage.failNext('close', /log-000001\.wal$/); // the fill handle, closed once the new log is made
      await db.checkpoint();
      assert.equal(storage.failed.close, 1);
      await db.put(b('b'), b('2'));
      await db.checkpoint();
    } finally {
      await db.close();
    }
    await assertReopenedHolds(storage, { a: '1', b: '2' });
  });
});
