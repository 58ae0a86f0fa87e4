/**
 * Byte helpers for the store. Keys and values are held in memory as latin1 strings (one char per
 * byte): JavaScript's string order is then exactly the bytewise order of the keys, comparisons are
 * fast, strings are immutable (no caller can change a stored value), and each costs less memory
 * than a Buffer object. Converting either way copies.
 */
/**
 * Buffer's own latin1 codec (what `toString('latin1')` and `write(text, offset, 'latin1')` end
 * in), called directly: on the commit path, the public wrappers' argument handling cost more
 * than converting a 16-byte key.
 */
type Latin1Codec = Buffer & {
  latin1Slice(start: number, end: number): string;
  latin1Write(text: string, offset: number): number;
};

export function bytesToLatin1(bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return latin1Slice(buffer, 0, buffer.length);
}

/** The bytes buffer[start, end) as a latin1 string. */
export function latin1Slice(buffer: Buffer, start: number, end: number): string {
  return (buffer as Latin1Codec).latin1Slice(start, end);
}

/**
 * Texts up to this many chars are copied by a loop: the native call costs more for short ones.
 * With 16 B keys looped and 100 B values copied natively, framing a group (commit-encoding.ts,
 * CRC32C included) went from about 188 to 157 ns per commit. 48 is not tuned: it sits between
 * the two sizes measured.
 */
const loopedTextChars = 48;

/**
 * Writes text's chars as bytes at offset; returns text.length. The caller has checked that they
 * fit: past the end of the buffer, a short text's bytes would be dropped, not an error.
 */
export function latin1Write(buffer: Buffer, text: string, offset: number): number {
  const length = text.length;
  if (length > loopedTextChars) return (buffer as Latin1Codec).latin1Write(text, offset);
  for (let i = 0; i < length; i++) buffer[offset + i] = text.charCodeAt(i);
  return length;
}

export function latin1ToBytes(key: string): Uint8Array {
  return Buffer.from(key, 'latin1');
}

export function concatBytes(parts: readonly Uint8Array[], totalBytes?: number): Uint8Array {
  const size = totalBytes ?? parts.reduce((sum, part) => sum + part.length, 0);
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

