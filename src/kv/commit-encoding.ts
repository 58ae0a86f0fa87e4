/**
 * A commit as the store queues it, and the framing of a group of them into one log write.
 *
 * A commit's changes are latin1 strings (one char per byte, as the index holds them), flat:
 * key, new value (undefined for a delete), key, new value, and so on. `encodeGroup` frames a
 * group straight into one buffer as one log record whose payload is the commits' batches back to
 * back: its bytes are exactly those of `encodeRecords` over the concatenated `encodeBatch`
 * payloads (log-format.ts, batch-codec.ts), which the tests check. One record per group, not per
 * commit: one CRC32C call and one 24-byte header per group (a group is acknowledged, or torn,
 * as a whole anyway).
 */
import { assert } from '../errors.js';
import { batchHeaderBytes, opDel, opPut } from './batch-codec.js';
import { latin1Write } from './bytes.js';
import { recordHeaderBytes, sealRecord, writeRecordHeader } from './log-format.js';

/** [key, value or undefined (delete), key, value, …], each a latin1 string. */
export type Changes = ReadonlyArray<string | undefined>;

/** Commits to frame together; their sequence numbers run on from `firstSequence`. */
export interface EncodableGroup {
  readonly firstSequence: number;
  readonly changes: readonly Changes[];
  /** The sum of the commits' batch sizes (batchBytesOf). */
  readonly totalBatchBytes: number;
}

/** Bytes of the batch that carries these changes in a log record. */
export function batchBytesOf(changes: Changes): number {
  let size = batchHeaderBytes;
  for (let i = 0; i < changes.length; i += 2) {
    const value = changes[i + 1];
    size += 5 + changes[i]!.length + (value === undefined ? 0 : 4 + value.length);
  }
  return size;
}

/** Bytes of the group's log record: the record header and every commit's batch. */
export function groupRecordBytes(group: EncodableGroup): number {
  return recordHeaderBytes + group.totalBatchBytes;
}

/**
 * Frames the group's commits as one record, into the start of `scratch` when it is large enough
 * (the caller must not be using it), into a new buffer otherwise.
 */
export function encodeGroup(group: EncodableGroup, salt: number, durableOffset: number, scratch?: Buffer): Buffer {
  const totalBytes = groupRecordBytes(group);
  const out = scratch !== undefined && scratch.length >= totalBytes ? scratch.subarray(0, totalBytes) : Buffer.allocUnsafe(totalBytes);
  writeRecordHeader(out, 0, totalBytes - recordHeaderBytes, salt, durableOffset);
  let at = recordHeaderBytes;
  for (let c = 0; c < group.changes.length; c++) {
    const changes = group.changes[c]!;
    out.writeDoubleLE(group.firstSequence + c, at);
    out.writeUInt32LE(changes.length / 2, at + 8);
    at += batchHeaderBytes;
    for (let i = 0; i < changes.length; i += 2) {
      const key = changes[i]!;
      const value = changes[i + 1];
      out[at] = value === undefined ? opDel : opPut;
      out.writeUInt32LE(key.length, at + 1);
      at += 5 + latin1Write(out, key, at + 5);
      if (value !== undefined) {
        out.writeUInt32LE(value.length, at);
        at += 4 + latin1Write(out, value, at + 4);
      }
    }
  }
  assert(at === totalBytes, `group of ${totalBytes} B (the batches' batchBytesOf) encoded into ${at} B`);
  sealRecord(out, 0, totalBytes);
  return out;
}
