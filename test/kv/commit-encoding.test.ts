/**
 * The group framing of commit-encoding.ts writes exactly the bytes of the log format: for any
 * group of batches with consecutive sequence numbers (puts and deletes, empty and binary keys and values), encodeGroup equals
 * encodeRecords over encodeBatch payloads, recordBytesOf is each record's size, and parseLog
 * plus decodeBatch read the group back as the same batches.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type BatchOp, decodeBatch, encodeBatch } from '../../src/kv/batch-codec.js';
import { bytesToLatin1 } from '../../src/kv/bytes.js';
import { type Changes, encodeGroup, recordBytesOf } from '../../src/kv/commit-encoding.js';
import { encodeLogHeader, encodeRecords, parseLog } from '../../src/kv/log-format.js';

const opArb: fc.Arbitrary<BatchOp> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: fc.uint8Array({ maxLength: 40 }), value: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ type: fc.constant('del' as const), key: fc.uint8Array({ maxLength: 40 }) }),
);
const groupArb = fc
  .tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 10 }))
  .map(([firstSequence, opLists]) => opLists.map((ops, i) => ({ sequence: firstSequence + i, ops })));

function changesOf(ops: readonly BatchOp[]): Changes {
  return ops.flatMap((op) => [bytesToLatin1(op.key), op.type === 'put' ? bytesToLatin1(op.value) : undefined]);
}

describe('encodeGroup', () => {
  it('writes the same bytes as encodeRecords over encodeBatch, and reads back as the same batches', () => {
    fc.assert(
      fc.property(groupArb, fc.integer({ min: 1, max: 2 ** 32 - 1 }), fc.integer({ min: 48, max: 2 ** 40 }), (batches, salt, durable) => {
        const changes = batches.map((batch) => changesOf(batch.ops));
        const recordBytes = changes.map(recordBytesOf);
        const group = { firstSequence: batches[0]!.sequence, changes, recordBytes, totalBytes: recordBytes.reduce((sum, n) => sum + n, 0) };
        const grouped = encodeGroup(group, salt, durable);
        const reference = encodeRecords(batches.map((batch) => encodeBatch(batch)), salt, durable);
        assert.equal(grouped.toString('hex'), Buffer.from(reference).toString('hex'));

        const header = encodeLogHeader({ logNumber: 1, salt, previousLogDurableBytes: 0, previousLogWrittenBytes: 0 });
        const parsed = parseLog(Buffer.concat([header, grouped]), 'log');
        assert.equal(parsed.records.length, batches.length);
        parsed.records.forEach((record, i) => {
          const decoded = decodeBatch(record.payload, 'log', record.offset);
          assert.equal(decoded.sequence, batches[i]!.sequence);
          assert.deepEqual(changesOf(decoded.ops), changes[i]);
        });
      }),
      { numRuns: 300 },
    );
  });
});
