/**
 * Tampering with durable entries after the fact: verification detects a change (with or
 * without recomputed checksums and seal hashes), a deletion (of an entry, of a writer's block,
 * of another writer's block that later frontiers sealed), a reordering (within a block, of one
 * writer's blocks, of different writers' blocks) and a duplication, and names the first bad
 * entry by file offset, writer and seq. What nothing commits to yet (the newest blocks) is the
 * documented limit: cutting them off reads as a torn tail.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JournalAnalysis } from '../../src/journal/analyze.js';
import type { SealedBlock } from '../../src/journal/blocks.js';
import { frameRecord, recordAt, recordOverheadBytes } from '../../src/journal/format.js';
import { decodeBody, encodeEntryBody, encodeSealBody, sha256 } from '../../src/journal/records.js';
import { analyze, buildJournal, splice, threeWriters } from './helpers.js';

const { bytes: together } = await buildJournal(threeWriters, 'together');
const { bytes: sequential } = await buildJournal(threeWriters, 'one-after-another');
const layoutOf = (bytes: Buffer) => analyze(bytes).blocks;

function block(blocks: readonly SealedBlock[], writer: string, blockSeq: number): SealedBlock {
  const found = blocks.find((b) => b.writer === `${writer}-00000000` && b.blockSeq === blockSeq);
  assert.ok(found !== undefined, `${writer} block ${blockSeq}`);
  return found;
}

function firstBad(analysis: JournalAnalysis): { offset: number; writer?: string; seq?: number; kind: string } {
  const problem = analysis.problems[0];
  assert.ok(problem !== undefined, 'verification reports a problem');
  return { offset: problem.offset, writer: problem.writer?.replace('-00000000', ''), seq: problem.seq, kind: problem.kind };
}

/** Re-encodes the entry record at `offset` with its payload changed (same length), checksums recomputed. */
function rewriteEntry(bytes: Buffer, offset: number): { bytes: Buffer; body: Buffer } {
  const parsed = recordAt(bytes, offset);
  assert.ok(parsed.ok);
  const entry = decodeBody(parsed.body);
  assert.ok(entry.kind === 'entry');
  const data = Buffer.from(entry.data);
  data[0] = data[0]! ^ 0x20; // 'a' <-> 'A'
  const body = encodeEntryBody({ writer: entry.writer, seq: entry.seq, data });
  return { bytes: splice(bytes, offset, parsed.endOffset, frameRecord(body)), body };
}

describe('verify detects changes', () => {
  it('a changed byte in an entry: named by its offset, and its writer and seq as far as readable', () => {
    const target = block(layoutOf(together), 'ben', 1).entries[0]!;
    const offset = target.offset + recordOverheadBytes + 2 + 'ben-00000000'.length + 8 + 3; // inside the payload
    const analysis = analyze(splice(together, offset, offset + 1, Buffer.from('#')));
    assert.deepEqual(firstBad(analysis), { offset: target.offset, writer: 'ben', seq: 1, kind: 'damaged' });
  });

  it('a changed entry with its checksums recomputed: its seal lists another hash', () => {
    const target = block(layoutOf(together), 'ben', 1).entries[1]!;
    const analysis = analyze(rewriteEntry(together, target.offset).bytes);
    assert.deepEqual(firstBad(analysis), { offset: target.offset, writer: 'ben', seq: 2, kind: 'entry-changed' });
  });

  it("a changed entry with its seal's hash list and checksums recomputed: the writer's next block no longer chains to it", () => {
    const blocks = layoutOf(together);
    const changed = block(blocks, 'ben', 1);
    const { bytes, body } = rewriteEntry(together, changed.entries[1]!.offset);
    const sealParsed = recordAt(bytes, changed.sealOffset);
    assert.ok(sealParsed.ok);
    const seal = decodeBody(sealParsed.body);
    assert.ok(seal.kind === 'seal');
    const forged = encodeSealBody({ ...seal, entryHashes: [seal.entryHashes[0]!, sha256(body)] });
    const analysis = analyze(splice(bytes, changed.sealOffset, sealParsed.endOffset, frameRecord(forged)));
    assert.deepEqual(firstBad(analysis), { offset: changed.offset, writer: 'ben', seq: 1, kind: 'chain-mismatch' });
  });
});

describe('verify detects deletions', () => {
  it('a deleted entry: its block is missing it, named where it stood', () => {
    const target = block(layoutOf(together), 'ben', 1).entries[1]!;
    const analysis = analyze(splice(together, target.offset, target.endOffset));
    assert.deepEqual(firstBad(analysis), { offset: target.offset, writer: 'ben', seq: 2, kind: 'incomplete-block' });
  });

  it("a deleted block of a writer that wrote later blocks: named where its next block recorded it", () => {
    const deleted = block(layoutOf(together), 'ben', 2);
    const analysis = analyze(splice(together, deleted.offset, deleted.endOffset));
    assert.deepEqual(firstBad(analysis), { offset: deleted.offset, writer: 'ben', seq: 3, kind: 'missing-blocks' });
  });

  it("a deleted last block of a writer, sealed by other writers' later frontiers", () => {
    const deleted = block(layoutOf(sequential), 'ann', 3);
    const analysis = analyze(splice(sequential, deleted.offset, deleted.endOffset));
    assert.deepEqual(firstBad(analysis), { offset: deleted.offset, writer: 'ben', seq: 1, kind: 'bad-frontier' });
    assert.ok(analysis.problems.length > 1);
  });

  it('documented limit: the newest blocks, which nothing commits to yet, can be cut off as a torn tail would be', () => {
    const newest = layoutOf(together).at(-1)!;
    const analysis = analyze(together.subarray(0, newest.offset + 10));
    assert.deepEqual(analysis.problems, []);
    assert.equal(analysis.setAside.at(-1)?.atEnd, true);
  });
});

describe('verify detects reordering and duplication', () => {
  it('two entries of a block swapped', () => {
    const target = block(layoutOf(together), 'cy', 2);
    const [first, second] = target.entries;
    const swapped = Buffer.concat([together.subarray(second!.offset, second!.endOffset), together.subarray(first!.offset, first!.endOffset)]);
    const analysis = analyze(splice(together, first!.offset, second!.endOffset, swapped));
    assert.deepEqual(firstBad(analysis), { offset: first!.offset, writer: 'cy', seq: 4, kind: 'out-of-order' });
  });

  it("two of one writer's blocks swapped", () => {
    const blocks = layoutOf(together);
    const [a, b] = [block(blocks, 'ann', 1), block(blocks, 'ann', 2)];
    assert.equal(a.endOffset - a.offset, b.endOffset - b.offset, 'same length, so nothing else moves');
    const bytes = Buffer.from(together);
    together.copy(bytes, a.offset, b.offset, b.endOffset);
    together.copy(bytes, b.offset, a.offset, a.endOffset);
    const analysis = analyze(bytes);
    assert.deepEqual(firstBad(analysis), { offset: a.offset, writer: 'ann', seq: 1, kind: 'missing-blocks' });
  });

  it("two different writers' blocks swapped", () => {
    const blocks = layoutOf(together);
    const [a, b] = [block(blocks, 'ann', 1), block(blocks, 'ben', 1)];
    assert.equal(a.endOffset, b.offset);
    const swapped = Buffer.concat([together.subarray(b.offset, b.endOffset), together.subarray(a.offset, a.endOffset)]);
    const analysis = analyze(splice(together, a.offset, b.endOffset, swapped));
    assert.deepEqual(firstBad(analysis), { offset: a.offset, writer: 'ben', seq: 1, kind: 'moved' });
  });

  it('a block appended again', () => {
    const copy = block(layoutOf(together), 'cy', 1);
    const analysis = analyze(Buffer.concat([together, together.subarray(copy.offset, copy.endOffset)]));
    assert.deepEqual(firstBad(analysis), { offset: together.length, writer: 'cy', seq: 1, kind: 'out-of-order' });
  });

  it('leaves an untouched journal verifying, with every entry in file order', () => {
    for (const bytes of [together, sequential]) {
      const analysis = analyze(bytes);
      assert.deepEqual(analysis.problems, []);
      assert.deepEqual(analysis.setAside, []);
      assert.equal(analysis.entries.length, 18);
      assert.deepEqual(analysis.entries.map((e) => e.offset), [...analysis.entries.map((e) => e.offset)].sort((x, y) => x - y));
    }
  });
});
