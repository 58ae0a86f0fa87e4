/**
 * Encoding of a write batch (one commit): a sequence number, then the operations in order (put
 * with key and value, or del with key). A log record's payload is one or more batches back to
 * back, with consecutive sequence numbers: a group commit writes its commits as one record.
 * Decoding checks every length against the payload, so a malformed payload is an error, never
 * a misread.
 */
import { CarveError, ErrorCodes } from '../errors.js';

export type BatchOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

export interface Batch {
  readonly sequence: number;
  readonly ops: readonly BatchOp[];
}

export const opPut = 1;
export const opDel = 2;
/** Sequence number (8, a double), then the op count (4). */
export const batchHeaderBytes = 12;

export function encodedBatchBytes(ops: readonly BatchOp[]): number {
  let size = batchHeaderBytes;
  for (const op of ops) size += 1 + 4 + op.key.length + (op.type === 'put' ? 4 + op.value.length : 0);
  return size;
}

export function encodeBatch(batch: Batch): Uint8Array {
  const out = Buffer.allocUnsafe(encodedBatchBytes(batch.ops));
  out.writeDoubleLE(batch.sequence, 0);
  out.writeUInt32LE(batch.ops.length, 8);
  let offset = batchHeaderBytes;
  for (const op of batch.ops) {
    out[offset] = op.type === 'put' ? opPut : opDel;
    out.writeUInt32LE(op.key.length, offset + 1);
    out.set(op.key, offset + 5);
    offset += 5 + op.key.length;
    if (op.type === 'put') {
      out.writeUInt32LE(op.value.length, offset);
      out.set(op.value, offset + 4);
      offset += 4 + op.value.length;
    }
  }
  return out;
}

/** The one batch a payload holds (anything after it is malformed). */
export function decodeBatch(payload: Uint8Array, path: string, recordOffset: number): Batch {
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const { batch, endOffset } = decodeBatchAt(view, 0, path, recordOffset);
  if (endOffset !== view.length) malformedBatch(`${view.length - endOffset} trailing bytes`, path, recordOffset);
  return batch;
}

/** The batches of a record's payload, in order: at least one, filling it exactly. */
export function decodeBatches(payload: Uint8Array, path: string, recordOffset: number): Batch[] {
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const batches: Batch[] = [];
  let offset = 0;
  do {
    const { batch, endOffset } = decodeBatchAt(view, offset, path, recordOffset);
    const previous = batches[batches.length - 1];
    if (previous !== undefined && batch.sequence !== previous.sequence + 1) {
      malformedBatch(`batch at payload offset ${offset} has sequence ${batch.sequence} after ${previous.sequence}`, path, recordOffset);
    }
    batches.push(batch);
    offset = endOffset;
  } while (offset < view.length);
  return batches;
}

function malformedBatch(why: string, path: string, recordOffset: number): never {
  throw new CarveError(ErrorCodes.CORRUPT, `malformed batch record: ${why}`, { path, offset: recordOffset });
}

function decodeBatchAt(view: Buffer, start: number, path: string, recordOffset: number): { batch: Batch; endOffset: number } {
  if (start + batchHeaderBytes > view.length) malformedBatch('shorter than its header', path, recordOffset);
  const sequence = view.readDoubleLE(start);
  const count = view.readUInt32LE(start + 8);
  const ops: BatchOp[] = [];
  let offset = start + batchHeaderBytes;
  for (let i = 0; i < count; i++) {
    if (offset + 5 > view.length) malformedBatch(`op ${i} runs past the record`, path, recordOffset);
    const type = view[offset];
    const keyBytes = view.readUInt32LE(offset + 1);
    offset += 5;
    if (offset + keyBytes > view.length) malformedBatch(`key of op ${i} runs past the record`, path, recordOffset);
    const key = view.subarray(offset, offset + keyBytes);
    offset += keyBytes;
    if (type === opDel) {
      ops.push({ type: 'del', key });
      continue;
    }
    if (type !== opPut) malformedBatch(`op ${i} has unknown type ${String(type)}`, path, recordOffset);
    if (offset + 4 > view.length) malformedBatch(`value length of op ${i} runs past the record`, path, recordOffset);
    const valueBytes = view.readUInt32LE(offset);
    offset += 4;
    if (offset + valueBytes > view.length) malformedBatch(`value of op ${i} runs past the record`, path, recordOffset);
    ops.push({ type: 'put', key, value: view.subarray(offset, offset + valueBytes) });
    offset += valueBytes;
  }
  return { batch: { sequence, ops }, endOffset: offset };
}
