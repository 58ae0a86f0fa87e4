/**
 * CRC32C (Castagnoli) over any Uint8Array view, including views of SharedArrayBuffers, through
 * @node-rs/crc32's hardware-accelerated implementation. `previous` continues a running CRC, so
 * crc32cOf(b, crc32cOf(a)) equals the CRC of a followed by b.
 */
import { crc32c } from '@node-rs/crc32';

export function crc32cOf(bytes: Uint8Array, previous = 0): number {
  return crc32c(bytes, previous) >>> 0;
}
