/**
 * Record framing and bodies: frames round-trip; every single-byte change and every cut of a
 * record is detected; the reader resynchronises at the next whole record after garbage, zeros
 * or a short write; entry and seal bodies round-trip and malformed ones are reported, not
 * guessed at; writer ids are validated.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CarveError, ErrorCodes } from '../../src/errors.js';
import { frameRecord, maxRecordBodyBytes, nextRecordAfter, recordAt, recordOverheadBytes } from '../../src/journal/format.js';
import { checkWriterId, decodeBody, encodeEntryBody, encodeSealBody, peekIdentity, sha256, zeroHash } from '../../src/journal/records.js';
import { scanRecords } from '../../src/journal/scan.js';

const body = Buffer.from('hello, journal');

describe('record framing', () => {
  it('round-trips a record and reports where it ends', () => {
    const framed = frameRecord(body);
    assert.equal(framed.length, recordOverheadBytes + body.length);
    const parsed = recordAt(framed, 0);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.body, body);
    assert.equal(parsed.endOffset, framed.length);
  });

  it('detects a change of any single byte', () => {
    const framed = frameRecord(body);
    for (let i = 0; i < framed.length; i++) {
      const changed = Buffer.from(framed);
      changed[i] = changed[i]! ^ 0x01;
      assert.equal(recordAt(changed, 0).ok, false, `byte ${i} changed`);
    }
  });

  it('detects every cut of a record, and names a cut body as cut by the end of the file', () => {
    const framed = frameRecord(body);
    for (let length = 0; length < framed.length; length++) {
      const parsed = recordAt(framed.subarray(0, length), 0);
      assert.equal(parsed.ok, false, `cut at ${length}`);
      if (length >= recordOverheadBytes) assert.equal(!parsed.ok && parsed.reason, 'cut-by-end-of-file');
    }
  });

  it('refuses empty and oversized bodies when framing', () => {
    assert.throws(() => frameRecord(new Uint8Array(0)), /invariant/);
    assert.throws(() => frameRecord(new Uint8Array(maxRecordBodyBytes + 1)), /invariant/);
  });

  it('resynchronises after garbage, zeros and a short write, without trusting a damaged length', () => {
    const a = frameRecord(Buffer.from('first'));
    const b = frameRecord(Buffer.from('second record'));
    const c = frameRecord(Buffer.from('third'));
    // A short write: b's header is whole and claims its full length, but only half of it made it.
    const short = b.subarray(0, recordOverheadBytes + 3);
    const file = Buffer.concat([a, Buffer.alloc(9), Buffer.from([0xde, 0xad, 0xbe, 0xef]), short, c]);
    const items = scanRecords(file, 0);
    assert.deepEqual(
      items.map((item) => [item.kind, item.offset, item.endOffset]),
      [
        ['record', 0, a.length],
        ['damaged', a.length, a.length + 13 + short.length],
        ['record', a.length + 13 + short.length, file.length],
      ],
    );
    assert.equal(nextRecordAfter(file, a.length), a.length + 13 + short.length);
    assert.equal(nextRecordAfter(file, file.length - 1), undefined);
  });

  it('tiles the file exactly, whatever the bytes', () => {
    const file = Buffer.concat([frameRecord(Buffer.from('x')), Buffer.from('garbage garbage'), frameRecord(Buffer.from('y'))]);
    for (let cut = 0; cut <= file.length; cut++) {
      const items = scanRecords(file.subarray(0, cut), 0);
      let at = 0;
      for (const item of items) {
        assert.equal(item.offset, at);
        at = item.endOffset;
      }
      assert.equal(at, cut);
    }
  });
});

describe('record bodies', () => {
  it('round-trips an entry, including an empty payload', () => {
    for (const data of [Buffer.from('payload'), Buffer.alloc(0)]) {
      const decoded = decodeBody(encodeEntryBody({ writer: 'ann-1', seq: 42, data }));
      assert.equal(decoded.kind, 'entry');
      assert.ok(decoded.kind === 'entry');
      assert.equal(decoded.writer, 'ann-1');
      assert.equal(decoded.seq, 42);
      assert.deepEqual(Buffer.from(decoded.data), data);
    }
  });

  it('round-trips a seal', () => {
    const seal = {
      writer: 'ben-2',
      blockSeq: 3,
      firstSeq: 7,
      prevBlockOffset: 1234,
      frontierBytes: 999,
      prevChain: sha256(Buffer.from('prev')),
      frontierDigest: sha256(Buffer.from('frontier')),
      entryHashes: [sha256(Buffer.from('e7')), sha256(Buffer.from('e8'))],
    };
    const decoded = decodeBody(encodeSealBody(seal));
    assert.ok(decoded.kind === 'seal');
    assert.equal(decoded.writer, seal.writer);
    assert.equal(decoded.blockSeq, 3);
    assert.equal(decoded.firstSeq, 7);
    assert.equal(decoded.prevBlockOffset, 1234);
    assert.equal(decoded.frontierBytes, 999);
    assert.deepEqual(Buffer.from(decoded.prevChain), seal.prevChain);
    assert.deepEqual(Buffer.from(decoded.frontierDigest), seal.frontierDigest);
    assert.deepEqual(decoded.entryHashes.map((h) => Buffer.from(h)), seal.entryHashes);
  });

  it('reports malformed bodies instead of guessing', () => {
    const seal = encodeSealBody({
      writer: 'w',
      blockSeq: 1,
      firstSeq: 1,
      prevBlockOffset: 0,
      frontierBytes: 16,
      prevChain: zeroHash,
      frontierDigest: zeroHash,
      entryHashes: [zeroHash],
    });
    const cases: Array<[string, Uint8Array]> = [
      ['unknown type', Buffer.from([9, 1, 0x41])],
      ['bad writer id', Buffer.from([1, 2, 0x20, 0x20, 0, 0, 0, 0, 0, 0, 0, 1])],
      ['entry too short', Buffer.from([1, 1, 0x41, 1, 2])],
      ['entry seq 0', encodeEntryBody({ writer: 'w', seq: 0, data: Buffer.alloc(0) })],
      ['seal with a stray byte', Buffer.concat([seal, Buffer.from([0])])],
      ['seal cut short', seal.subarray(0, seal.length - 1)],
    ];
    for (const [what, bytes] of cases) assert.equal(decodeBody(bytes).kind, 'malformed', what);
  });

  it('peeks at the identity of a damaged record without requiring the rest', () => {
    const entry = encodeEntryBody({ writer: 'cy-3', seq: 5, data: Buffer.from('x') });
    assert.deepEqual(peekIdentity(entry.subarray(0, 2 + 4 + 8)), { kind: 'entry', writer: 'cy-3', seq: 5 });
    assert.deepEqual(peekIdentity(entry.subarray(0, 7)), { kind: 'entry', writer: 'cy-3' });
    assert.equal(peekIdentity(Buffer.from([0, 0, 0])), undefined);
  });

  it('validates writer ids', () => {
    for (const good of ['a', 'alice-1f2e3d4c', 'host:1234@x.y', 'x'.repeat(64)]) assert.equal(checkWriterId(good), good);
    for (const bad of ['', 'x'.repeat(65), 'has space', 'ünï', 'new\nline']) {
      assert.throws(
        () => checkWriterId(bad),
        (error: unknown) => error instanceof CarveError && error.code === ErrorCodes.INVALID_ARGUMENT,
      );
    }
  });
});
