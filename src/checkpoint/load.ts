/**
 * Recovery: reading a checkpoint back. `loadCheckpoint` returns a PagedState only if the whole
 * file checks out (size from the header, footer commit marker bound to the header, checksum
 * table, every page's CRC32C); otherwise it throws a CarveError (E_TRUNCATED, E_CORRUPT,
 * E_FOREIGN_FILE, E_UNSUPPORTED_FORMAT, or the storage's own error) naming the path and the
 * offset of the first bad byte range, and the file is left untouched. The header, footer and
 * table are checked before the state is allocated, so a damaged header cannot make us allocate.
 * Under atomic replace the file at the target path is the newest complete checkpoint; leftover
 * temp files beside it are never trusted (sweepCheckpointTemps removes them).
 */
import { CarveError, ErrorCodes, isCarveError } from '../errors.js';
import type { FileHandle, Storage } from '../storage/storage.js';
import { crc32cOf } from './checksum.js';
import {
  type CheckpointHeader,
  checkMagicPrefix,
  decodeFooter,
  decodeHeader,
  footerBytes,
  headerBytes,
  headerCrcOf,
  hex,
  layoutOf,
  pageOffsetBytes,
} from './format.js';
import { PagedState } from './paged-state.js';
import { defaultChunkBytes } from './stream.js';

export interface CheckpointInfo extends CheckpointHeader {
  readonly path: string;
  readonly sizeBytes: number;
}

export interface LoadedCheckpoint extends CheckpointInfo {
  readonly state: PagedState;
}

export interface LoadOptions {
  /** Bytes read per call (default 4 MiB, rounded down to whole pages, at least one page). */
  chunkBytes?: number;
  /** Passed to PagedState.create. */
  spareSlotsPerSlab?: number;
}

/** Loads and verifies the checkpoint at `path` into a new PagedState. */
export async function loadCheckpoint(storage: Storage, path: string, options: LoadOptions = {}): Promise<LoadedCheckpoint> {
  let state: PagedState | undefined;
  const info = await readVerified(storage, path, options, (header) => {
    state = PagedState.create({ ...header, spareSlotsPerSlab: options.spareSlotsPerSlab });
    return (page, bytes) => state!.write(page, 0, bytes);
  });
  return { ...info, state: state! };
}

/** Like loadCheckpoint, but undefined when there is no file at `path`. */
export async function loadCheckpointIfExists(storage: Storage, path: string, options: LoadOptions = {}): Promise<LoadedCheckpoint | undefined> {
  try {
    return await loadCheckpoint(storage, path, options);
  } catch (error) {
    if (isCarveError(error, ErrorCodes.ENOENT)) return undefined;
    throw error;
  }
}

/** Verifies the whole checkpoint at `path` without keeping its pages. */
export async function verifyCheckpoint(storage: Storage, path: string, options: LoadOptions = {}): Promise<CheckpointInfo> {
  return readVerified(storage, path, options, () => () => undefined);
}

type PageConsumer = (pageIndex: number, bytes: Uint8Array) => void;

async function readVerified(
  storage: Storage,
  path: string,
  options: LoadOptions,
  begin: (header: CheckpointHeader) => PageConsumer,
): Promise<CheckpointInfo> {
  const handle = await storage.open(path, 'r');
  try {
    const stat = await handle.stat();
    if (stat.kind !== 'file') throw new CarveError(ErrorCodes.EISDIR, 'a checkpoint is a file, not a directory', { path });
    const sizeBytes = stat.sizeBytes;
    const head = await handle.read(Math.min(headerBytes, sizeBytes), 0);
    checkMagicPrefix(head, sizeBytes, path);
    const header = decodeHeader(head, path);
    const layout = layoutOf(header);
    if (sizeBytes < layout.fileSizeBytes) {
      throw new CarveError(ErrorCodes.TRUNCATED, `the file ends after ${sizeBytes} B; a complete checkpoint of this header is ${layout.fileSizeBytes} B`, {
        path,
        offset: sizeBytes,
      });
    }
    if (sizeBytes > layout.fileSizeBytes) {
      throw new CarveError(ErrorCodes.CORRUPT, `${sizeBytes - layout.fileSizeBytes} B follow the footer`, {
        path,
        offset: layout.fileSizeBytes,
      });
    }
    const footer = await readExactly(handle, footerBytes, layout.footerOffsetBytes, path);
    const { tableCrc } = decodeFooter(footer, header, headerCrcOf(head), path, layout.footerOffsetBytes);
    const table = await readExactly(handle, header.pageCount * 4, layout.tableOffsetBytes, path);
    const actualTableCrc = crc32cOf(table);
    if (actualTableCrc !== tableCrc) {
      throw new CarveError(ErrorCodes.CORRUPT, `checksum table mismatch (footer says ${hex(tableCrc)}, computed ${hex(actualTableCrc)})`, {
        path,
        offset: layout.tableOffsetBytes,
      });
    }
    const tableView = new DataView(table.buffer, table.byteOffset, table.byteLength);
    const consume = begin(header);
    const pagesPerRead = Math.max(1, Math.floor((options.chunkBytes ?? defaultChunkBytes) / header.pageBytes));
    for (let first = 0; first < header.pageCount; first += pagesPerRead) {
      const count = Math.min(pagesPerRead, header.pageCount - first);
      const chunk = await readExactly(handle, count * header.pageBytes, pageOffsetBytes(header, first), path);
      for (let k = 0; k < count; k++) {
        const page = first + k;
        const bytes = chunk.subarray(k * header.pageBytes, (k + 1) * header.pageBytes);
        const expected = tableView.getUint32(page * 4, true);
        const actual = crc32cOf(bytes);
        if (actual !== expected) {
          throw new CarveError(ErrorCodes.CORRUPT, `page ${page} checksum mismatch (table says ${hex(expected)}, computed ${hex(actual)})`, {
            path,
            offset: pageOffsetBytes(header, page),
          });
        }
        consume(page, bytes);
      }
    }
    return { ...header, path, sizeBytes };
  } finally {
    await handle.close();
  }
}

async function readExactly(handle: FileHandle, lengthBytes: number, positionBytes: number, path: string): Promise<Uint8Array> {
  const bytes = await handle.read(lengthBytes, positionBytes);
  if (bytes.length !== lengthBytes) {
    throw new CarveError(ErrorCodes.TRUNCATED, `the file shrank while being read: ${bytes.length} of ${lengthBytes} B at ${positionBytes}`, {
      path,
      offset: positionBytes + bytes.length,
    });
  }
  return bytes;
}
