/**
 * The first check on any store file: it must begin with the format's magic (else it is foreign,
 * E_FOREIGN_FILE) and be at least as long as its header (else it is truncated, E_CORRUPT).
 * Returns the bytes as a Buffer view for reading fields.
 */
import { CarveError, ErrorCodes } from '../errors.js';

export function checkFileStart(bytes: Uint8Array, magic: string, headerBytes: number, kind: string, path: string): Buffer {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = view.toString('latin1', 0, Math.min(magic.length, view.length));
  if (view.length === 0 || start !== magic.slice(0, start.length)) {
    throw new CarveError(ErrorCodes.FOREIGN_FILE, `not a Carve ${kind} (bad magic)`, { path, offset: 0 });
  }
  if (view.length < headerBytes) {
    throw new CarveError(ErrorCodes.CORRUPT, `${kind} is ${view.length} B, shorter than its header`, { path, offset: view.length });
  }
  return view;
}
