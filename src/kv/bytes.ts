/**
 * Byte helpers for the store. Keys and values are held in memory as latin1 strings (one char per
 * byte): JavaScript's string order is then exactly the bytewise order of the keys, comparisons are
 * fast, strings are immutable (no caller can change a stored value), and each costs less memory
 * than a Buffer object. Converting either way copies.
 */
export function bytesToLatin1(bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString('latin1');
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

