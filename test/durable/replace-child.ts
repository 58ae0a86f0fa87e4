/**
 * Child process for replace-sigkill.test.ts. Usage: replace-child.ts <dir> <firstVersion>
 * Opens a NodeStorage on <dir> and loops forever: replaceFileAtomically('target', contentFor(i))
 * for i = firstVersion, firstVersion + 1, ..., writing "acked <i>\n" to stdout (synchronously,
 * writeLineSync on fd 1) after each replace resolves. It only stops when the parent kills it.
 *
 * contentFor is exported so the parent can rebuild the exact bytes of any version.
 */
import { writeLineSync } from '../support/write-line.js';
import { pathToFileURL } from 'node:url';
import { replaceFileAtomically } from '../../src/durable/replace.js';
import { NodeStorage } from '../../src/storage/node.js';

export const targetName = 'target';

const minBodyBytes = 256 * 1024;
const bodySpreadBytes = 768 * 1024;

/** The header line that starts every version: parsed back by the parent. */
export function headerFor(version: number, lengthBytes: number): string {
  return `version=${version} length=${lengthBytes}\n`;
}

/**
 * Version i: a header line, then a body of 256 KiB to 1 MiB whose byte k is (i*131 + k*7) & 0xff.
 * Two different versions differ in every body byte at the same offset (131 is odd, so consecutive
 * versions never coincide), so any mix of two versions is detected by an exact comparison.
 */
export function contentFor(version: number): Uint8Array {
  const bodyBytes = minBodyBytes + ((version * 2654435761) % bodySpreadBytes);
  // The header names the total length; its own length depends on that number's digits.
  let total = bodyBytes;
  for (let guess = 0; guess < 3; guess += 1) total = headerFor(version, total).length + bodyBytes;
  const header = new TextEncoder().encode(headerFor(version, total));
  const data = new Uint8Array(total);
  data.set(header, 0);
  const base = (version * 131) & 0xff;
  for (let k = 0; k < bodyBytes; k += 1) data[header.length + k] = (base + k * 7) & 0xff;
  return data;
}

/** Parses the header of a file's bytes; undefined when there is no valid header. */
export function parseHeader(data: Uint8Array): { version: number; lengthBytes: number } | undefined {
  const newline = data.subarray(0, 64).indexOf(0x0a);
  if (newline < 0) return undefined;
  const match = /^version=(\d+) length=(\d+)$/.exec(new TextDecoder().decode(data.subarray(0, newline)));
  if (match === null) return undefined;
  return { version: Number(match[1]), lengthBytes: Number(match[2]) };
}

async function main(): Promise<void> {
  const [dir, first] = process.argv.slice(2);
  if (dir === undefined || first === undefined) throw new Error('usage: replace-child.ts <dir> <firstVersion>');
  const storage = await NodeStorage.open(dir);
  for (let version = Number(first); ; version += 1) {
    await replaceFileAtomically(storage, targetName, contentFor(version));
    writeLineSync(1, `acked ${version}`);
  }
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  main().catch((error: unknown) => {
    writeLineSync(2, `replace-child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  });
}
