/**
 * Opening a journal for appending, from any number of processes at once, with no lock.
 *
 * Guarantees when `openJournalFile` resolves: the file exists, starts with the journal header,
 * verifies (no corruption; torn writes of earlier crashes are allowed and stay set aside),
 * and its header, its directory entry and every byte it held when read are durable (an
 * fdatasync of the file and an fsync of its directory, as TigerBeetle does on every open: a
 * process cannot know whether the creator got that far before a crash). Only then may the
 * writer append, so no record can ever become durable ahead of the header or the name.
 *
 * Creation needs no coordination: 'a' creates the file if missing without truncating it, and a
 * process that finds it empty (or holding the 16 zero bytes an interrupted creation can leave)
 * writes the constant header at offset 0 with a positional write; concurrent creators write the
 * same bytes, and none appends before it has seen the header. Anything else is refused with a
 * typed error, and nothing is changed.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import { parentPath } from '../storage/paths.js';
import type { FileHandle, Storage } from '../storage/storage.js';
import { analyzeJournalBytes } from './analyze.js';
import { headerBytes, isZeroHeader, journalHeader } from './header.js';
import { journalProblemError } from './reader.js';

export interface OpenJournalFile {
  /** O_APPEND handle: every block is one append on it. */
  readonly appendHandle: FileHandle;
  /** Read handle, for the frontier digests and for finding the writer's own blocks. */
  readonly readHandle: FileHandle;
  /** The bytes the file held when opened; all of them durable now. */
  readonly existing: Uint8Array;
}

export async function openJournalFile(storage: Storage, path: string): Promise<OpenJournalFile> {
  const appendHandle = await storage.open(path, 'a');
  let readHandle: FileHandle | undefined;
  try {
    readHandle = await storage.open(path, 'r');
    await writeHeaderIfMissing(storage, path, readHandle);
    const { sizeBytes } = await readHandle.stat();
    const existing = await readHandle.read(sizeBytes, 0);
    const analysis = analyzeJournalBytes(existing, path);
    if (analysis.header !== 'valid') {
      throw new CarveError(ErrorCodes.CORRUPT, 'the journal header is damaged (a creation interrupted by a crash); the file holds no records: remove it to start afresh', { path, offset: 0 });
    }
    const problem = analysis.problems[0];
    if (problem !== undefined) throw journalProblemError(problem, path);
    await appendHandle.datasync();
    await storage.syncDir(parentPath(path));
    return { appendHandle, readHandle, existing };
  } catch (error) {
    await readHandle?.close().catch(() => undefined);
    await appendHandle.close().catch(() => undefined);
    throw error;
  }
}

async function writeHeaderIfMissing(storage: Storage, path: string, readHandle: FileHandle): Promise<void> {
  const { sizeBytes } = await readHandle.stat();
  if (sizeBytes !== 0 && !(sizeBytes === headerBytes && isZeroHeader(await readHandle.read(headerBytes, 0)))) return;
  const handle = await storage.open(path, 'r+');
  try {
    await handle.write(journalHeader, 0);
  } finally {
    await handle.close();
  }
}
