/**
 * The checkpoint file format, version 1. A file is complete only if every part checks out:
 *
 *   header   64 B   magic "CARVECKP", format version, header size, page size, checksum kind,
 *                   page count, sequence number, reserved zeros, CRC32C of the bytes before it
 *   pages    pageCount × pageBytes, page i at 64 + i × pageBytes
 *   table    pageCount × 4 B: CRC32C of each page (little-endian)
 *   footer   40 B   magic "CKPTDONE", sequence, page count, the header's CRC, the table's CRC,
 *                   reserved zeros, CRC32C of the bytes before it: the commit marker
 *
 * The file's size follows from the header, so a truncated or extended file is detected before
 * anything else is read; a torn write shows as a page, table, header or footer checksum
 * mismatch, and the footer binds itself to its header. Encoding and decoding are pure; decode
 * errors are CarveErrors naming the path and the byte offset of the first bad field.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import { crc32cOf } from './checksum.js';
import { type StateGeometry, maxPageBytes, maxPageCount, minPageBytes } from './geometry.js';

export const formatVersion = 1;
export const headerBytes = 64;
export const footerBytes = 40;
export const checksumBytes = 4;
/** The only checksum kind of version 1: CRC32C (Castagnoli) per page. */
export const checksumKindCrc32cPerPage = 1;

const headerMagic = new TextEncoder().encode('CARVECKP');
const footerMagic = new TextEncoder().encode('CKPTDONE');

/** Header field offsets (bytes from the start of the file). */
export const headerField = {
  magic: 0,
  version: 8,
  headerBytes: 12,
  pageBytes: 16,
  checksumKind: 20,
  pageCount: 24,
  sequence: 32,
  reserved: 40,
  crc: 60,
} as const;

/** Footer field offsets (bytes from the start of the footer). */
export const footerField = {
  magic: 0,
  sequence: 8,
  pageCount: 16,
  headerCrc: 24,
  tableCrc: 28,
  reserved: 32,
  crc: 36,
} as const;

export interface CheckpointHeader extends StateGeometry {
  readonly sequence: number;
}

export interface CheckpointLayout {
  readonly pagesOffsetBytes: number;
  readonly tableOffsetBytes: number;
  readonly footerOffsetBytes: number;
  readonly fileSizeBytes: number;
}

export function layoutOf(geometry: StateGeometry): CheckpointLayout {
  const pagesOffsetBytes = headerBytes;
  const tableOffsetBytes = pagesOffsetBytes + geometry.pageCount * geometry.pageBytes;
  const footerOffsetBytes = tableOffsetBytes + geometry.pageCount * checksumBytes;
  return { pagesOffsetBytes, tableOffsetBytes, footerOffsetBytes, fileSizeBytes: footerOffsetBytes + footerBytes };
}

export function pageOffsetBytes(geometry: StateGeometry, pageIndex: number): number {
  return headerBytes + pageIndex * geometry.pageBytes;
}

export function encodeHeader(header: CheckpointHeader): Uint8Array {
  const bytes = new Uint8Array(headerBytes);
  const view = new DataView(bytes.buffer);
  bytes.set(headerMagic, headerField.magic);
  view.setUint32(headerField.version, formatVersion, true);
  view.setUint32(headerField.headerBytes, headerBytes, true);
  view.setUint32(headerField.pageBytes, header.pageBytes, true);
  view.setUint32(headerField.checksumKind, checksumKindCrc32cPerPage, true);
  view.setBigUint64(headerField.pageCount, BigInt(header.pageCount), true);
  view.setBigUint64(headerField.sequence, BigInt(header.sequence), true);
  view.setUint32(headerField.crc, crc32cOf(bytes.subarray(0, headerField.crc)), true);
  return bytes;
}

export function encodeFooter(header: CheckpointHeader, headerCrc: number, tableCrc: number): Uint8Array {
  const bytes = new Uint8Array(footerBytes);
  const view = new DataView(bytes.buffer);
  bytes.set(footerMagic, footerField.magic);
  view.setBigUint64(footerField.sequence, BigInt(header.sequence), true);
  view.setBigUint64(footerField.pageCount, BigInt(header.pageCount), true);
  view.setUint32(footerField.headerCrc, headerCrc, true);
  view.setUint32(footerField.tableCrc, tableCrc, true);
  view.setUint32(footerField.crc, crc32cOf(bytes.subarray(0, footerField.crc)), true);
  return bytes;
}

/** The stored CRC of an encoded header (what the footer must repeat). */
export function headerCrcOf(header: Uint8Array): number {
  return new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(headerField.crc, true);
}

/**
 * Checks the first bytes of a file, however few there are: E_TRUNCATED if they are empty or a
 * prefix of the magic, E_CORRUPT if zero-filled (a size that landed without its data),
 * E_FOREIGN_FILE if they are not ours.
 */
export function checkMagicPrefix(prefix: Uint8Array, fileSizeBytes: number, path: string): void {
  const length = Math.min(prefix.length, headerMagic.length);
  if (fileSizeBytes === 0) throw new CarveError(ErrorCodes.TRUNCATED, 'the checkpoint file is empty', { path, offset: 0 });
  const matches = headerMagic.subarray(0, length).every((byte, i) => prefix[i] === byte);
  if (matches) return;
  if (prefix.subarray(0, length).every((byte) => byte === 0)) {
    throw new CarveError(ErrorCodes.CORRUPT, 'the checkpoint header is zero-filled (its data never reached the disk)', {
      path,
      offset: 0,
    });
  }
  throw new CarveError(ErrorCodes.FOREIGN_FILE, 'not a Carve checkpoint file (bad magic)', { path, offset: 0 });
}

/** Decodes and validates a header; the bytes must be `headerBytes` long. */
export function decodeHeader(bytes: Uint8Array, path: string): CheckpointHeader {
  checkMagicPrefix(bytes, bytes.length, path);
  if (bytes.length < headerBytes) {
    throw new CarveError(ErrorCodes.TRUNCATED, `the file ends inside the header, after ${bytes.length} B`, {
      path,
      offset: bytes.length,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const version = view.getUint32(headerField.version, true);
  if (version !== formatVersion) {
    throw new CarveError(ErrorCodes.UNSUPPORTED_FORMAT, `checkpoint format version ${version}; this build reads version ${formatVersion}`, {
      path,
      offset: headerField.version,
    });
  }
  const storedCrc = view.getUint32(headerField.crc, true);
  const actualCrc = crc32cOf(bytes.subarray(0, headerField.crc));
  if (storedCrc !== actualCrc) {
    throw new CarveError(ErrorCodes.CORRUPT, `header checksum mismatch (stored ${hex(storedCrc)}, computed ${hex(actualCrc)})`, {
      path,
      offset: headerField.crc,
    });
  }
  const field = (name: string, offset: number, ok: boolean, value: number | bigint): void => {
    if (!ok) throw new CarveError(ErrorCodes.CORRUPT, `header field ${name} is invalid: ${String(value)}`, { path, offset });
  };
  const declaredHeaderBytes = view.getUint32(headerField.headerBytes, true);
  field('headerBytes', headerField.headerBytes, declaredHeaderBytes === headerBytes, declaredHeaderBytes);
  const pageBytes = view.getUint32(headerField.pageBytes, true);
  field('pageBytes', headerField.pageBytes, pageBytes >= minPageBytes && pageBytes <= maxPageBytes && pageBytes % 8 === 0, pageBytes);
  const checksumKind = view.getUint32(headerField.checksumKind, true);
  field('checksumKind', headerField.checksumKind, checksumKind === checksumKindCrc32cPerPage, checksumKind);
  const pageCount = view.getBigUint64(headerField.pageCount, true);
  field('pageCount', headerField.pageCount, pageCount >= 1n && pageCount <= BigInt(maxPageCount), pageCount);
  const sequence = view.getBigUint64(headerField.sequence, true);
  field('sequence', headerField.sequence, sequence <= BigInt(Number.MAX_SAFE_INTEGER), sequence);
  for (let offset = headerField.reserved; offset < headerField.crc; offset++) {
    field('reserved', offset, bytes[offset] === 0, bytes[offset]!);
  }
  return { pageBytes, pageCount: Number(pageCount), sequence: Number(sequence) };
}

/** Validates a footer against its header and returns the table CRC it commits to. */
export function decodeFooter(
  bytes: Uint8Array,
  header: CheckpointHeader,
  headerCrc: number,
  path: string,
  footerOffsetBytes: number,
): { tableCrc: number } {
  const at = (field: number) => footerOffsetBytes + field;
  if (bytes.length !== footerBytes || !footerMagic.every((byte, i) => bytes[i] === byte)) {
    throw new CarveError(ErrorCodes.CORRUPT, 'no commit marker: the checkpoint was never completely written', {
      path,
      offset: at(footerField.magic),
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, footerBytes);
  const storedCrc = view.getUint32(footerField.crc, true);
  const actualCrc = crc32cOf(bytes.subarray(0, footerField.crc));
  if (storedCrc !== actualCrc) {
    throw new CarveError(ErrorCodes.CORRUPT, `footer checksum mismatch (stored ${hex(storedCrc)}, computed ${hex(actualCrc)})`, {
      path,
      offset: at(footerField.crc),
    });
  }
  const mismatch = (name: string, field: number, found: number | bigint, expected: number | bigint): void => {
    if (found !== expected) {
      throw new CarveError(ErrorCodes.CORRUPT, `footer ${name} ${String(found)} does not match the header's ${String(expected)}: parts of two checkpoints`, {
        path,
        offset: at(field),
      });
    }
  };
  mismatch('sequence', footerField.sequence, view.getBigUint64(footerField.sequence, true), BigInt(header.sequence));
  mismatch('page count', footerField.pageCount, view.getBigUint64(footerField.pageCount, true), BigInt(header.pageCount));
  mismatch('header checksum', footerField.headerCrc, view.getUint32(footerField.headerCrc, true), headerCrc);
  for (let offset = footerField.reserved; offset < footerField.crc; offset++) {
    if (bytes[offset] !== 0) throw new CarveError(ErrorCodes.CORRUPT, 'footer reserved bytes are not zero', { path, offset: at(offset) });
  }
  return { tableCrc: view.getUint32(footerField.tableCrc, true) };
}

export function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
