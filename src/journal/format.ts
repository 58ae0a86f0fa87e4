/**
 * The journal's record framing. Every record is
 *
 *   magic (4) | body length u32 (4) | header CRC (4) | body CRC (4) | body (length)
 *
 * with masked CRC32C (LevelDB's mask). The header CRC makes the length trustworthy on its own,
 * the body CRC makes a torn or changed body visible. Guarantees: `recordAt` accepts a record
 * only if both CRCs match and it lies wholly inside the file; anything else is damaged bytes.
 * With several O_APPEND writers a torn record need not be at the end of the file, so
 * `nextRecordAfter` resynchronises at the next offset where a whole valid record starts; it
 * never trusts the length of a damaged record (a short write may be followed at once by
 * another process's record).
 */
import { crc32c } from '@node-rs/crc32';
import { assert } from '../errors.js';

export const recordMagic: Buffer = Buffer.from([0xc8, 0x4a, 0x0d, 0x1e]);
export const recordOverheadBytes = 16;
/** Largest entry payload an append accepts. */
export const maxEntryBytes = 1024 * 1024;
/** Largest record body a reader accepts: an entry at its limit plus its identity fields. */
export const maxRecordBodyBytes = maxEntryBytes + 128;

const maskDelta = 0xa282ead8;

/** LevelDB's CRC mask, so that a CRC stored inside checksummed data does not weaken it. */
export function maskedCrc(data: Uint8Array): number {
  const crc = crc32c(data) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + maskDelta) >>> 0;
}

export function frameRecord(body: Uint8Array): Buffer {
  assert(body.length > 0 && body.length <= maxRecordBodyBytes, `record body of ${body.length} bytes within limits`);
  const out = Buffer.allocUnsafe(recordOverheadBytes + body.length);
  recordMagic.copy(out, 0);
  out.writeUInt32LE(body.length, 4);
  out.writeUInt32LE(maskedCrc(out.subarray(0, 8)), 8);
  out.writeUInt32LE(maskedCrc(body), 12);
  out.set(body, recordOverheadBytes);
  return out;
}

export type DamageReason =
  /** No record magic here. */
  | 'no-magic'
  /** Magic, but the length field's CRC does not match. */
  | 'bad-header'
  /** A checksummed length outside the limits: not written by this format. */
  | 'bad-length'
  /** A valid header whose body runs past the end of the file. */
  | 'cut-by-end-of-file'
  /** A valid header whose body does not match its CRC. */
  | 'bad-body';

export type RecordAt =
  | { readonly ok: true; readonly body: Buffer; readonly endOffset: number }
  | {
      readonly ok: false;
      readonly reason: DamageReason;
      /** What the body bytes that are present begin with, when the header itself is valid. */
      readonly bodyPrefix?: Buffer;
    };

/** Parses the record starting exactly at `offset`. */
export function recordAt(file: Buffer, offset: number): RecordAt {
  assert(Number.isInteger(offset) && offset >= 0 && offset <= file.length, `offset ${offset} inside the file`);
  if (offset + recordOverheadBytes > file.length) {
    const present = file.subarray(offset, Math.min(file.length, offset + recordMagic.length));
    return { ok: false, reason: present.equals(recordMagic.subarray(0, present.length)) ? 'cut-by-end-of-file' : 'no-magic' };
  }
  if (!file.subarray(offset, offset + 4).equals(recordMagic)) return { ok: false, reason: 'no-magic' };
  if (file.readUInt32LE(offset + 8) !== maskedCrc(file.subarray(offset, offset + 8))) return { ok: false, reason: 'bad-header' };
  const bodyBytes = file.readUInt32LE(offset + 4);
  if (bodyBytes === 0 || bodyBytes > maxRecordBodyBytes) return { ok: false, reason: 'bad-length' };
  const bodyStart = offset + recordOverheadBytes;
  const endOffset = bodyStart + bodyBytes;
  if (endOffset > file.length) return { ok: false, reason: 'cut-by-end-of-file', bodyPrefix: file.subarray(bodyStart) };
  const body = file.subarray(bodyStart, endOffset);
  if (file.readUInt32LE(offset + 12) !== maskedCrc(body)) return { ok: false, reason: 'bad-body', bodyPrefix: body };
  return { ok: true, body, endOffset };
}

/** The first offset after `offset` where a whole valid record starts, or undefined. */
export function nextRecordAfter(file: Buffer, offset: number): number | undefined {
  let candidate = file.indexOf(recordMagic, offset + 1);
  while (candidate >= 0) {
    if (recordAt(file, candidate).ok) return candidate;
    candidate = file.indexOf(recordMagic, candidate + 1);
  }
  return undefined;
}

/** A Buffer view of any Uint8Array, without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
