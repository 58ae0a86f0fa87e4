/**
 * The journal file header: the 16 bytes "carve-journal/1\n", the same in every journal. Because
 * it is constant, creating a journal needs no coordination: any process that finds the file
 * empty writes the header at offset 0, and concurrent creators write identical bytes.
 *
 * `headerStateOf` tells a journal apart from an interrupted creation and from other files:
 * empty (0 bytes) and interrupted (exactly 16 bytes that are not the header: a crash before the
 * header was synced, so no record can follow) are normal states; anything else that does not
 * start with the header is a typed error naming the file and offset, and nothing is changed.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import { asBuffer, nextRecordAfter } from './format.js';

export const journalHeader: Buffer = Buffer.from('carve-journal/1\n', 'latin1');
export const headerBytes = journalHeader.length;
const familyPrefix = journalHeader.subarray(0, 'carve-journal/'.length);

export type HeaderState = 'valid' | 'empty' | 'interrupted';

export function headerStateOf(bytes: Uint8Array, path: string): HeaderState {
  const file = asBuffer(bytes);
  if (file.length === 0) return 'empty';
  if (file.length < headerBytes) {
    if (file.equals(journalHeader.subarray(0, file.length))) {
      throw new CarveError(ErrorCodes.TRUNCATED, `journal ends inside its ${headerBytes}-byte header`, { path, offset: file.length });
    }
    throw new CarveError(ErrorCodes.FOREIGN_FILE, 'not a Carve journal (too short, no journal header)', { path, offset: 0 });
  }
  const head = file.subarray(0, headerBytes);
  if (head.equals(journalHeader)) return 'valid';
  if (head.subarray(0, familyPrefix.length).equals(familyPrefix)) {
    throw new CarveError(
      ErrorCodes.UNSUPPORTED_FORMAT,
      `unsupported journal format ${JSON.stringify(head.toString('latin1').trim())}`,
      { path, offset: 0 },
    );
  }
  if (file.length === headerBytes) return 'interrupted';
  if (nextRecordAfter(file, headerBytes - 1) !== undefined) {
    throw new CarveError(ErrorCodes.CORRUPT, 'journal header is damaged, but journal records follow it', { path, offset: 0 });
  }
  throw new CarveError(ErrorCodes.FOREIGN_FILE, 'not a Carve journal (no journal header)', { path, offset: 0 });
}

/** True when the 16 bytes of an interrupted creation are all zeros (safe to write the header over). */
export function isZeroHeader(bytes: Uint8Array): boolean {
  return bytes.length === headerBytes && bytes.every((b) => b === 0);
}
