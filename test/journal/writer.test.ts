/**
 * JournalWriter: appends resolve only after the fdatasync of their block; concurrent appends
 * share one block and one sync; appends that arrive while a sync is in flight wait and form
 * the next block; never two syncs in flight; blocks respect their bounds; a failed sync fails
 * the writer for good; the journal is created by concurrent writers without coordination;
 * corrupt, foreign or shrinking journals are refused with typed errors and left unchanged.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CarveError, ErrorCodes, type ErrorCode } from '../../src/errors.js';
import { maxEntryBytes } from '../../src/journal/format.js';
import { journalHeader } from '../../src/journal/header.js';
import { JournalWriter } from '../../src/journal/writer.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { GatedStorage } from './gated-storage.js';
import { analyze, bytesOf, entryKeys, journalPath, runWriters, splice, threeWriters } from './helpers.js';

function code(expected: ErrorCode): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof CarveError, `expected a CarveError, got ${String(error)}`);
    assert.equal(error.code, expected, error.message);
    return true;
  };
}

const text = (value: string) => Buffer.from(value);

describe('JournalWriter group commit', () => {
  it('acknowledges only after the block is synced, and concurrent appends share one block and one sync', async () => {
    const storage = new GatedStorage(new SimStorage());
    const writer = await JournalWriter.open(storage, journalPath, { writerId: 'w-1' });
    storage.events.length = 0;
    storage.hold();
    const started = storage.syncStarted();
    let resolved = 0;
    const acks = Array.from({ length: 5 }, (_, i) => writer.append(text(`entry ${i}`)).then((ack) => ((resolved += 1), ack)));
    await started;
    assert.equal(resolved, 0, 'nothing is acknowledged while its sync is held');
    assert.deepEqual(storage.events.slice(0, 2).map((e) => e.split(' ')[0]), ['append', 'datasync']);
    storage.release();
    const done = await Promise.all(acks);
    assert.deepEqual(done.map((ack) => [ack.seq, ack.writerBlock]), [[1, 1], [2, 1], [3, 1], [4, 1], [5, 1]]);
    assert.deepEqual(writer.stats, { blocks: 1, entries: 5, syncs: 1 });
    await writer.close();
  });

  it('queues appends that arrive during a sync into the next block; one sync in flight at a time', async () => {
    const storage = new GatedStorage(new SimStorage());
    const writer = await JournalWriter.open(storage, journalPath, { writerId: 'w-1' });
    storage.events.length = 0;
    storage.hold();
    const started = storage.syncStarted();
    const first = writer.append(text('first'));
    await started;
    const later = [writer.append(text('second')), writer.append(text('third')), writer.append(text('fourth'))];
    for (let i = 0; i < 20; i++) await Promise.resolve();
    assert.deepEqual(
      storage.events.map((event) => event.split(' ')[0]),
      ['append', 'datasync'],
      'no second write while the first sync is in flight',
    );
    storage.release();
    assert.equal((await first).writerBlock, 1);
    assert.deepEqual((await Promise.all(later)).map((ack) => [ack.seq, ack.writerBlock]), [[2, 2], [3, 2], [4, 2]]);
    assert.equal(storage.maxSyncsInFlight, 1);
    assert.deepEqual(writer.stats, { blocks: 2, entries: 4, syncs: 2 });
    await writer.close();
  });

  it('keeps blocks within their entry and byte bounds', async () => {
    const storage = new SimStorage();
    const writer = await JournalWriter.open(storage, journalPath, { writerId: 'w-1', maxBlockEntries: 3, maxBlockPayloadBytes: 10 });
    await Promise.all(Array.from({ length: 7 }, (_, i) => writer.append(text(`e${i}`))));
    assert.equal(writer.stats.blocks, 3, '7 small entries in blocks of at most 3');
    await Promise.all([writer.append(Buffer.alloc(8)), writer.append(Buffer.alloc(8)), writer.append(Buffer.alloc(30))]);
    assert.equal(writer.stats.blocks, 6, 'payload bytes bound each block; an entry over the bound gets a block of its own');
    await writer.close();
    const analysis = analyze(await bytesOf(storage));
    assert.deepEqual(analysis.problems, []);
    assert.deepEqual(analysis.blocks.map((block) => block.entries.length), [3, 3, 1, 1, 1, 1]);
  });

  it('gives each entry its seq and the offset of its record', async () => {
    const storage = new SimStorage();
    const acks = await runWriters(storage, threeWriters);
    const analysis = analyze(await bytesOf(storage));
    assert.deepEqual(analysis.problems, []);
    assert.equal(analysis.entries.length, 18);
    for (const ack of acks) {
      const entry = analysis.entries.find((e) => e.writer === ack.writer && e.seq === ack.seq);
      assert.ok(entry !== undefined, `${ack.writer}#${ack.seq} is in the journal`);
      assert.equal(Buffer.from(entry.data).toString(), ack.text);
    }
    const offsets = new Map(analysis.entries.map((entry) => [`${entry.writer}#${entry.seq}`, entry.offset]));
    const writer = await JournalWriter.open(storage, journalPath, { writerId: 'dee-1' });
    const ack = await writer.append(text('late'));
    await writer.close();
    const after = analyze(await bytesOf(storage));
    assert.equal(after.entries.find((e) => e.writer === 'dee-1')?.offset, ack.offset);
    for (const entry of after.entries.slice(0, -1)) assert.equal(entry.offset, offsets.get(`${entry.writer}#${entry.seq}`));
  });

  it('rejects bad entries and bounds its queue', async () => {
    const storage = new GatedStorage(new SimStorage());
    const writer = await JournalWriter.open(storage, journalPath, { writerId: 'w-1', maxQueuedEntries: 2 });
    await assert.rejects(writer.append(new Uint8Array(maxEntryBytes + 1)), code(ErrorCodes.INVALID_ARGUMENT));
    await assert.rejects(writer.append('text' as unknown as Uint8Array), code(ErrorCodes.INVALID_ARGUMENT));
    storage.hold();
    const started = storage.syncStarted();
    const inFlight = writer.append(text('a'));
    await started;
    const queued = [writer.append(text('b')), writer.append(text('c'))];
    await assert.rejects(writer.append(text('d')), code(ErrorCodes.QUEUE_FULL));
    storage.release();
    await Promise.all([inFlight, ...queued]);
    await writer.close();
    await writer.close();
    await assert.rejects(writer.append(text('e')), code(ErrorCodes.HANDLE_CLOSED));
  });

  it('close waits for queued appends', async () => {
    const storage = new SimStorage();
    const writer = await JournalWriter.open(storage, journalPath, { writerId: 'w-1' });
    const acks = [writer.append(text('a')), writer.append(text('b'))];
    await writer.close();
    assert.equal((await Promise.all(acks)).length, 2);
    assert.deepEqual(entryKeys(analyze(await bytesOf(storage))), ['w-1#1=a', 'w-1#2=b']);
  });

  it('fails for good after a failed sync: the block with EIO, everything after with E_JOURNAL_FAILED', async () => {
    // The first datasync is the one at open; the second is the first block's.
    const storage = new SimStorage({ profile: 'posix-weak', faults: { failSync: { path: journalPath, nth: 2 } } });
    const writer = await JournalWriter.open(storage, journalPath, { writerId: 'w-1' });
    const failing = writer.append(text('a'));
    await assert.rejects(failing, code(ErrorCodes.EIO));
    await assert.rejects(writer.append(text('b')), code(ErrorCodes.JOURNAL_FAILED));
    await writer.close();
  });

  it('does not retry a failed sync into success: the next writer starts a fresh chain', async () => {
    const storage = new SimStorage({ profile: 'posix-weak', faults: { failSync: { path: journalPath, nth: 2 } } });
    const failed = await JournalWriter.open(storage, journalPath, { writerId: 'w-1' });
    await assert.rejects(failed.append(text('lost?')), code(ErrorCodes.EIO));
    await failed.close();
    const next = await JournalWriter.open(storage, journalPath, { writerId: 'w-2' });
    await next.append(text('after'));
    await next.close();
    const analysis = analyze(await bytesOf(storage));
    assert.deepEqual(analysis.problems, []);
    assert.ok(entryKeys(analysis).includes('w-2#1=after'));
  });
});

describe('JournalWriter open', () => {
  it('lets several writers create the journal at once: one header, every entry readable', async () => {
    const storage = new SimStorage({ profile: 'posix-weak' });
    await runWriters(storage, threeWriters);
    const bytes = await bytesOf(storage);
    assert.deepEqual(bytes.subarray(0, journalHeader.length), journalHeader);
    assert.equal(bytes.indexOf(journalHeader, 1), -1, 'the header appears once');
    assert.equal(analyze(bytes).entries.length, 18);
  });

  it('writes the header over the 16 zero bytes an interrupted creation can leave', async () => {
    const storage = new SimStorage();
    const handle = await storage.open(journalPath, 'w');
    await handle.write(Buffer.alloc(16), 0);
    await handle.close();
    const writer = await JournalWriter.open(storage, journalPath, { writerId: 'w-1' });
    await writer.append(text('x'));
    await writer.close();
    assert.deepEqual(entryKeys(analyze(await bytesOf(storage))), ['w-1#1=x']);
  });

  it('refuses foreign, damaged and corrupt journals and changes nothing', async () => {
    const { bytes: good } = await (async () => {
      const storage = new SimStorage();
      await runWriters(storage, threeWriters);
      return { bytes: await bytesOf(storage) };
    })();
    const middle = analyze(good).entries[4]!;
    const cases: Array<[string, Buffer, ErrorCode]> = [
      ['foreign text', Buffer.from('this is somebody else’s file\n'), ErrorCodes.FOREIGN_FILE],
      ['garbage where the header should be', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]), ErrorCodes.CORRUPT],
      ['a corrupt record in synced data', splice(good, middle.offset + 20, middle.offset + 21, Buffer.from('#')), ErrorCodes.CORRUPT],
      ['a header cut short', journalHeader.subarray(0, 9), ErrorCodes.TRUNCATED],
    ];
    for (const [what, bytes, expected] of cases) {
      const storage = new SimStorage();
      const handle = await storage.open(journalPath, 'w');
      await handle.write(bytes, 0);
      await handle.close();
      await assert.rejects(JournalWriter.open(storage, journalPath, { writerId: 'w-1' }), code(expected), what);
      assert.deepEqual(await bytesOf(storage), bytes, `${what}: unchanged`);
    }
  });

  it('stops when the journal shrinks under it', async () => {
    const storage = new SimStorage();
    const writer = await JournalWriter.open(storage, journalPath, { writerId: 'w-1' });
    await writer.append(text('one'));
    const handle = await storage.open(journalPath, 'r+');
    await handle.truncate(20);
    await handle.close();
    await assert.rejects(writer.append(text('two')), code(ErrorCodes.TRUNCATED));
    await assert.rejects(writer.append(text('three')), code(ErrorCodes.JOURNAL_FAILED));
    await writer.close();
  });
});
