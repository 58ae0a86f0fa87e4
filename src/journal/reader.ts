/**
 * Reading a journal through the Storage seam. `analyzeJournal` reads the whole file and reports
 * everything (entries, torn writes set aside, problems); `readJournal` returns the entries and
 * fails with E_CORRUPT (path, offset, writer#seq) at the first problem, so corrupt synced data
 * is never skipped in silence; `journalProblemError` turns a problem into that error. Reading
 * changes nothing on disk: torn bytes are set aside in the report, not truncated.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { type JournalAnalysis, type JournalEntry, type SetAside, analyzeJournalBytes } from './analyze.js';
import { type Finding, nameOf } from './findings.js';

export async function analyzeJournal(storage: Storage, path: string): Promise<JournalAnalysis> {
  const handle = await storage.open(path, 'r');
  try {
    const { kind, sizeBytes } = await handle.stat();
    if (kind !== 'file') throw new CarveError(ErrorCodes.EISDIR, 'a journal is a file, not a directory', { path });
    return analyzeJournalBytes(await handle.read(sizeBytes, 0), path);
  } finally {
    await handle.close();
  }
}

export interface JournalRead {
  readonly entries: readonly JournalEntry[];
  readonly setAside: readonly SetAside[];
}

/** The journal's entries in file order; E_CORRUPT if anything sealed as durable is damaged. */
export async function readJournal(storage: Storage, path: string): Promise<JournalRead> {
  const analysis = await analyzeJournal(storage, path);
  const first = analysis.problems[0];
  if (first !== undefined) throw journalProblemError(first, analysis.path);
  return { entries: analysis.entries, setAside: analysis.setAside };
}

export function journalProblemError(problem: Finding, path: string): CarveError {
  return new CarveError(ErrorCodes.CORRUPT, `journal ${problem.kind} at ${nameOf(problem)}: ${problem.detail}`, {
    path,
    offset: problem.offset,
  });
}
