/**
 * A commit as the store queues it, and the framing of a group of them into one log write.
 *
 * A commit's changes are latin1 strings (one char per byte, as the index holds them), flat:
 * key, new value (undefined for a delete), key, new value, and so on. `encodeGroup` frames a
 * group straight into one buffer, with no buffer per commit in between. Its bytes are exactly
 * those of `encodeRecords` over `encodeBatch` payloads (log-format.ts, batch-codec.ts), which
 * the tests check: a record header (CRC32C, length, type, salt, durable offset), then the batch
 * (sequence, op count, then each op's type, key length and key, value length and value).
 */
import { crc32c } from '@node-rs/crc32';
import { assert } from '../errors.js';
import { batchHeaderBytes, opDel, opPut } from './batch-codec.js';
import { latin1Write } from './bytes.js';
import { recordHeaderBytes, recordTypeBatch } from './log-format.js';

/** [key, value or undefined (delete), key, value, …], each a latin1 string. */
export type Changes = ReadonlyArray<string | undefined>;

/** Commits to frame together; their sequence numbers run on from `firstSequence`. */
export interface EncodableGroup {
  readonly firstSequence: number;
  readonly changes: readonly Changes[];
  /** Each commit's whole record size: recordBytesOf(changes). */
  readonly recordBytes: readonly number[];
  /** The sum of recordBytes. */
  readonly totalBytes: number;
}

/** Bytes of the log record (header and batch) that carries these changes. */
export function recordBytesOf(changes: Changes): number {
  let size = recordHeaderBytes + batchHeaderBytes;
  for (let i = 0; i < changes.length; i += 2) {
    const value = changes[i + 1];
    size += 5 + changes[i]!.length + (value === undefined ? 0 : 4 + value.length);
  }
  return size;
}

/**
 * Frames the group's commits back to back into one buffer: the start of `scratch` when it is
 * large enough (the caller must not be using it), a new buffer otherwise.
 */
export function encodeGroup(group: EncodableGroup, salt: number, durableOffset: number, scratch?: Buffer): Buffer {
  const { totalBytes } = group;
  const out = (scratch !== undefined && scratch.length >= totalBytes ? scratch.subarray(0, totalBytes) : Buffer.allocUnsafe(totalBytes));
  let offset = 0;
  for (let c = 0; c < group.changes.length; c++) {
    const changes = group.changes[c]!;
    const recordBytes = group.recordBytes[c]!;
    const end = offset + recordBytes;
    out.writeUInt32LE(recordBytes - recordHeaderBytes, offset + 4);
    out.writeUInt32LE(recordTypeBatch, offset + 8); // type byte, then three zero bytes
    out.writeUInt32LE(salt, offset + 12);
    out.writeDoubleLE(durableOffset, offset + 16);
    let at = offset + recordHeaderBytes;
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
    assert(at === end, `record of ${recordBytes} B encoded into ${at - offset} B`);
    out.writeUInt32LE(crc32c(out.subarray(offset + 4, end)), offset);
    offset = end;
  }
  assert(offset === totalBytes, `group of ${totalBytes} B encoded into ${offset} B`);
  return out;
}
