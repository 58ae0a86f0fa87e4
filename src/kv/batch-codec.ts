/**
 * Encoding of a write batch (one commit): a sequence number, then the operations in order (put
 * with key and value, or del with key). A log record's payload is one or more batches back to
 * back, with consecutive sequence numbers: a group commit writes its commits as one record.
 * Decoding checks every length against the payload, so a malformed payload is an error, never
 * a misread. Recovery replays through appendBatchChanges, which makes the index's strings
 * straight from the payload; decodeBatch(es), which give ops as byte views, serve the tests and
 * the benchmarks.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import { latin1Slice } from './bytes.js';

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
  const view = viewOf(payload);
  const ops: BatchOp[] = [];
  if (batchHeaderBytes > view.length) malformedBatch('shorter than its header', path, recordOffset);
  const endOffset = walkBatch(view, 0, path, recordOffset, opCollector(view, () => ops));
  if (endOffset !== view.length) malformedBatch(`${view.length - endOffset} trailing bytes`, path, recordOffset);
  return { sequence: view.readDoubleLE(0), ops };
}

/** The batches of a record's payload, in order: at least one, filling it exactly. */
export function decodeBatches(payload: Uint8Array, path: string, recordOffset: number): Batch[] {
  const view = viewOf(payload);
  const batches: Batch[] = [];
  let ops: BatchOp[] = [];
  const collect = opCollector(view, () => ops);
  walkBatches(view, path, recordOffset, (sequence) => {
    ops = [];
    batches.push({ sequence, ops });
  }, collect);
  return batches;
}

/**
 * The changes of a record's batches as the store applies them (commit-encoding.ts's Changes:
 * key, new value or undefined for a delete, … as latin1 strings), appended to `changes`, with
 * the same checks as decodeBatches; returns the last batch's sequence number. Recovery replays
 * whole logs through it: no object per batch or op, only the strings the index keeps. A
 * malformed payload throws after its changes before the fault were appended: the caller
 * discards `changes` then (recovery fails as a whole).
 */
export function appendBatchChanges(payload: Uint8Array, path: string, recordOffset: number, changes: Array<string | undefined>): number {
  const view = viewOf(payload);
  return walkBatches(view, path, recordOffset, undefined, (type, keyStart, keyEnd, valueStart, valueEnd) => {
    changes.push(latin1Slice(view, keyStart, keyEnd), type === opPut ? latin1Slice(view, valueStart, valueEnd) : undefined);
  });
}

/** Visits one op: its type, and its key's and value's byte ranges in the payload (an empty value for a delete). */
type OpVisitor = (type: typeof opPut | typeof opDel, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number) => void;

function viewOf(payload: Uint8Array): Buffer {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

/** Collects the ops it visits, as views into `view`, into the array `target` returns at each op. */
function opCollector(view: Buffer, target: () => BatchOp[]): OpVisitor {
  return (type, keyStart, keyEnd, valueStart, valueEnd) => {
    const key = view.subarray(keyStart, keyEnd);
    target().push(type === opDel ? { type: 'del', key } : { type: 'put', key, value: view.subarray(valueStart, valueEnd) });
  };
}

/**
 * Checks and visits the batches filling `view`: at least one, with consecutive sequence
 * numbers. Returns the last one's sequence number.
 */
function walkBatches(view: Buffer, path: string, recordOffset: number, onBatch: ((sequence: number) => void) | undefined, onOp: OpVisitor): number {
  let offset = 0;
  let previous: number | undefined;
  do {
    if (offset + batchHeaderBytes > view.length) malformedBatch('shorter than its header', path, recordOffset);
    const sequence = view.readDoubleLE(offset);
    if (previous !== undefined && sequence !== previous + 1) {
      malformedBatch(`batch at payload offset ${offset} has sequence ${sequence} after ${previous}`, path, recordOffset);
    }
    onBatch?.(sequence);
    offset = walkBatch(view, offset, path, recordOffset, onOp);
    previous = sequence;
  } while (offset < view.length);
  return previous;
}

function malformedBatch(why: string, path: string, recordOffset: number): never {
  throw new CarveError(ErrorCodes.CORRUPT, `malformed batch record: ${why}`, { path, offset: recordOffset });
}

/**
 * Checks the batch at `start` and visits its ops in order; returns where it ends. The caller has
 * checked that its header fits.
 */
function walkBatch(view: Buffer, start: number, path: string, recordOffset: number, visit: OpVisitor): number {
  const count = view.readUInt32LE(start + 8);
  let offset = start + batchHeaderBytes;
  for (let i = 0; i < count; i++) {
    if (offset + 5 > view.length) malformedBatch(`op ${i} runs past the record`, path, recordOffset);
    const type = view[offset];
    const keyBytes = view.readUInt32LE(offset + 1);
    offset += 5;
    if (offset + keyBytes > view.length) malformedBatch(`key of op ${i} runs past the record`, path, recordOffset);
    const keyStart = offset;
    const keyEnd = offset + keyBytes;
    offset = keyEnd;
    if (type === opDel) {
      visit(opDel, keyStart, keyEnd, keyEnd, keyEnd);
      continue;
    }
    if (type !== opPut) malformedBatch(`op ${i} has unknown type ${String(type)}`, path, recordOffset);
    if (offset + 4 > view.length) malformedBatch(`value length of op ${i} runs past the record`, path, recordOffset);
    const valueBytes = view.readUInt32LE(offset);
    offset += 4;
    if (offset + valueBytes > view.length) malformedBatch(`value of op ${i} runs past the record`, path, recordOffset);
    visit(opPut, keyStart, keyEnd, offset, offset + valueBytes);
    offset += valueBytes;
  }
  return offset;
}
