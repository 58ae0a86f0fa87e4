/**
 * The data file: the store's full sorted contents as of the end of some log, written by a
 * checkpoint. Layout: a 32-byte header (magic "CARVEKVD", version, the first log number to
 * replay after it, entry count, header CRC32C), entries (key length, value length, key, value),
 * and a 16-byte footer ("CARVEEND" and a CRC32C of the entries). It is published by atomic
 * replace, so a reader finds the previous data file or this one, whole; a torn or foreign file
 * is an error, never a partial load.
 */
import { crc32c } from '@node-rs/crc32';
import { CarveError, ErrorCodes } from '../errors.js';
import { latin1Slice, latin1Write } from './bytes.js';
import { checkFileStart } from './file-start.js';
import type { EntryCursor } from './merged-entries.js';
import type { FileHandle } from '../storage/storage.js';

export const dataFileName = 'data.ckpt';
export const dataMagic = 'CARVEKVD';
const footerMagic = 'CARVEEND';
const dataFormatVersion = 1;
const headerBytes = 32;
const footerBytes = 16;
/**
 * Entries are encoded into one buffer of this size, written when full and then reused. A
 * checkpoint runs while commits go on, on the same thread: each chunk's encoding is as long as
 * a commit group is kept waiting (about 1,050 entries of a 16 B key and a 100 B value, at
 * 110–235 ns each measured for a whole checkpoint: 0.1–0.25 ms). With 1 MiB chunks, commits at
 * 256 writers fell from 250,000–380,000/s to 15,000–46,000/s while a 60 MB data file was
 * written (bench/README, "Checkpoints and commits").
 */
const writeChunkBytes = 128 * 1024;

export interface DataFileContents {
  /** Logs numbered from here on hold writes newer than this file. */
  readonly firstLogNumber: number;
  readonly entries: Array<[Uint8Array, Uint8Array]>;
}

/**
 * Streams a cursor's entries, keys and values as latin1 strings (one char per byte, the index's
 * own form), into an open (empty) file handle; returns the bytes written. Does not sync. The
 * header, which holds the entry count, is written last, once the entries are counted. The handle
 * may not keep the bytes it is given past its write (the Storage contract): one buffer is reused.
 */
export async function writeDataFile(handle: FileHandle, firstLogNumber: number, entries: EntryCursor): Promise<number> {
  let offset = headerBytes;
  let crc = 0;
  const standardChunk = Buffer.allocUnsafe(writeChunkBytes);
  let chunk = standardChunk;
  let used = 0;
  const flush = async (): Promise<void> => {
    if (used === 0) return;
    const bytes = chunk.subarray(0, used);
    crc = crc32c(bytes, crc);
    await handle.write(bytes, offset);
    offset += used;
    used = 0;
  };
  let written = 0;
  while (entries.next()) {
    const { key, value } = entries;
    const entryBytes = 8 + key.length + value.length;
    if (used + entryBytes > chunk.length) await flush();
    // An entry larger than a chunk gets a buffer of its own, written at once.
    if (entryBytes > chunk.length) chunk = Buffer.allocUnsafe(entryBytes);
    putUint32(chunk, used, key.length);
    putUint32(chunk, used + 4, value.length);
    latin1Write(chunk, key, used + 8);
    latin1Write(chunk, value, used + 8 + key.length);
    used += entryBytes;
    written += 1;
    if (chunk !== standardChunk) {
      await flush();
      chunk = standardChunk;
    }
  }
  await flush();
  const footer = Buffer.alloc(footerBytes);
  footer.write(footerMagic, 0, 'latin1');
  footer.writeUInt32LE(crc, 8);
  await handle.write(footer, offset);
  const header = Buffer.alloc(headerBytes);
  header.write(dataMagic, 0, 'latin1');
  header.writeUInt32LE(dataFormatVersion, 8);
  header.writeUInt32LE(firstLogNumber, 12);
  header.writeDoubleLE(written, 16);
  header.writeUInt32LE(crc32c(header.subarray(0, 28)), 28);
  await handle.write(header, 0);
  return offset + footerBytes;
}

/** `chunk.writeUInt32LE(value, at)` without its argument checks (value is a length, at fits). */
function putUint32(chunk: Buffer, at: number, value: number): void {
  chunk[at] = value & 0xff;
  chunk[at + 1] = (value >>> 8) & 0xff;
  chunk[at + 2] = (value >>> 16) & 0xff;
  chunk[at + 3] = value >>> 24;
}

/** The data file's entries as byte views into `bytes`, in file order. */
export function parseDataFile(bytes: Uint8Array, path: string): DataFileContents {
  const entries: Array<[Uint8Array, Uint8Array]> = [];
  const firstLogNumber = readDataFile(bytes, path, (view, keyStart, valueStart, end) => {
    entries.push([view.subarray(keyStart, valueStart), view.subarray(valueStart, end)]);
  });
  return { firstLogNumber, entries };
}

/** The data file's keys and values as latin1 strings (the index's own form), in file order. */
export function parseDataFileLatin1(bytes: Uint8Array, path: string): { firstLogNumber: number; keys: string[]; values: string[] } {
  const keys: string[] = [];
  const values: string[] = [];
  const firstLogNumber = readDataFile(bytes, path, (view, keyStart, valueStart, end) => {
    keys.push(latin1Slice(view, keyStart, valueStart));
    values.push(latin1Slice(view, valueStart, end));
  });
  return { firstLogNumber, keys, values };
}

/**
 * Checks a data file whole (header, checksums, footer, entry count) and shows each entry to
 * `visit` as offsets into `view`: key at [keyStart, valueStart), value at [valueStart, end).
 * Returns the first log number to replay after it.
 */
function readDataFile(bytes: Uint8Array, path: string, visit: (view: Buffer, keyStart: number, valueStart: number, end: number) => void): number {
  const view = checkFileStart(bytes, dataMagic, headerBytes, 'data file', path);
  if (view.readUInt32LE(28) !== crc32c(view.subarray(0, 28))) {
    throw new CarveError(ErrorCodes.CORRUPT, 'data file header checksum mismatch', { path, offset: 0 });
  }
  if (view.readUInt32LE(8) !== dataFormatVersion) {
    throw new CarveError(ErrorCodes.FOREIGN_FILE, `unsupported data file version ${view.readUInt32LE(8)}`, { path, offset: 8 });
  }
  const bodyEnd = view.length - footerBytes;
  if (bodyEnd < headerBytes || view.toString('latin1', bodyEnd, bodyEnd + 8) !== footerMagic || view.readUInt32LE(bodyEnd + 12) !== 0) {
    throw new CarveError(ErrorCodes.CORRUPT, 'data file is truncated (no footer)', { path, offset: Math.max(headerBytes, bodyEnd) });
  }
  if (crc32c(view.subarray(headerBytes, bodyEnd)) !== view.readUInt32LE(bodyEnd + 8)) {
    throw new CarveError(ErrorCodes.CORRUPT, 'data file checksum mismatch', { path, offset: headerBytes });
  }
  const entryCount = view.readDoubleLE(16);
  let count = 0;
  let offset = headerBytes;
  while (offset < bodyEnd) {
    if (offset + 8 > bodyEnd) throw new CarveError(ErrorCodes.CORRUPT, 'entry header runs past the body', { path, offset });
    const keyBytes = view.readUInt32LE(offset);
    const valueBytes = view.readUInt32LE(offset + 4);
    const end = offset + 8 + keyBytes + valueBytes;
    if (end > bodyEnd) throw new CarveError(ErrorCodes.CORRUPT, 'entry runs past the body', { path, offset });
    visit(view, offset + 8, offset + 8 + keyBytes, end);
    count += 1;
    offset = end;
  }
  if (count !== entryCount) {
    throw new CarveError(ErrorCodes.CORRUPT, `data file holds ${count} entries, header says ${entryCount}`, { path, offset: 16 });
  }
  return view.readUInt32LE(12);
}
