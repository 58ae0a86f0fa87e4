/**
 * Encoding of a write batch, the payload of one log record: a sequence number, then the
 * operations in order (put with key and value, or del with key). Decoding checks every length
 * against the payload, so a malformed payload is an error, never a misread.
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
const headerBytes = batchHeaderBytes;

export function encodedBatchBytes(ops: readonly BatchOp[]): number {
  let size = headerBytes;
  for (const op of ops) size += 1 + 4 + op.key.length + (op.type === 'put' ? 4 + op.value.length : 0);
  return size;
}

export function encodeBatch(batch: Batch): Uint8Array {
  const out = Buffer.allocUnsafe(encodedBatchBytes(batch.ops));
  out.writeDoubleLE(batch.sequence, 0);
  out.writeUInt32LE(batch.ops.length, 8);
  let offset = headerBytes;
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

export function decodeBatch(payload: Uint8Array, path: string, recordOffset: number): Batch {
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const malformed = (why: string): never => {
    throw new CarveError(ErrorCodes.CORRUPT, `malformed batch record: ${why}`, { path, offset: recordOffset });
  };
  if (view.length < headerBytes) malformed('shorter than its header');
  const sequence = view.readDoubleLE(0);
  const count = view.readUInt32LE(8);
  const ops: BatchOp[] = [];
  let offset = headerBytes;
  for (let i = 0; i < count; i++) {
    if (offset + 5 > view.length) malformed(`op ${i} runs past the record`);
    const type = view[offset];
    const keyBytes = view.readUInt32LE(offset + 1);
    offset += 5;
    if (offset + keyBytes > view.length) malformed(`key of op ${i} runs past the record`);
    const key = view.subarray(offset, offset + keyBytes);
    offset += keyBytes;
    if (type === opDel) {
      ops.push({ type: 'del', key });
      continue;
    }
    if (type !== opPut) malformed(`op ${i} has unknown type ${String(type)}`);
    if (offset + 4 > view.length) malformed(`value length of op ${i} runs past the record`);
    const valueBytes = view.readUInt32LE(offset);
    offset += 4;
    if (offset + valueBytes > view.length) malformed(`value of op ${i} runs past the record`);
    ops.push({ type: 'put', key, value: view.subarray(offset, offset + valueBytes) });
    offset += valueBytes;
  }
  if (offset !== view.length) malformed(`${view.length - offset} trailing bytes`);
  return { sequence, ops };
}
