/**
 * The write-ahead log's on-disk format.
 *
 * A log file starts with a 48-byte header: magic "CARVEKVL", format version, log number, a
 * salt (random; a recycled log's is the old one plus 1), how many bytes the previous log had written and had made durable when this one
 * began, and a CRC32C of the header. Each record then has a 24-byte header (CRC32C, payload
 * length, type, the file's salt, and the offset up to which the log was durable when the record
 * was written), followed by the payload: one or more commits' batches (batch-codec.ts), a whole
 * group commit per record. The CRC covers the rest of the header and the payload.
 * The salt keeps stale or recycled bytes from another log from ever being replayed.
 *
 * Reading stops at the first invalid record. That record, and everything after it, is a torn
 * tail (the normal result of a crash before a sync) unless a valid record further on says the
 * log was already durable past it. Then the bad bytes were synced data, and reading fails with
 * E_CORRUPT naming the file and offset: acknowledged data is never skipped in silence.
 *
 * A log may end in zeros: space preallocated for records to come (see log-space.ts). Zeros
 * never form a record (a record's salt is never 0), so the trailing zeros are reported apart,
 * as spare bytes, and the search for a later valid record skips them. A recycled log instead
 * goes on with the records of the log it was (log-recycling.ts), under another salt: they are
 * reported as torn bytes, and recovery tells them apart by where the log had been written to.
 */
import { crc32c } from '@node-rs/crc32';
import { CarveError, ErrorCodes } from '../errors.js';
import { checkFileStart } from './file-start.js';

export const logMagic = 'CARVEKVL';
/** 2: a record's payload may hold several batches (version 1 held one; still read). */
export const logFormatVersion = 2;
const readableLogFormatVersions = [1, 2];
export const logHeaderBytes = 48;
const headerCrcOffset = 44;
export const recordHeaderBytes = 24;
export const recordTypeBatch = 1;

export interface LogHeader {
  readonly logNumber: number;
  readonly salt: number;
  /** The previous log was synced up to here when this log began (0: no previous log). */
  readonly previousLogDurableBytes: number;
  /** The previous log had been written up to here when this log began (0: no previous log). */
  readonly previousLogWrittenBytes: number;
}

export function encodeLogHeader(header: LogHeader): Uint8Array {
  const out = Buffer.alloc(logHeaderBytes);
  out.write(logMagic, 0, 'latin1');
  out.writeUInt32LE(logFormatVersion, 8);
  out.writeUInt32LE(header.logNumber, 12);
  out.writeUInt32LE(header.salt, 16);
  out.writeDoubleLE(header.previousLogDurableBytes, 24);
  out.writeDoubleLE(header.previousLogWrittenBytes, 32);
  out.writeUInt32LE(crc32c(out.subarray(0, headerCrcOffset)), headerCrcOffset);
  return out;
}

export function decodeLogHeader(bytes: Uint8Array, path: string): LogHeader {
  const view = checkFileStart(bytes, logMagic, logHeaderBytes, 'log file', path);
  if (view.readUInt32LE(headerCrcOffset) !== crc32c(view.subarray(0, headerCrcOffset))) {
    throw new CarveError(ErrorCodes.CORRUPT, 'log file header checksum mismatch', { path, offset: 0 });
  }
  const version = view.readUInt32LE(8);
  if (!readableLogFormatVersions.includes(version)) {
    throw new CarveError(ErrorCodes.FOREIGN_FILE, `unsupported log format version ${version}`, { path, offset: 8 });
  }
  return {
    logNumber: view.readUInt32LE(12),
    salt: view.readUInt32LE(16),
    previousLogDurableBytes: view.readDoubleLE(24),
    previousLogWrittenBytes: view.readDoubleLE(32),
  };
}

/** Frames one record; `durableOffset` is how far the log was known to be synced when it was written. */
export function encodeRecord(payload: Uint8Array, salt: number, durableOffset: number): Uint8Array {
  return encodeRecords([payload], salt, durableOffset);
}

/** Frames records back to back into one buffer (the commit path frames a group with encodeGroup, commit-encoding.ts). */
export function encodeRecords(payloads: readonly Uint8Array[], salt: number, durableOffset: number): Buffer {
  let totalBytes = 0;
  for (const payload of payloads) totalBytes += recordHeaderBytes + payload.length;
  const out = Buffer.allocUnsafe(totalBytes);
  let offset = 0;
  for (const payload of payloads) {
    const end = offset + recordHeaderBytes + payload.length;
    writeRecordHeader(out, offset, payload.length, salt, durableOffset);
    out.set(payload, offset + recordHeaderBytes);
    sealRecord(out, offset, end);
    offset = end;
  }
  return out;
}

/** Writes a record's header at `at`, all but its checksum (sealRecord, once the payload is in). */
export function writeRecordHeader(out: Buffer, at: number, payloadBytes: number, salt: number, durableOffset: number): void {
  out.writeUInt32LE(payloadBytes, at + 4);
  out.writeUInt32LE(recordTypeBatch, at + 8); // type byte, then three zero bytes
  out.writeUInt32LE(salt, at + 12);
  out.writeDoubleLE(durableOffset, at + 16);
}

/** Writes the checksum of the record at [at, end): CRC32C of everything after the checksum itself. */
export function sealRecord(out: Buffer, at: number, end: number): void {
  out.writeUInt32LE(crc32c(out.subarray(at + 4, end)), at);
}

export interface LogRecord {
  readonly offset: number;
  readonly payload: Uint8Array;
}

export interface ReadLog {
  readonly header: LogHeader;
  /** The whole file as read. */
  readonly bytes: Uint8Array;
  readonly records: LogRecord[];
  /** End of the last valid record: where the log is whole up to. */
  readonly validEndOffset: number;
  /**
   * Bytes after validEndOffset up to the last non-zero byte: a torn tail to be set aside, or a
   * recycled log's old records.
   */
  readonly tornBytes: number;
  /** Zero bytes at the end of the file, after the torn tail: unused (preallocated) space. */
  readonly spareBytes: number;
}

/** Parses a whole log file; throws E_CORRUPT for bad synced data, E_FOREIGN_FILE for another format. */
export function parseLog(bytes: Uint8Array, path: string): ReadLog {
  const header = decodeLogHeader(bytes, path);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: LogRecord[] = [];
  let offset = logHeaderBytes;
  while (offset < view.length) {
    const record = recordAt(view, offset, header.salt);
    if (record === undefined) break;
    records.push({ offset, payload: record.payload });
    offset = record.endOffset;
  }
  const dataEnd = endOfNonZeroBytes(view, offset);
  if (offset < dataEnd) {
    const proof = syncedPast(view, offset, dataEnd, header.salt);
    if (proof !== undefined) {
      throw new CarveError(
        ErrorCodes.CORRUPT,
        `invalid record in synced data (a later record at offset ${proof} says the log was durable past it)`,
        { path, offset },
      );
    }
  }
  return { header, bytes, records, validEndOffset: offset, tornBytes: dataEnd - offset, spareBytes: view.length - dataEnd };
}

const zeroBlock = Buffer.alloc(64 * 1024);

/** The end of the last non-zero byte at or after `fromOffset` (`fromOffset` if there is none). */
function endOfNonZeroBytes(view: Buffer, fromOffset: number): number {
  let end = view.length;
  // Whole zero blocks first, compared natively; then byte by byte.
  while (end - zeroBlock.length >= fromOffset && view.subarray(end - zeroBlock.length, end).equals(zeroBlock)) end -= zeroBlock.length;
  while (end > fromOffset && view[end - 1] === 0) end -= 1;
  return end;
}

function recordAt(
  view: Buffer,
  offset: number,
  salt: number,
): { payload: Uint8Array; endOffset: number; durableOffset: number } | undefined {
  if (offset + recordHeaderBytes > view.length) return undefined;
  if (view.readUInt32LE(offset + 12) !== salt || view[offset + 8] !== recordTypeBatch) return undefined;
  const length = view.readUInt32LE(offset + 4);
  const endOffset = offset + recordHeaderBytes + length;
  if (endOffset > view.length) return undefined;
  if (crc32c(view.subarray(offset + 4, endOffset)) !== view.readUInt32LE(offset)) return undefined;
  return {
    payload: view.subarray(offset + recordHeaderBytes, endOffset),
    endOffset,
    durableOffset: view.readDoubleLE(offset + 16),
  };
}

/**
 * The offset of a valid record after `badOffset` that was written when the log was durable past
 * it. Candidates are found by searching for the salt, which sits 12 bytes into every record; a
 * record's salt lies before `dataEnd`, since the bytes after it are zeros.
 */
function syncedPast(view: Buffer, badOffset: number, dataEnd: number, salt: number): number | undefined {
  const saltBytes = Buffer.alloc(4);
  saltBytes.writeUInt32LE(salt, 0);
  const saltOffset = 12;
  for (let at = view.indexOf(saltBytes, badOffset + 1 + saltOffset); at !== -1 && at < dataEnd; at = view.indexOf(saltBytes, at + 1)) {
    const candidate = at - saltOffset;
    const record = recordAt(view, candidate, salt);
    if (record !== undefined && record.durableOffset > badOffset) return candidate;
  }
  return undefined;
}
