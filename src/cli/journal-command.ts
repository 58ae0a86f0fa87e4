/**
 * `carve journal append|read|tail|verify`: the shared journal from the shell. The journal is
 * `--journal FILE`, or `carve.journal` in `--dir DIR`. `append` prints one line per entry once
 * it is durable; `read` and `tail` print entries (block, writer#seq, data as quoted text or
 * base64) or `--json`; `verify` exits 0 when the journal verifies and 1 when it does not (or is
 * not a journal), naming the first bad entry by offset, writer and seq. Torn writes of crashes
 * are reported as set aside, on stderr for read/tail. Bad input exits 2 with a typed error.
 */
import { basename, dirname, join } from 'node:path';
import { Command } from 'commander';
import { CarveError, ErrorCodes, isCarveError } from '../errors.js';
import type { JournalAnalysis, JournalEntry, SetAside } from '../journal/analyze.js';
import { nameOf } from '../journal/findings.js';
import { analyzeJournal, readJournal } from '../journal/reader.js';
import { JournalWriter } from '../journal/writer.js';
import { NodeStorage } from '../storage/node.js';
import { parsePositiveInteger } from './parse.js';

const defaultJournalName = 'carve.journal';

interface Location {
  journal?: string;
  dir?: string;
}

interface Printing {
  json?: boolean;
  base64?: boolean;
}

export function journalCommand(): Command {
  const command = new Command('journal').description(
    'a journal many processes append to at once: durable, hash-chained, verifiable',
  );
  const located = (sub: Command) =>
    sub
      .option('-j, --journal <file>', 'the journal file')
      .option('-d, --dir <dir>', `a directory holding the journal as ${defaultJournalName}`);

  command.addCommand(
    located(new Command('append'))
      .description('append each argument (or each line of stdin) as one entry; prints each once it is durable')
      .argument('[data...]', 'entries, as text (or base64 with --base64)')
      .option('-w, --writer <name>', "this writer's name; its id is <name>-<8 hex>, new for every run", 'cli')
      .option('--stdin', 'read entries from stdin, one per line')
      .option('--base64', 'entries are base64')
      .option('--json', 'print one JSON object per acknowledged entry')
      .action(async (data: string[], options: Location & Printing & { writer: string; stdin?: boolean }) => {
        await appendEntries(data, options);
      }),
  );
  command.addCommand(
    located(new Command('read'))
      .description('print every entry in file order')
      .option('--base64', 'print data as base64')
      .option('--json', 'print a JSON array')
      .action(async (options: Location & Printing) => {
        const place = await openLocation(options, false);
        const read = await naming(place, () => readJournal(place.storage, place.path));
        printEntries(read.entries, options);
        reportSetAside(read.setAside);
      }),
  );
  command.addCommand(
    located(new Command('tail'))
      .description('print the last entries; with --follow, keep printing new ones')
      .option('-n, --lines <n>', 'how many entries', parsePositiveInteger, 10)
      .option('-f, --follow', 'keep watching for new entries')
      .option('--interval-ms <ms>', 'how often to look for new entries with --follow', parsePositiveInteger, 500)
      .option('--base64', 'print data as base64')
      .option('--json', 'print one JSON object per line')
      .action(async (options: Location & Printing & { lines: number; follow?: boolean; intervalMs: number }) => {
        await tail(options);
      }),
  );
  command.addCommand(
    located(new Command('verify'))
      .description('check every checksum, chain and sealed frontier; exit 0 if the journal verifies, 1 if not')
      .option('--json', 'print the report as JSON')
      .action(async (options: Location & Printing) => {
        await verify(options);
      }),
  );
  return command;
}

async function openLocation(location: Location, create: boolean): Promise<{ storage: NodeStorage; path: string; file: string }> {
  if ((location.journal === undefined) === (location.dir === undefined)) {
    throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'give exactly one of --journal FILE and --dir DIR');
  }
  const file = location.journal ?? join(location.dir!, defaultJournalName);
  const storage = await NodeStorage.open(dirname(file), { create: create && location.dir !== undefined });
  return { storage, path: basename(file), file };
}

/** Errors about the journal name the file as the user gave it, not its storage-relative name. */
async function naming<T>(place: { path: string; file: string }, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof CarveError && error.path === place.path) {
      throw new CarveError(error.code, error.detail, {
        path: place.file,
        ...(error.offset === undefined ? {} : { offset: error.offset }),
        cause: error,
      });
    }
    throw error;
  }
}

async function appendEntries(args: string[], options: Location & Printing & { writer: string; stdin?: boolean }): Promise<void> {
  const texts = options.stdin === true ? [...args, ...(await stdinLines())] : args;
  if (texts.length === 0) throw new CarveError(ErrorCodes.INVALID_ARGUMENT, 'nothing to append: give entries as arguments or use --stdin');
  const entries = texts.map((text) => decodeInput(text, options.base64 === true));
  const place = await openLocation(options, true);
  const writer = await naming(place, () => JournalWriter.open(place.storage, place.path, { name: options.writer }));
  try {
    // All at once: they share blocks and syncs (group commit); each line prints once durable.
    await naming(place, () => Promise.all(
      entries.map(async (data) => {
        const ack = await writer.append(data);
        console.log(
          options.json === true
            ? JSON.stringify(ack)
            : `appended ${ack.writer} #${ack.seq} (its block ${ack.writerBlock}, offset ${ack.offset})`,
        );
      }),
    ));
  } finally {
    await writer.close();
  }
}

async function tail(options: Location & Printing & { lines: number; follow?: boolean; intervalMs: number }): Promise<void> {
  const place = await openLocation(options, false);
  const read = () => naming(place, () => readJournal(place.storage, place.path));
  const seen = new Set<string>();
  const printNew = (entries: readonly JournalEntry[], limit: number) => {
    const fresh = entries.filter((entry) => !seen.has(`${entry.writer} ${entry.seq}`));
    for (const entry of fresh) seen.add(`${entry.writer} ${entry.seq}`);
    printEntries(fresh.slice(Math.max(0, fresh.length - limit)), { ...options, json: false }, options.json === true);
  };
  const first = await read();
  printNew(first.entries, options.lines);
  reportSetAside(first.setAside);
  while (options.follow === true) {
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
    printNew((await read()).entries, Number.POSITIVE_INFINITY);
  }
}

async function verify(options: Location & Printing): Promise<void> {
  const place = await openLocation(options, false);
  const path = place.file;
  let analysis: JournalAnalysis;
  try {
    analysis = await naming(place, () => analyzeJournal(place.storage, place.path));
  } catch (error) {
    const notAJournal = [ErrorCodes.FOREIGN_FILE, ErrorCodes.CORRUPT, ErrorCodes.TRUNCATED, ErrorCodes.UNSUPPORTED_FORMAT];
    if (!(error instanceof CarveError) || !notAJournal.some((code) => isCarveError(error, code))) throw error;
    process.exitCode = 1;
    if (options.json === true) console.log(JSON.stringify({ ok: false, path, error: { code: error.code, offset: error.offset ?? null, detail: error.detail } }, null, 2));
    else console.log(`FAILED: ${error.message}`);
    return;
  }
  const ok = analysis.problems.length === 0 && analysis.header !== 'interrupted';
  process.exitCode = ok ? 0 : 1;
  if (options.json === true) {
    console.log(JSON.stringify(verifyJson({ ...analysis, path }, ok), null, 2));
    return;
  }
  const summary = `${analysis.entries.length} entries in ${analysis.blocks.length} blocks from ${analysis.writers.length} writers, ${analysis.sizeBytes} bytes`;
  const first = analysis.problems[0];
  if (first !== undefined) {
    console.log(`CORRUPT: ${path}: first bad entry at offset ${first.offset} (${nameOf(first)}): ${first.kind}: ${first.detail}`);
    for (const problem of analysis.problems.slice(1, 10)) {
      console.log(`  also at offset ${problem.offset} (${nameOf(problem)}): ${problem.kind}: ${problem.detail}`);
    }
    if (analysis.problems.length > 10) console.log(`  … and ${analysis.problems.length - 10} more`);
  } else if (analysis.header === 'interrupted') {
    console.log(`FAILED: ${path}: ${analysis.setAside[0]?.detail ?? 'journal creation was interrupted'}`);
  } else {
    console.log(`ok: ${path}: ${summary}`);
  }
  for (const region of analysis.setAside) console.log(`  set aside: ${describeSetAside(region)}`);
}

function verifyJson(analysis: JournalAnalysis, ok: boolean): Record<string, unknown> {
  const problem = (p: JournalAnalysis['problems'][number]) => ({
    kind: p.kind,
    offset: p.offset,
    writer: p.writer ?? null,
    seq: p.seq ?? null,
    writerIsClaimed: p.claimed === true,
    detail: p.detail,
  });
  return {
    ok,
    path: analysis.path,
    sizeBytes: analysis.sizeBytes,
    header: analysis.header,
    entries: analysis.entries.length,
    blocks: analysis.blocks.length,
    writers: analysis.writers,
    firstBadEntry: analysis.problems[0] === undefined ? null : problem(analysis.problems[0]),
    problems: analysis.problems.map(problem),
    setAside: analysis.setAside.map((region) => ({ ...region, lengthBytes: region.endOffset - region.offset })),
  };
}

function printEntries(entries: readonly JournalEntry[], options: Printing, jsonLines = false): void {
  if (options.json === true) {
    console.log(JSON.stringify(entries.map(entryJson), null, 2));
    return;
  }
  for (const entry of entries) {
    if (jsonLines) {
      console.log(JSON.stringify(entryJson(entry)));
      continue;
    }
    const text = options.base64 === true ? undefined : asText(entry.data);
    const shown = text === undefined ? `base64:${Buffer.from(entry.data).toString('base64')}` : JSON.stringify(text);
    console.log(`block ${entry.block}  ${entry.writer} #${entry.seq}  ${shown}`);
  }
}

function entryJson(entry: JournalEntry): Record<string, unknown> {
  const text = asText(entry.data);
  return {
    offset: entry.offset,
    writer: entry.writer,
    seq: entry.seq,
    block: entry.block,
    writerBlock: entry.writerBlock,
    ...(text === undefined ? {} : { text }),
    base64: Buffer.from(entry.data).toString('base64'),
  };
}

function reportSetAside(regions: readonly SetAside[]): void {
  for (const region of regions) console.error(`carve: set aside: ${describeSetAside(region)}`);
}

function describeSetAside(region: SetAside): string {
  const where = region.atEnd ? 'torn tail' : 'torn write';
  return `${where} at offset ${region.offset} (${region.endOffset - region.offset} bytes): ${region.detail}`;
}

function asText(data: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return undefined;
  }
}

function decodeInput(text: string, isBase64: boolean): Uint8Array {
  if (!isBase64) return new TextEncoder().encode(text);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `not base64: ${JSON.stringify(text.slice(0, 40))}`);
  }
  return Buffer.from(text, 'base64');
}

async function stdinLines(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  const input = Buffer.concat(chunks).toString('utf8');
  const lines = input.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
