/**
 * Benchmark: durable appends per second to one shared file from 1, 4 and 16 OS processes.
 *
 *   journal        JournalWriter (src/journal): framed, hash-chained blocks, one O_APPEND write
 *                  and one fdatasync per block, acknowledged after the sync.
 *   bare-sync      the floor: O_APPEND writeSync of the payload, fdatasyncSync, repeat.
 *   bare-async     the same loop with node:fs/promises (what an async Node program does).
 *   bare-group     bare group commit with fs/promises: what is queued goes out with one write
 *                  and one fdatasync.
 *
 * Each process runs `--lanes` appends at a time (default 1, then 8). With 1 lane the journal
 * is compared with both bare loops (which is faster depends on the machine); with 8 lanes its
 * group commit is compared with bare-group, the fair peer. Every set of processes is started
 * and has its file open before the first "go"; in each trial one set appends for `--seconds` and reports the appends acknowledged (durable) in that window.
 * Trials rotate between the journal and its peers (noise on a shared machine hits all), and
 * the median is reported; on each peer's row, journal / that peer at the same process and lane
 * count.
 *
 *   node --import tsx bench/journal.ts [--seconds 2] [--trials 3] [--entry-bytes 100]
 *                                      [--processes 1,4,16] [--lanes 1,8] [--dir DIR] [--json]
 *
 * Written without top-level await or import.meta, so it runs whether bench/ is ESM or CommonJS.
 * Not part of npm test. The numbers are only as good as the disk under --dir (default: the OS
 * temp directory); a tmpfs makes fdatasync free and the comparison meaningless.
 */
import { spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { JournalWriter } from '../src/journal/writer.js';
import { NodeStorage } from '../src/storage/node.js';

type Mode = 'journal' | 'bare-sync' | 'bare-async' | 'bare-group';

interface Options {
  seconds: number;
  trials: number;
  entryBytes: number;
  dir: string | undefined;
  json: boolean;
  processes: number[];
  lanes: number[];
}

interface Row {
  mode: Mode;
  processes: number;
  lanes: number;
  /** Median over the trials. */
  appendsPerSecond: number;
  trials: number[];
}

const fileName = 'bench.journal';

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { seconds: 2, trials: 3, entryBytes: 100, dir: undefined, json: false, processes: [1, 4, 16], lanes: [1, 8] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    const list = () => value().split(',').map(Number);
    if (arg === '--seconds') options.seconds = Number(value());
    else if (arg === '--trials') options.trials = Number(value());
    else if (arg === '--entry-bytes') options.entryBytes = Number(value());
    else if (arg === '--dir') options.dir = value();
    else if (arg === '--processes') options.processes = list();
    else if (arg === '--lanes') options.lanes = list();
    else if (arg === '--json') options.json = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  const valid = (n: number) => Number.isFinite(n) && n > 0;
  if (!valid(options.seconds) || !Number.isInteger(options.trials) || options.trials < 1 || !Number.isInteger(options.entryBytes) || options.entryBytes < 1 || ![...options.processes, ...options.lanes].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error('--seconds must be positive; --trials, --entry-bytes, --processes and --lanes positive integers');
  }
  return options;
}

// ---- child: one appending process ----

async function child(mode: Mode, dir: string, lanes: number, entryBytes: number): Promise<void> {
  const payload = Buffer.alloc(entryBytes, 0x61);
  const append = await appender(mode, dir, payload);
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line === 'quit') break;
    const durationMs = Number(line.split(' ')[1]);
    const start = performance.now();
    const deadline = start + durationMs;
    let acknowledged = 0;
    const lane = async () => {
      while (performance.now() < deadline) {
        await append.one();
        if (performance.now() <= deadline) acknowledged += 1;
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    process.stdout.write(`done ${acknowledged}\n`);
  }
  await append.close();
}

async function appender(mode: Mode, dir: string, payload: Buffer): Promise<{ one: () => Promise<void>; close: () => Promise<void> }> {
  if (mode === 'journal') {
    const writer = await JournalWriter.open(await NodeStorage.open(dir), fileName, { name: `bench${process.pid}` });
    return { one: async () => void (await writer.append(payload)), close: () => writer.close() };
  }
  if (mode === 'bare-async') {
    const handle = await open(join(dir, fileName), 'a');
    return {
      one: async () => {
        await handle.write(payload);
        await handle.datasync();
      },
      close: () => handle.close(),
    };
  }
  if (mode === 'bare-sync') {
    // A synchronous O_APPEND write and fdatasync per append (lanes make no difference).
    const fd = openSync(join(dir, fileName), 'a');
    return {
      one: async () => {
        writeSync(fd, payload);
        fdatasyncSync(fd);
      },
      close: async () => closeSync(fd),
    };
  }
  // bare-group: what is queued while a sync runs goes out with one write and one fdatasync.
  const handle = await open(join(dir, fileName), 'a');
  let queue: Array<() => void> = [];
  let flushing = false;
  const flush = async () => {
    flushing = true;
    while (queue.length > 0) {
      const group = queue;
      queue = [];
      await handle.write(Buffer.concat(group.map(() => payload)));
      await handle.datasync();
      for (const done of group) done();
    }
    flushing = false;
  };
  return {
    one: () =>
      new Promise<void>((done) => {
        queue.push(done);
        if (!flushing) void flush();
      }),
    close: () => handle.close(),
  };
}

// ---- parent: runs every configuration ----

/** P processes of one mode, started, their files open, waiting for "go". */
interface ProcessSet {
  readonly ready: Promise<void>;
  /** Every process appends for durationMs; resolves with their acknowledged counts. */
  go(durationMs: number): Promise<number[]>;
  quit(): Promise<void>;
}

function startSet(script: string, mode: Mode, processes: number, lanes: number, entryBytes: number, dir: string): ProcessSet {
  const children = Array.from({ length: processes }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--child', mode, dir, String(lanes), String(entryBytes)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout });
    const waiting: Array<(line: string) => void> = [];
    lines.on('line', (line) => waiting.shift()?.(line));
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    const next = () =>
      new Promise<string>((done, fail) => {
        waiting.push(done);
        void exited.then(() => fail(new Error(`a ${mode} process exited early`)));
      });
    return { child, next, exited };
  });
  const ready = Promise.all(children.map(({ next }) => next())).then(() => undefined);
  return {
    ready,
    async go(durationMs) {
      const results = children.map(({ next }) => next());
      for (const { child } of children) child.stdin.write(`go ${durationMs}\n`);
      return (await Promise.all(results)).map((line) => Number(/^done (\d+)$/.exec(line)?.[1] ?? Number.NaN));
    },
    async quit() {
      for (const { child } of children) child.stdin.end('quit\n');
      await Promise.all(children.map(({ exited }) => exited));
    },
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The journal and its peers at one process and lane count, in trials that rotate which set goes first. */
async function runPair(script: string, processes: number, lanes: number, options: Options, root: string): Promise<Row[]> {
  const modes: Mode[] = lanes === 1 ? ['journal', 'bare-sync', 'bare-async'] : ['journal', 'bare-group'];
  const sets = modes.map((mode) => startSet(script, mode, processes, lanes, options.entryBytes, mkdtempSync(join(root, `${mode}-${processes}-`))));
  try {
    await Promise.all(sets.map((set) => set.ready));
    const perSecond: number[][] = modes.map(() => []);
    for (let trial = 0; trial < options.trials; trial++) {
      for (const index of modes.map((_, i) => (i + trial) % modes.length)) {
        const counts = await sets[index]!.go(options.seconds * 1000);
        perSecond[index]!.push(counts.reduce((sum, count) => sum + count, 0) / options.seconds);
      }
    }
    return modes.map((mode, index) => ({ mode, processes, lanes, appendsPerSecond: median(perSecond[index]!), trials: perSecond[index]! }));
  } finally {
    await Promise.all(sets.map((set) => set.quit()));
  }
}

async function parent(options: Options): Promise<void> {
  const script = resolve(process.argv[1] ?? 'bench/journal.ts');
  const root = mkdtempSync(join(options.dir ?? tmpdir(), 'carve-bench-journal-'));
  const rows: Row[] = [];
  try {
    for (const lanes of options.lanes) {
      for (const processes of options.processes) {
        if (!options.json) process.stderr.write(`running ${processes} process(es), ${lanes} lane(s), ${options.trials} trials...\n`);
        rows.push(...(await runPair(script, processes, lanes, options, root)));
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  /** On a peer's row: journal / peer at the same process and lane count. */
  const ratioOf = (row: Row) => {
    if (row.mode === 'journal') return undefined;
    const journal = rows.find((r) => r.mode === 'journal' && r.processes === row.processes && r.lanes === row.lanes);
    return journal === undefined || row.appendsPerSecond === 0 ? undefined : journal.appendsPerSecond / row.appendsPerSecond;
  };
  const fsType = (() => {
    try {
      return `0x${statfsSync(options.dir ?? tmpdir()).type.toString(16)}`;
    } catch {
      return 'unknown';
    }
  })();
  if (options.json) {
    console.log(JSON.stringify({ seconds: options.seconds, trials: options.trials, entryBytes: options.entryBytes, dir: options.dir ?? tmpdir(), fsType, rows: rows.map((row) => ({ ...row, journalToThis: ratioOf(row) ?? null })) }, null, 2));
    return;
  }
  console.log(`durable appends/s (median of ${options.trials} alternating trials of ${options.seconds} s), ${options.entryBytes}-byte entries, in ${options.dir ?? tmpdir()} (statfs type ${fsType})`);
  console.log(['mode'.padEnd(11), 'processes'.padStart(9), 'lanes'.padStart(5), 'appends/s'.padStart(10), 'journal/this'.padStart(13), '  trials'].join('  '));
  for (const row of rows) {
    const ratio = ratioOf(row);
    console.log(
      [
        row.mode.padEnd(11),
        String(row.processes).padStart(9),
        String(row.lanes).padStart(5),
        row.appendsPerSecond.toFixed(0).padStart(10),
        (ratio === undefined ? '' : `${ratio.toFixed(2)}x`).padStart(13),
        `  ${row.trials.map((value) => value.toFixed(0)).join(' ')}`,
      ].join('  '),
    );
  }
}

function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === '--child') {
    const [, mode, dir, lanes, entryBytes] = argv;
    return child(mode as Mode, dir!, Number(lanes), Number(entryBytes));
  }
  return parent(parseArgs(argv));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
