/**
 * The group framing of commit-encoding.ts writes exactly the bytes of the log format: for any
 * group of batches with consecutive sequence numbers (puts and deletes, empty and binary keys
 * and values), encodeGroup equals encodeRecords over one payload of the encodeBatch payloads
 * back to back, batchBytesOf is each batch's size, and parseLog plus decodeBatches read the
 * group back as one record holding the same batches. Whatever the scratch buffer held before
 * does not matter.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type BatchOp, decodeBatches, encodeBatch } from '../../src/kv/batch-codec.js';
import { batchBytesOf, encodeGroup } from '../../src/kv/commit-encoding.js';
import { encodeLogHeader, encodeRecords, parseLog } from '../../src/kv/log-format.js';
import { changesOf } from './kv-helpers.js';

const opArb: fc.Arbitrary<BatchOp> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: fc.uint8Array({ maxLength: 40 }), value: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ type: fc.constant('del' as const), key: fc.uint8Array({ maxLength: 40 }) }),
);
const groupArb = fc
  .tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 10 }))
  .map(([firstSequence, opLists]) => opLists.map((ops, i) => ({ sequence: firstSequence + i, ops })));

describe('encodeGroup', () => {
  it('writes the same bytes as encodeRecords over the batches back to back, and reads back as the same batches', () => {
    fc.assert(
      fc.property(
        groupArb,
        fc.integer({ min: 1, max: 2 ** 32 - 1 }),
        fc.integer({ min: 48, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 4096 }),
        (batches, salt, durable, scratchBytes) => {
          const changes = batches.map((batch) => changesOf(batch.ops));
          const batchBytes = changes.map(batchBytesOf);
          const totalBatchBytes = batchBytes.reduce((sum, n) => sum + n, 0);
          const group = { firstSequence: batches[0]!.sequence, changes, batchBytes, totalBatchBytes };
          const grouped = encodeGroup(group, salt, durable, Buffer.alloc(scratchBytes, 0xa5));
          const payloads = batches.map((batch) => encodeBatch(batch));
          payloads.forEach((payload, i) => assert.equal(payload.length, batchBytes[i], 'batchBytesOf is the batch size'));
          const reference = encodeRecords([Buffer.concat(payloads)], salt, durable);
          assert.equal(grouped.toString('hex'), Buffer.from(reference).toString('hex'));

          const header = encodeLogHeader({ logNumber: 1, salt, previousLogDurableBytes: 0, previousLogWrittenBytes: 0 });
          const parsed = parseLog(Buffer.concat([header, grouped]), 'log');
          assert.equal(parsed.records.length, 1, 'one record per group');
          const decoded = decodeBatches(parsed.records[0]!.payload, 'log', parsed.records[0]!.offset);
          assert.deepEqual(
            decoded.map((batch) => [batch.sequence, changesOf(batch.ops)]),
            batches.map((batch, i) => [batch.sequence, changes[i]]),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
