/**
 * The store's on-disk formats, byte by byte.
 *
 * Log (log-format.ts): records round-trip through their framing; a torn tail (a truncated
 * record, a garbage tail) is reported as `tornBytes` with `validEndOffset` at the end of the
 * last whole record, and trailing zeros (preallocated space) as `spareBytes`; an invalid record
 * followed by a valid one whose durableOffset is past it is corruption (E_CORRUPT naming the file
 * and the bad record's offset), while an invalid region followed only by records that were not
 * durable past it is a torn tail; records with another salt (stale bytes from a recycled log)
 * are never read; a file with a bad magic is E_FOREIGN_FILE, a header checksum mismatch is
 * E_CORRUPT, another format version is E_FOREIGN_FILE, and version 1 (one batch per record) is
 * still read.
 *
 * Batch codec (batch-codec.ts): any batch round-trips; a record's payload of several batches back
 * to back decodes in order (decodeBatches, and appendBatchChanges, recovery's flat form), and a
 * cut inside it or a gap in their sequence numbers is E_CORRUPT; every malformed payload (short, ops running past the end, unknown op type,
 * trailing bytes, any truncation or extension of a valid one) is E_CORRUPT with the path and
 * record offset, never a misread.
 *
 * Data file (data-file.ts): any contents round-trip; a truncated, bit-flipped or foreign data
 * file is a typed error, never a partial load.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import { CarveError, ErrorCodes } from '../../src/errors.js';
import {
  encodeLogHeader,
  encodeRecord,
  logFormatVersion,
  logHeaderBytes,
  parseLog,
  recordHeaderBytes,
  decodeLogHeader,
} from '../../src/kv/log-format.js';
import { type Batch, type BatchOp, appendBatchChanges, decodeBatch, decodeBatches, encodeBatch, encodedBatchBytes } from '../../src/kv/batch-codec.js';
import { parseDataFile, writeDataFile } from '../../src/kv/data-file.js';
import type { EntryCursor } from '../../src/kv/merged-entries.js';
import { bytesToLatin1, concatBytes } from '../../src/kv/bytes.js';
import { SimStorage } from '../../src/sim/sim-storage.js';
import { readWholeFile } from '../../src/storage/files.js';
import { DelegatingFileHandle } from '../../src/storage/delegating.js';
import { carveError, changesOf, hex } from './kv-helpers.js';

const logPath = 'db/log-000007.wal';
const salt = 0x1234_5678;
const otherSalt = 0x0bad_5a17;

/** A log image: header, then records written in order, each carrying the durable offset given (default: all earlier records synced). */
function buildLog(
  payloads: readonly Uint8Array[],
  options: { salt?: number; durableOffsets?: ReadonlyArray<number | undefined> } = {},
): { bytes: Buffer; offsets: number[]; ends: number[] } {
  const s = options.salt ?? salt;
  const parts: Uint8Array[] = [encodeLogHeader({ logNumber: 7, salt: s, previousLogDurableBytes: 0, previousLogWrittenBytes: 0 })];
  const offsets: number[] = [];
  const ends: number[] = [];
  let offset = logHeaderBytes;
  payloads.forEach((payload, i) => {
    const record = encodeRecord(payload, s, options.durableOffsets?.[i] ?? offset);
    offsets.push(offset);
    parts.push(record);
    offset += record.length;
    ends.push(offset);
  });
  return { bytes: Buffer.from(concatBytes(parts)), offsets, ends };
}

const payloadArb = fc.uint8Array({ minLength: 0, maxLength: 200 });
const payloadsArb = fc.array(payloadArb, { minLength: 1, maxLength: 8 });

describe('log framing', () => {
  it('round-trips any sequence of records', () => {
    fc.assert(
      fc.property(payloadsArb, fc.integer({ min: 1, max: 2 ** 32 - 1 }), (payloads, anySalt) => {
        const { bytes, offsets } = buildLog(payloads, { salt: anySalt });
        const parsed = parseLog(bytes, logPath);
        assert.equal(parsed.header.logNumber, 7);
        assert.equal(parsed.header.salt, anySalt);
        assert.deepEqual(
          parsed.records.map((r) => [r.offset, hex(r.payload)]),
          payloads.map((p, i) => [offsets[i], hex(p)]),
        );
        assert.equal(parsed.validEndOffset, bytes.length);
        assert.equal(parsed.tornBytes, 0);
      }),
      { numRuns: 200 },
    );
  });

  it('an empty log (header only) has no records and no torn bytes', () => {
    const parsed = parseLog(encodeLogHeader({ logNumber: 3, salt, previousLogDurableBytes: 0, previousLogWrittenBytes: 0 }), logPath);
    assert.deepEqual(parsed.records, []);
    assert.equal(parsed.validEndOffset, logHeaderBytes);
    assert.equal(parsed.tornBytes, 0);
  });

  it('encodes each record as a 24-byte header plus the payload', () => {
    const record = encodeRecord(new Uint8Array(10), salt, 32);
    assert.equal(recordHeaderBytes, 24);
    assert.equal(record.length, 24 + 10);
  });
});

describe('torn tails', () => {
  it('a record truncated anywhere (header or payload) is a torn tail at the last whole record', () => {
    fc.assert(
      fc.property(payloadsArb, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (payloads, where) => {
        const { bytes, offsets } = buildLog(payloads);
        const lastStart = offsets[offsets.length - 1]!;
        const cut = lastStart + 1 + Math.floor(where * (bytes.length - lastStart - 1));
        fc.pre(cut < bytes.length);
        const parsed = parseLog(bytes.subarray(0, cut), logPath);
        assert.equal(parsed.records.length, payloads.length - 1);
        assert.equal(parsed.validEndOffset, lastStart);
        assert.equal(parsed.tornBytes + parsed.spareBytes, cut - lastStart);
      }),
      { numRuns: 300 },
    );
  });

  it('a zero-filled tail after whole records is spare space, not torn', () => {
    fc.assert(
      fc.property(payloadsArb, fc.integer({ min: 1, max: 5000 }), (payloads, zeros) => {
        const { bytes } = buildLog(payloads);
        const parsed = parseLog(Buffer.concat([bytes, Buffer.alloc(zeros)]), logPath);
        assert.equal(parsed.records.length, payloads.length);
        assert.equal(parsed.validEndOffset, bytes.length);
        assert.equal(parsed.tornBytes, 0);
        assert.equal(parsed.spareBytes, zeros);
      }),
      { numRuns: 200 },
    );
  });

  it('a garbage tail after whole records is torn', () => {
    fc.assert(
      fc.property(payloadsArb, fc.uint8Array({ minLength: 1, maxLength: 600 }), (payloads, garbage) => {
        const { bytes } = buildLog(payloads);
        const parsed = parseLog(Buffer.concat([bytes, garbage]), logPath);
        assert.equal(parsed.records.length, payloads.length);
        assert.equal(parsed.validEndOffset, bytes.length);
        let trailingZeros = 0;
        while (trailingZeros < garbage.length && garbage[garbage.length - 1 - trailingZeros] === 0) trailingZeros += 1;
        assert.equal(parsed.tornBytes, garbage.length - trailingZeros);
        assert.equal(parsed.spareBytes, trailingZeros);
      }),
      { numRuns: 200 },
    );
  });

  it('the last record zeroed in place (its size landed, its data did not) is torn', () => {
    const { bytes, offsets } = buildLog([Buffer.from('one'), Buffer.from('two'), Buffer.from('three')]);
    bytes.fill(0, offsets[2]!);
    const parsed = parseLog(bytes, logPath);
    assert.deepEqual(parsed.records.map((r) => Buffer.from(r.payload).toString()), ['one', 'two']);
    assert.equal(parsed.validEndOffset, offsets[2]);
  });

  it('a record whose length runs past the end of the file is torn', () => {
    const { bytes, offsets } = buildLog([Buffer.from('one'), Buffer.from('two')]);
    bytes.writeUInt32LE(1_000_000, offsets[1]! + 4);
    const parsed = parseLog(bytes, logPath);
    assert.equal(parsed.records.length, 1);
    assert.equal(parsed.validEndOffset, offsets[1]);
    assert.equal(parsed.tornBytes + parsed.spareBytes, bytes.length - offsets[1]!);
  });
});

describe('preallocated space: a log that ends in zeros', () => {
  const spare = 3 * 64 * 1024 + 17; // more than one whole block of the zero scan, and a ragged end
  const payloads = ['alpha', 'bravo', 'charlie'].map((s) => Buffer.from(s.repeat(7)));

  it('whole records, then zeros: every record, nothing torn, the zeros spare', () => {
    const { bytes } = buildLog(payloads);
    const parsed = parseLog(Buffer.concat([bytes, Buffer.alloc(spare)]), logPath);
    assert.equal(parsed.records.length, 3);
    assert.equal(parsed.validEndOffset, bytes.length);
    assert.deepEqual([parsed.tornBytes, parsed.spareBytes], [0, spare]);
  });

  it('a record half written into the zeros is torn up to its last non-zero byte', () => {
    const { bytes, offsets } = buildLog(payloads);
    const file = Buffer.concat([bytes, Buffer.alloc(spare)]);
    const half = offsets[2]! + 30; // the last record's header and part of its payload landed
    file.fill(0, half, bytes.length);
    const parsed = parseLog(file, logPath);
    assert.equal(parsed.records.length, 2);
    assert.equal(parsed.validEndOffset, offsets[2]);
    assert.equal(parsed.tornBytes, half - offsets[2]!);
    assert.equal(parsed.spareBytes, file.length - half);
  });

  it('a bad record before a record durable past it is still E_CORRUPT when zeros follow', () => {
    const { bytes, offsets } = buildLog(payloads);
    bytes[offsets[1]! + recordHeaderBytes]! ^= 0x10;
    assert.throws(
      () => parseLog(Buffer.concat([bytes, Buffer.alloc(spare)]), logPath),
      carveError(ErrorCodes.CORRUPT, { path: logPath, offset: offsets[1]! }),
    );
  });

  it('a record of a recycled log (another salt) in the spare space is never read', () => {
    const { bytes } = buildLog(payloads);
    const stale = buildLog(payloads, { salt: otherSalt }).bytes.subarray(logHeaderBytes);
    const file = Buffer.concat([bytes, Buffer.alloc(100), stale, Buffer.alloc(spare)]);
    const parsed = parseLog(file, logPath);
    assert.equal(parsed.records.length, 3);
    assert.equal(parsed.validEndOffset, bytes.length);
    assert.equal(parsed.tornBytes, 100 + stale.length); // its last byte is payload, not zero
  });
});

describe('corruption versus torn tail: the durable offset decides', () => {
  const payloads = ['alpha', 'bravo', 'charlie', 'delta'].map((s) => Buffer.from(s.repeat(5)));
  const damages: ReadonlyArray<[string, (bytes: Buffer, at: number, end: number) => void]> = [
    ['a flipped payload byte', (bytes, at) => void (bytes[at + recordHeaderBytes + 2]! ^= 0x40)],
    ['a flipped checksum byte', (bytes, at) => void (bytes[at]! ^= 0x01)],
    ['a zeroed record', (bytes, at, end) => void bytes.fill(0, at, end)],
    ['garbage over the record', (bytes, at, end) => void bytes.fill(0xa5, at, end)],
    ['a bad type byte', (bytes, at) => void (bytes[at + 8] = 9)],
  ];

  for (const [name, damage] of damages) {
    it(`${name} followed by a record durable past it is E_CORRUPT at the bad record`, () => {
      const { bytes, offsets, ends } = buildLog(payloads); // every record says all earlier ones were synced
      damage(bytes, offsets[1]!, ends[1]!);
      assert.throws(() => parseLog(bytes, logPath), carveError(ErrorCodes.CORRUPT, { path: logPath, offset: offsets[1]! }));
    });

    it(`${name} followed only by records not durable past it is a torn tail`, () => {
      // Records 1..3 were written in one group after record 0 was synced: they all carry offsets[1].
      const layout = buildLog(payloads);
      const { bytes, offsets } = buildLog(payloads, { durableOffsets: [undefined, layout.offsets[1], layout.offsets[1], layout.offsets[1]] });
      damage(bytes, offsets[1]!, layout.ends[1]!);
      const parsed = parseLog(bytes, logPath);
      assert.deepEqual(parsed.records.map((r) => r.offset), [offsets[0]]);
      assert.equal(parsed.validEndOffset, offsets[1]);
      assert.equal(parsed.tornBytes + parsed.spareBytes, bytes.length - offsets[1]!);
    });
  }

  it('a durableOffset one byte past the bad record is enough to prove corruption', () => {
    const layout = buildLog(payloads);
    const bad = layout.offsets[1]!;
    const { bytes } = buildLog(payloads, { durableOffsets: [undefined, bad, bad, bad + 1] });
    bytes[bad + recordHeaderBytes]! ^= 0xff;
    assert.throws(() => parseLog(bytes, logPath), carveError(ErrorCodes.CORRUPT, { path: logPath, offset: bad }));
  });

  it('a durableOffset exactly at the bad record does not prove it was synced (torn)', () => {
    const layout = buildLog(payloads);
    const bad = layout.offsets[1]!;
    const { bytes } = buildLog(payloads, { durableOffsets: [undefined, bad, bad, bad] });
    bytes[bad + recordHeaderBytes]! ^= 0xff;
    const parsed = parseLog(bytes, logPath);
    assert.equal(parsed.records.length, 1);
    assert.equal(parsed.validEndOffset, bad);
  });

  it('any later valid record durable past the bad one proves corruption, not only the next', () => {
    const layout = buildLog([...payloads, Buffer.from('echo')]);
    const bad = layout.offsets[1]!;
    const { bytes } = buildLog([...payloads, Buffer.from('echo')], { durableOffsets: [undefined, bad, bad, bad, layout.ends[3]] });
    bytes[bad + recordHeaderBytes]! ^= 0xff;
    assert.throws(() => parseLog(bytes, logPath), carveError(ErrorCodes.CORRUPT, { path: logPath, offset: bad }));
  });

  it('a property: for a random damaged record, corrupt iff some later record is durable past it', () => {
    fc.assert(
      fc.property(
        fc.array(payloadArb.filter((p) => p.length > 0), { minLength: 2, maxLength: 8 }),
        fc.nat(),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        (ps, pick, syncedBefore) => {
          const layout = buildLog(ps);
          const badIndex = pick % (ps.length - 1); // always at least one record after it
          const bad = layout.offsets[badIndex]!;
          // Each later record either was written after a sync past the bad record, or in the same unsynced stretch.
          const durableOffsets = ps.map((_, i) => (i <= badIndex ? undefined : syncedBefore[i] === true ? layout.offsets[i] : bad));
          const { bytes } = buildLog(ps, { durableOffsets });
          bytes[bad + recordHeaderBytes]! ^= 0x80;
          const provable = durableOffsets.some((d, i) => i > badIndex && d !== undefined && d > bad);
          if (provable) {
            assert.throws(() => parseLog(bytes, logPath), carveError(ErrorCodes.CORRUPT, { path: logPath, offset: bad }));
          } else {
            const parsed = parseLog(bytes, logPath);
            assert.equal(parsed.records.length, badIndex);
            assert.equal(parsed.validEndOffset, bad);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('salts: stale bytes from another log are never read', () => {
  it('records with another salt after the valid ones are a torn tail, even if they claim durability', () => {
    const mine = buildLog([Buffer.from('mine-1'), Buffer.from('mine-2')]);
    const stale = [Buffer.from('stale-1'), Buffer.from('stale-2')].map((p, i) => encodeRecord(p, otherSalt, 1_000_000 + i));
    const bytes = Buffer.concat([mine.bytes, ...stale]);
    const parsed = parseLog(bytes, logPath);
    assert.deepEqual(parsed.records.map((r) => Buffer.from(r.payload).toString()), ['mine-1', 'mine-2']);
    assert.equal(parsed.validEndOffset, mine.bytes.length);
    assert.equal(parsed.tornBytes, bytes.length - mine.bytes.length);
  });

  it('a recycled log (new header, old records under the old salt) holds no records', () => {
    const old = buildLog([Buffer.from('old-1'), Buffer.from('old-2'), Buffer.from('old-3')], { salt: otherSalt });
    const recycled = Buffer.from(old.bytes);
    Buffer.from(encodeLogHeader({ logNumber: 7, salt, previousLogDurableBytes: 0, previousLogWrittenBytes: 0 })).copy(recycled, 0);
    const parsed = parseLog(recycled, logPath);
    assert.deepEqual(parsed.records, []);
    assert.equal(parsed.validEndOffset, logHeaderBytes);
    assert.equal(parsed.tornBytes, recycled.length - logHeaderBytes);
  });

  it('a whole, valid old-salt record at the tail is not read as a record of this log', () => {
    fc.assert(
      fc.property(payloadsArb, payloadsArb, (mine, old) => {
        const log = buildLog(mine);
        const staleRecords = old.map((p) => encodeRecord(p, otherSalt, logHeaderBytes));
        const bytes = Buffer.concat([log.bytes, ...staleRecords]);
        const parsed = parseLog(bytes, logPath);
        assert.equal(parsed.records.length, mine.length);
        assert.equal(parsed.validEndOffset, log.bytes.length);
      }),
      { numRuns: 100 },
    );
  });
});

describe('log header', () => {
  it('a bad magic is E_FOREIGN_FILE', () => {
    const bytes = Buffer.from(encodeLogHeader({ logNumber: 1, salt, previousLogDurableBytes: 0, previousLogWrittenBytes: 0 }));
    bytes.write('SQLite f', 0, 'latin1');
    assert.throws(() => parseLog(bytes, logPath), carveError(ErrorCodes.FOREIGN_FILE, { path: logPath, offset: 0 }));
  });

  it('junk and an empty file are E_FOREIGN_FILE; our magic cut short of a header is E_CORRUPT', () => {
    for (const junk of [Buffer.from('hello, this is not a log file at all, just some text\n'), Buffer.alloc(0)]) {
      assert.throws(() => parseLog(junk, logPath), carveError(ErrorCodes.FOREIGN_FILE, { path: logPath }));
    }
    assert.throws(() => parseLog(Buffer.from('CARVE'), logPath), carveError(ErrorCodes.CORRUPT, { path: logPath }));
  });

  it('a header checksum mismatch is E_CORRUPT at offset 0', () => {
    for (const position of [12, 16, 20, 28, 36, 44]) {
      const bytes = Buffer.from(encodeLogHeader({ logNumber: 1, salt, previousLogDurableBytes: 0, previousLogWrittenBytes: 0 }));
      bytes[position]! ^= 0x01;
      assert.throws(() => decodeLogHeader(bytes, logPath), carveError(ErrorCodes.CORRUPT, { path: logPath, offset: 0 }));
    }
  });

  const withVersion = (version: number): Buffer => {
    const bytes = Buffer.from(encodeLogHeader({ logNumber: 1, salt, previousLogDurableBytes: 0, previousLogWrittenBytes: 0 }));
    bytes.writeUInt32LE(version, 8);
    bytes.writeUInt32LE(crc32c(bytes.subarray(0, 44)), 44);
    return bytes;
  };

  it('another format version (with a valid checksum) is E_FOREIGN_FILE', () => {
    for (const version of [0, 3, 0xffffffff]) {
      assert.throws(() => parseLog(withVersion(version), logPath), carveError(ErrorCodes.FOREIGN_FILE, { path: logPath }), `version ${version}`);
    }
  });

  it('version 1 (one batch per record) is still read', () => {
    assert.equal(logFormatVersion, 2);
    const record = encodeRecord(encodeBatch({ sequence: 7, ops: [{ type: 'put', key: Buffer.from('k'), value: Buffer.from('v') }] }), salt, 0);
    const parsed = parseLog(Buffer.concat([withVersion(1), record]), logPath);
    assert.equal(parsed.records.length, 1);
    assert.equal(decodeBatches(parsed.records[0]!.payload, logPath, logHeaderBytes)[0]!.sequence, 7);
  });
});

// ---------------------------------------------------------------------------------------------

const keyArb = fc.uint8Array({ minLength: 0, maxLength: 40 });
const opArb: fc.Arbitrary<BatchOp> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: keyArb, value: fc.uint8Array({ minLength: 0, maxLength: 100 }) }),
  fc.record({ type: fc.constant('del' as const), key: keyArb }),
);
const batchArb: fc.Arbitrary<Batch> = fc.record({
  sequence: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  ops: fc.array(opArb, { minLength: 0, maxLength: 12 }),
});

const showOps = (ops: readonly BatchOp[]) => ops.map((op) => (op.type === 'put' ? ['put', hex(op.key), hex(op.value)] : ['del', hex(op.key)]));

describe('batch codec', () => {
  it('round-trips any batch, and the encoded size is as computed', () => {
    fc.assert(
      fc.property(batchArb, (batch) => {
        const encoded = encodeBatch(batch);
        assert.equal(encoded.length, encodedBatchBytes(batch.ops));
        const decoded = decodeBatch(encoded, logPath, 96);
        assert.equal(decoded.sequence, batch.sequence);
        assert.deepEqual(showOps(decoded.ops), showOps(batch.ops));
      }),
      { numRuns: 300 },
    );
  });

  it('any truncation of a non-empty batch is E_CORRUPT with the path and record offset', () => {
    fc.assert(
      fc.property(batchArb.filter((batch) => batch.ops.length > 0), fc.nat(), (batch, pick) => {
        const encoded = encodeBatch(batch);
        const cut = pick % encoded.length;
        assert.throws(() => decodeBatch(encoded.subarray(0, cut), logPath, 4242), carveError(ErrorCodes.CORRUPT, { path: logPath, offset: 4242 }));
      }),
      { numRuns: 300 },
    );
  });

  it('trailing bytes after the last op are E_CORRUPT', () => {
    fc.assert(
      fc.property(batchArb, fc.uint8Array({ minLength: 1, maxLength: 20 }), (batch, extra) => {
        const encoded = Buffer.concat([encodeBatch(batch), extra]);
        assert.throws(() => decodeBatch(encoded, logPath, 64), carveError(ErrorCodes.CORRUPT, { path: logPath, offset: 64 }));
      }),
      { numRuns: 200 },
    );
  });

  it('a payload of several batches back to back decodes to them in order; a cut inside it, a gap in sequences or nothing is E_CORRUPT', () => {
    fc.assert(
      fc.property(fc.array(fc.array(opArb, { maxLength: 4 }), { minLength: 1, maxLength: 6 }), fc.nat(2 ** 40), fc.nat(), (opLists, first, pick) => {
        const batches = opLists.map((ops, i) => ({ sequence: first + i, ops }));
        const encoded = Buffer.concat(batches.map((batch) => encodeBatch(batch)));
        const decoded = decodeBatches(encoded, logPath, 96);
        assert.deepEqual(
          decoded.map((batch) => [batch.sequence, showOps(batch.ops)]),
          batches.map((batch) => [batch.sequence, showOps(batch.ops)]),
        );
        // What recovery replays: the same ops as the store's flat latin1 changes, appended after
        // those of the records before.
        const changes: Array<string | undefined> = ['earlier', undefined];
        assert.equal(appendBatchChanges(encoded, logPath, 96, changes), batches[batches.length - 1]!.sequence, 'the last sequence');
        assert.deepEqual(changes, [
          'earlier',
          undefined,
          ...batches.flatMap((batch) => changesOf(batch.ops)),
        ]);
        const bounds = new Set(batches.map((_, i) => Buffer.concat(batches.slice(0, i + 1).map((batch) => encodeBatch(batch))).length));
        const cut = pick % encoded.length;
        if (!bounds.has(cut) && cut > 0) {
          assertCorrupt(decodeBatches, encoded.subarray(0, cut), 4242);
        }
        if (batches.length > 1) {
          const gap = Buffer.concat(batches.map((batch, i) => encodeBatch({ ...batch, sequence: batch.sequence + (i === batches.length - 1 ? 1 : 0) })));
          assertCorrupt(decodeBatches, gap, 8);
        }
      }),
      { numRuns: 300 },
    );
    assertCorrupt(decodeBatches, new Uint8Array(0), 16);
  });

  it('hand-made malformed payloads are E_CORRUPT', () => {
    const header = (count: number) => {
      const out = Buffer.alloc(12);
      out.writeDoubleLE(1, 0);
      out.writeUInt32LE(count, 8);
      return out;
    };
    const u32 = (n: number) => {
      const out = Buffer.alloc(4);
      out.writeUInt32LE(n, 0);
      return out;
    };
    const cases: ReadonlyArray<[string, Buffer]> = [
      ['empty', Buffer.alloc(0)],
      ['shorter than the header', Buffer.alloc(11)],
      ['count 1, no ops', header(1)],
      ['count 2, one op', Buffer.concat([header(2), Buffer.from([2]), u32(1), Buffer.from('k')])],
      ['unknown op type', Buffer.concat([header(1), Buffer.from([7]), u32(1), Buffer.from('k')])],
      ['op type 0', Buffer.concat([header(1), Buffer.from([0]), u32(0)])],
      ['key length past the end', Buffer.concat([header(1), Buffer.from([2]), u32(100), Buffer.from('k')])],
      ['key length 2^32-1', Buffer.concat([header(1), Buffer.from([2]), u32(0xffff_ffff), Buffer.from('k')])],
      ['put without a value length', Buffer.concat([header(1), Buffer.from([1]), u32(1), Buffer.from('k'), Buffer.from([0, 0])])],
      ['value length past the end', Buffer.concat([header(1), Buffer.from([1]), u32(1), Buffer.from('k'), u32(9), Buffer.from('v')])],
      ['huge op count', header(0xffff_ffff)],
      ['trailing byte', Buffer.concat([header(1), Buffer.from([2]), u32(1), Buffer.from('k'), Buffer.from([0])])],
    ];
    for (const [name, payload] of cases) {
      assertCorrupt(decodeBatch, payload, 128, name);
    }
  });

  it('decodes a payload that is a view into a larger buffer (non-zero byteOffset)', () => {
    const batch: Batch = { sequence: 9, ops: [{ type: 'put', key: Buffer.from('k'), value: Buffer.from('v') }, { type: 'del', key: Buffer.from('gone') }] };
    const encoded = encodeBatch(batch);
    const big = Buffer.concat([Buffer.from('prefix-junk'), encoded, Buffer.from('suffix')]);
    const view = big.subarray(11, 11 + encoded.length);
    const decoded = decodeBatch(view, logPath, 0);
    assert.deepEqual(showOps(decoded.ops), showOps(batch.ops));
  });
});

// ---------------------------------------------------------------------------------------------

const entryArb = fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 30 }), fc.uint8Array({ minLength: 0, maxLength: 200 }));

/** The entries, as latin1 strings, through the cursor interface writeDataFile reads. */
function arrayCursor(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): EntryCursor {
  let at = -1;
  return {
    next: () => ++at < entries.length,
    get key() {
      return bytesToLatin1(entries[at]![0]);
    },
    get value() {
      return bytesToLatin1(entries[at]![1]);
    },
  };
}

/** A handle that records the size of every write it passes on. */
class WriteSizes extends DelegatingFileHandle {
  readonly sizes: number[] = [];
  override write(data: Uint8Array, positionBytes: number): Promise<number> {
    this.sizes.push(data.length);
    return super.write(data, positionBytes);
  }
}

async function dataFileBytes(firstLogNumber: number, entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, writes?: number[]): Promise<Buffer> {
  const storage = new SimStorage();
  const handle = new WriteSizes(await storage.open('data.ckpt', 'wx'));
  const written = await writeDataFile(handle, firstLogNumber, arrayCursor(entries));
  await handle.close();
  const bytes = Buffer.from(await readWholeFile(storage, 'data.ckpt'));
  assert.equal(written, bytes.length, 'writeDataFile returns the bytes written');
  writes?.push(...handle.sizes);
  return bytes;
}

const dataPath = 'db/data.ckpt';
const showEntries = (entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>) => entries.map(([k, v]) => [hex(k), hex(v)]);

/**
 * `decode` and recovery's appendBatchChanges both refuse `payload` with E_CORRUPT naming the log
 * and the record's offset.
 */
function assertCorrupt(decode: (payload: Uint8Array, path: string, recordOffset: number) => unknown, payload: Uint8Array, recordOffset: number, name?: string): void {
  assert.throws(() => decode(payload, logPath, recordOffset), carveError(ErrorCodes.CORRUPT, { path: logPath, offset: recordOffset }), name);
  assert.throws(() => appendBatchChanges(payload, logPath, recordOffset, []), carveError(ErrorCodes.CORRUPT, { path: logPath, offset: recordOffset }), `${name ?? ''} (replay)`);
}

describe('data file', () => {
  it('round-trips any contents', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 32 - 1 }), fc.array(entryArb, { maxLength: 30 }), async (firstLogNumber, entries) => {
        const bytes = await dataFileBytes(firstLogNumber, entries);
        const parsed = parseDataFile(bytes, dataPath);
        assert.equal(parsed.firstLogNumber, firstLogNumber);
        assert.deepEqual(showEntries(parsed.entries), showEntries(entries));
      }),
      { numRuns: 100 },
    );
  });

  it('round-trips contents spanning many write chunks (one buffer, reused)', async () => {
    // About 1.4 MB: eleven 128 KiB chunks, each written, then refilled with different bytes.
    const entries = Array.from({ length: 10_000 }, (_, i): [Uint8Array, Uint8Array] => [
      Buffer.from(`key-${String(i).padStart(6, '0')}`),
      new Uint8Array(100 + (i % 50)).map((_, j) => (i * 31 + j) & 0xff),
    ]);
    const parsed = parseDataFile(await dataFileBytes(7, entries), dataPath);
    assert.deepEqual(showEntries(parsed.entries), showEntries(entries));
  });

  it('round-trips entries larger than the write chunk, each written alone, and goes back to 128 KiB chunks after them', async () => {
    const big = new Uint8Array(1.5 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
    const small = (i: number): [Uint8Array, Uint8Array] => [Buffer.from(`e${String(i).padStart(5, '0')}`), new Uint8Array(200).fill(i & 0xff)];
    const entries: Array<[Uint8Array, Uint8Array]> = [
      [Buffer.from('a'), Buffer.from('small')],
      [Buffer.from('b'), big],
      [Buffer.from('c'), big.subarray(0, 900 * 1024)],
      [Buffer.from('d'), big.subarray(0, 900 * 1024)],
      ...Array.from({ length: 3000 }, (_, i) => small(i)), // about 630 KB after the big ones
    ];
    const writes: number[] = [];
    const parsed = parseDataFile(await dataFileBytes(5, entries, writes), dataPath);
    assert.deepEqual(showEntries(parsed.entries), showEntries(entries));
    const chunkBytes = 128 * 1024;
    const entryBytes = (value: Uint8Array) => 8 + 1 + value.length;
    // The body's writes (the footer and header come last): a small chunk, the three big entries
    // one write each, then chunks of at most 128 KiB again.
    const body = writes.slice(0, -2);
    assert.deepEqual(body.slice(1, 4), [entryBytes(big), entryBytes(big.subarray(0, 900 * 1024)), entryBytes(big.subarray(0, 900 * 1024))]);
    assert.ok(body.slice(4).length >= 4 && body.slice(4).every((size) => size <= chunkBytes), `writes after the big entries: ${body.slice(4).join(' ')}`);
  });

  it('every truncation is a typed error (E_CORRUPT once the header is whole)', async () => {
    const bytes = await dataFileBytes(3, [
      [Buffer.from('apple'), Buffer.from('red')],
      [Buffer.from('banana'), Buffer.from('yellow')],
      [Buffer.from('cherry'), Buffer.from('dark red')],
    ]);
    for (let cut = 0; cut < bytes.length; cut++) {
      const truncated = bytes.subarray(0, cut);
      if (cut >= 32) {
        assert.throws(() => parseDataFile(truncated, dataPath), carveError(ErrorCodes.CORRUPT, { path: dataPath }), `cut at ${cut}`);
      } else {
        assert.throws(
          () => parseDataFile(truncated, dataPath),
          (error: unknown) =>
            error instanceof CarveError &&
            (error.code === ErrorCodes.CORRUPT || error.code === ErrorCodes.FOREIGN_FILE) &&
            error.path === dataPath,
          `cut at ${cut}`,
        );
      }
    }
  });

  it('a flipped bit in the header, the entries or the footer checksum is E_CORRUPT (E_FOREIGN_FILE in the magic)', async () => {
    const bytes = await dataFileBytes(3, [
      [Buffer.from('apple'), Buffer.from('red')],
      [Buffer.from('banana'), Buffer.from('yellow')],
    ]);
    const footerStart = bytes.length - 16;
    // The footer is "CARVEEND", the CRC32C of the entries, and 4 reserved bytes the format does not check.
    for (let position = 0; position < footerStart + 12; position++) {
      const flipped = Buffer.from(bytes);
      flipped[position]! ^= 0x10;
      const expected = position < 8 ? ErrorCodes.FOREIGN_FILE : ErrorCodes.CORRUPT;
      assert.throws(() => parseDataFile(flipped, dataPath), carveError(expected, { path: dataPath }), `flip at ${position}`);
    }
  });

  it('an entry count that disagrees with the entries is E_CORRUPT', async () => {
    const bytes = await dataFileBytes(3, [[Buffer.from('k'), Buffer.from('v')]]);
    bytes.writeDoubleLE(2, 16);
    bytes.writeUInt32LE(crc32c(bytes.subarray(0, 28)), 28);
    assert.throws(() => parseDataFile(bytes, dataPath), carveError(ErrorCodes.CORRUPT, { path: dataPath, offset: 16 }));
  });

  it('an entry length running past the body is E_CORRUPT, even with a matching body checksum', async () => {
    const bytes = await dataFileBytes(3, [[Buffer.from('k'), Buffer.from('v')]]);
    bytes.writeUInt32LE(1000, 32 + 4); // the value length
    const bodyEnd = bytes.length - 16;
    bytes.writeUInt32LE(crc32c(bytes.subarray(32, bodyEnd)), bodyEnd + 8);
    assert.throws(() => parseDataFile(bytes, dataPath), carveError(ErrorCodes.CORRUPT, { path: dataPath, offset: 32 }));
  });

  it('a foreign file (a log, junk, another version) is E_FOREIGN_FILE', () => {
    const log = encodeLogHeader({ logNumber: 1, salt, previousLogDurableBytes: 0, previousLogWrittenBytes: 0 });
    assert.throws(() => parseDataFile(log, dataPath), carveError(ErrorCodes.FOREIGN_FILE, { path: dataPath }));
    const junk = Buffer.from('{"this": "is json, not a Carve data file", "padding": "................"}');
    assert.throws(() => parseDataFile(junk, dataPath), carveError(ErrorCodes.FOREIGN_FILE, { path: dataPath }));
  });

  it('another data format version (with a valid header checksum) is E_FOREIGN_FILE', async () => {
    const bytes = await dataFileBytes(3, []);
    bytes.writeUInt32LE(2, 8);
    bytes.writeUInt32LE(crc32c(bytes.subarray(0, 28)), 28);
    assert.throws(() => parseDataFile(bytes, dataPath), carveError(ErrorCodes.FOREIGN_FILE, { path: dataPath }));
  });
});
