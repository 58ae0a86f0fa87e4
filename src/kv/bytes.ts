/**
 * Byte helpers for the store. Keys are held in memory as latin1 strings (one char per byte), so
 * JavaScript's string order is exactly the bytewise order of the keys, and comparisons are fast.
 */
export function keyToString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

export function stringToKey(key: string): Uint8Array {
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

/**
 * A copy that shares no memory with its source. (Buffer.prototype.slice does not copy: it is
 * subarray under another name, so it cannot serve here.)
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}
