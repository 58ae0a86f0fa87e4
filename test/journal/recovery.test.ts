/**
 * Reading after crashes: torn tails (zeros, garbage, a cut record, a partial block) and torn
 * blocks in the middle of the file followed by other processes' blocks are set aside, never
 * returned as data and never reported as corruption; bad bytes in synced data (followed by a
 * later block of the same writer, or covered by a frontier that no longer matches) are
 * corruption, reported with path and offset; header states are told apart with typed errors.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CarveError, ErrorCodes, type ErrorCode } from '../../src/errors.js';
import { analyzeJournalBytes } from '../../src/journal/analyze.js';
import { buildBlock } from '../../src/journal/block.js';
import { journalHeader } from '../../src/journal/header.js';
import { readJournal } from '../../src/journal/reader.js';
import { zeroHash } from '../../src/journal/records.js';
import { JournalWriter } from '../../src/journal/writer.js';
import { Image } from '../../src/sim/image.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { analyze, buildJournal, bytesOf, entryKeys, journalPath, splice, threeWriters } from './helpers.js';

function code(expected: ErrorCode, offset?: number): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof CarveError, `expected a CarveError, got ${String(error)}`);
    assert.equal(error.code, expected, error.message);
    assert.equal(error.path, journalPath);
    if (offset !== undefined) assert.equal(error.offset, offset, error.message);
    return true;
  };
}

/** A block of a writer that never got further: what a crash mid-write leaves, cut at `keptBytes`. */
function partialBlock(writer: string, keptBytes: number): Buffer {
  const block = buildBlock({
    writer,
    blockSeq: 1,
    firstSeq: 1,
    prevChain: zeroHash,
    prevBlockOffset: 0,
    frontierBytes: 16,
    frontierDigest: zeroHash,
    payloads: [Buffer.from(`${writer} first`), Buffer.from(`${writer} second`)],
  });
  return block.bytes.subarray(0, keptBytes);
}

async function storageWith(bytes: Uint8Array): Promise<SimStorage> {
  const storage = new SimStorage({ profile: 'ext4-ordered' });
  const handle = await storage.open(journalPath, 'w');
  await handle.write(bytes, 0);
  await handle.close();
  storage.settle();
  return new SimStorage({ profile: 'ext4-ordered', image: storage.liveImage() as Image });
}

describe('torn writes are set aside', () => {
  it('sets aside a torn tail of zeros, garbage, a cut record or a partial block, keeping every whole entry', async () => {
    const { bytes } = await buildJournal(threeWriters);
    const all = entryKeys(analyze(bytes));
    const lastBlock = analyze(bytes).blocks.at(-1)!;
    const tails: Array<[string, Buffer, number]> = [
      ['zeros', Buffer.concat([bytes, Buffer.alloc(300)]), 18],
      ['garbage', Buffer.concat([bytes, Buffer.from('\x8f\x13garbage that a crash may leave behind\x00\x01')]), 18],
      ['a partial block whose first entry is whole', Buffer.concat([bytes, partialBlock('dee-1', 60)]), 18],
      ['a block cut in its seal', bytes.subarray(0, lastBlock.sealOffset + 30), 16],
      ['a block cut in its first entry', bytes.subarray(0, lastBlock.offset + 5), 16],
    ];
    for (const [what, torn, entries] of tails) {
      const analysis = analyze(torn);
      assert.deepEqual(analysis.problems, [], what);
      assert.deepEqual(entryKeys(analysis), all.slice(0, entries), what);
      assert.ok(analysis.setAside.length >= 1 && analysis.setAside.every((region) => region.atEnd || region.endOffset < torn.length), what);
      assert.equal(analysis.setAside.at(-1)!.endOffset, torn.length, `${what}: the torn tail reaches the end`);
      assert.ok(analysis.setAside.at(-1)!.atEnd, what);
    }
  });

  it('sets aside a torn block in the middle, followed by the whole blocks of writers that came after the crash', async () => {
    const { bytes } = await buildJournal(threeWriters);
    // After the crash, two new writers append after the torn tail.
    const storage = await storageWith(Buffer.concat([bytes, partialBlock('old-1', 200)]));
    for (const writerId of ['new-1', 'new-2']) {
      const writer = await JournalWriter.open(storage, journalPath, { writerId });
      await Promise.all([writer.append(Buffer.from(`${writerId} a`)), writer.append(Buffer.from(`${writerId} b`))]);
      await writer.append(Buffer.from(`${writerId} c`));
      await writer.close();
    }
    const after = await bytesOf(storage);
    const { entries, setAside } = await readJournal(storage, journalPath);
    assert.equal(entries.length, 18 + 6);
    assert.deepEqual(
      entries.slice(18).map((entry) => `${entry.writer}#${entry.seq}`),
      ['new-1#1', 'new-1#2', 'new-1#3', 'new-2#1', 'new-2#2', 'new-2#3'],
    );
    assert.deepEqual(setAside.map((region) => [region.offset, region.atEnd]), [[bytes.length, false]]);
    assert.ok(after.length > bytes.length + 200);
    assert.deepEqual(analyze(after).problems, [], 'a torn write sealed over by later writers is not corruption');
  });

  it('keeps a partial block of a killed writer apart from the next writer, whatever its length', async () => {
    const { bytes } = await buildJournal(threeWriters.slice(0, 1));
    const whole = partialBlock('old-1', 10_000);
    for (let kept = 1; kept < whole.length; kept += 7) {
      const storage = await storageWith(Buffer.concat([bytes, whole.subarray(0, kept)]));
      const writer = await JournalWriter.open(storage, journalPath, { writerId: 'next-1' });
      await writer.append(Buffer.from('after the crash'));
      await writer.close();
      const analysis = analyze(await bytesOf(storage));
      assert.deepEqual(analysis.problems, [], `kept ${kept}`);
      assert.deepEqual(entryKeys(analysis).slice(-1), ['next-1#1=after the crash'], `kept ${kept}`);
      assert.ok(!entryKeys(analysis).some((key) => key.startsWith('old-1')), `kept ${kept}: no entry of a block without its seal`);
    }
  });
});

describe('damage to synced data is corruption', () => {
  it('reports a bad record followed by a later block of the same writer, with path and offset', async () => {
    const { bytes } = await buildJournal(threeWriters, 'one-after-another');
    const second = analyze(bytes).blocks[1]!; // ann's block 2; ann wrote block 3 after it was synced
    const damaged = splice(bytes, second.sealOffset, second.endOffset, Buffer.alloc(second.endOffset - second.sealOffset));
    const analysis = analyze(damaged);
    assert.equal(analysis.problems[0]?.writer, 'ann-00000000');
    const storage = await storageWith(damaged);
    await assert.rejects(readJournal(storage, journalPath), code(ErrorCodes.CORRUPT, analysis.problems[0]!.offset));
    assert.ok(analysis.problems[0]!.offset >= second.offset && analysis.problems[0]!.offset <= second.sealOffset);
  });

  it("reports a bad record that another writer's later frontier sealed as durable", async () => {
    const { bytes } = await buildJournal(threeWriters, 'one-after-another');
    const annLast = analyze(bytes).blocks[2]!; // ann's last block: no later block of ann, but ben's frontier covers it
    const damaged = splice(bytes, annLast.offset + 40, annLast.offset + 41, Buffer.from([bytes[annLast.offset + 40]! ^ 0x40]));
    const analysis = analyze(damaged);
    assert.equal(analysis.problems[0]?.kind, 'damaged');
    assert.equal(analysis.problems[0]?.offset, annLast.offset);
    assert.match(analysis.problems[0]!.detail, /sealed the bytes before offset \d+ as durable/);
  });

  it('tells a torn tail from corruption: the same damage in the last, unsealed-over block is set aside', async () => {
    const { bytes } = await buildJournal(threeWriters, 'one-after-another');
    const last = analyze(bytes).blocks.at(-1)!;
    const damaged = splice(bytes, last.offset + 40, last.offset + 41, Buffer.from([bytes[last.offset + 40]! ^ 0x40]));
    const analysis = analyze(damaged);
    assert.deepEqual(analysis.problems, []);
    assert.deepEqual(analysis.setAside.map((region) => region.offset), [last.offset]);
    assert.equal(analysis.entries.length, 16);
  });
});

describe('journal header states', () => {
  const cases: Array<[string, Buffer, ErrorCode, number]> = [
    ['a header cut short', journalHeader.subarray(0, 8), ErrorCodes.TRUNCATED, 8],
    ['a short foreign file', Buffer.from('hello\n'), ErrorCodes.FOREIGN_FILE, 0],
    ['a foreign file', Buffer.from('{"this": "is json, not a journal"}\n'), ErrorCodes.FOREIGN_FILE, 0],
    ['another format version', Buffer.from('carve-journal/9\nwhatever follows'), ErrorCodes.UNSUPPORTED_FORMAT, 0],
  ];
  for (const [what, bytes, expected, offset] of cases) {
    it(`refuses ${what} with ${expected}`, async () => {
      await assert.rejects(readJournal(await storageWith(bytes), journalPath), code(expected, offset));
    });
  }

  it('reports a damaged header followed by records as corruption', async () => {
    const { bytes } = await buildJournal(threeWriters);
    const damaged = splice(bytes, 0, 16, Buffer.alloc(16, 0x41));
    await assert.rejects(readJournal(await storageWith(damaged), journalPath), code(ErrorCodes.CORRUPT, 0));
  });

  it('reads an empty file as an empty journal, and 16 bytes without a header as an interrupted creation', () => {
    assert.equal(analyzeJournalBytes(new Uint8Array(0), journalPath).header, 'empty');
    for (const bytes of [Buffer.alloc(16), Buffer.from('\x9a\x11garbage-garbag', 'latin1')]) {
      const analysis = analyzeJournalBytes(bytes, journalPath);
      assert.equal(analysis.header, 'interrupted');
      assert.deepEqual(analysis.entries, []);
      assert.deepEqual(analysis.problems, []);
      assert.equal(analysis.setAside[0]?.kind, 'interrupted-creation');
    }
  });
});
