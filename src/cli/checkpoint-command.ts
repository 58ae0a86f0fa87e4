/**
 * `carve checkpoint inspect FILE`: verifies a checkpoint file completely (size, header, footer
 * commit marker, checksum table, every page's CRC32C) and prints what it holds, or the first
 * problem with its code and byte offset. Exit status: 0 for a complete checkpoint, 1 for a
 * file that is not one (truncated, corrupt, foreign, unsupported version), 2 for bad input
 * (missing file, unreadable path). `--json` prints one object instead.
 */
import * as nodePath from 'node:path';
import { Command } from 'commander';
import { verifyCheckpoint } from '../checkpoint/load.js';
import { CarveError, ErrorCodes, type ErrorCode } from '../errors.js';
import { NodeStorage } from '../storage/node.js';

/** Codes that mean "this file is not a complete checkpoint", as opposed to bad input. */
const verdictCodes = new Set<ErrorCode>([ErrorCodes.TRUNCATED, ErrorCodes.CORRUPT, ErrorCodes.FOREIGN_FILE, ErrorCodes.UNSUPPORTED_FORMAT]);

export function checkpointCommand(): Command {
  const command = new Command('checkpoint').description('inspect copy-on-write checkpoint files');
  command
    .command('inspect')
    .description('verify a checkpoint file completely and show its header')
    .argument('<file>', 'the checkpoint file')
    .option('--json', 'print one JSON object')
    .action(async (file: string, options: { json?: boolean }) => inspect(file, options.json === true));
  return command;
}

async function inspect(file: string, json: boolean): Promise<void> {
  const absolute = nodePath.resolve(file);
  const storage = await NodeStorage.open(nodePath.dirname(absolute));
  const name = nodePath.basename(absolute);
  try {
    const info = await verifyCheckpoint(storage, name);
    if (json) {
      console.log(JSON.stringify({ file, complete: true, ...info, stateBytes: info.pageBytes * info.pageCount, path: undefined }));
      return;
    }
    console.log(`${file}: a complete checkpoint`);
    console.log(`  sequence     ${info.sequence}`);
    console.log(`  pages        ${info.pageCount} × ${info.pageBytes} B (${info.pageCount * info.pageBytes} B of state)`);
    console.log(`  file size    ${info.sizeBytes} B`);
    console.log(`  verified     header and footer checksums, commit marker, checksum table, CRC32C of all ${info.pageCount} pages`);
  } catch (error) {
    if (!(error instanceof CarveError) || !verdictCodes.has(error.code)) throw error;
    process.exitCode = 1;
    if (json) {
      console.log(JSON.stringify({ file, complete: false, code: error.code, detail: error.detail, offset: error.offset ?? null }));
      return;
    }
    console.log(`${file}: not a complete checkpoint`);
    console.log(`  ${error.code} at byte ${error.offset ?? '?'}: ${error.detail}`);
  }
}
