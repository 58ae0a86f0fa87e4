/**
 * Benchmark: durable commits per second of KvStore against the disk's ceiling and three peers,
 * at 1, 64 and 256 concurrent writers (GitHub issue #3, item 9); then point reads, range scans
 * and resident memory with 1M keys.
 *
 * Commits. Every commit is one put of a 16-byte key and a 100-byte value, acknowledged only
 * once durable (see bench/kv-engines.ts for what that means per engine). `clients` writers run
 * in this process, each looping "put, await, next key" with keys drawn from a pool of random
 * 16-byte keys. A run opens the engine in a fresh temp directory on the real disk, lets the
 * writers go for `--warmup` seconds, counts the commits that complete in the next `--seconds`
 * seconds (commits/s = commits in the window ÷ the window), stops the writers and closes the
 * engine; the directories are deleted at the end of the whole run. Runs are interleaved: every
 * repetition goes through every concurrency and, inside it, every engine, in an order rotated
 * from one (repetition, concurrency) to the next and reversed in every other repetition, so slow
 * phases of the disk hit all engines alike and no engine always runs right after the same one
 * (rotation alone kept each engine's neighbours: carve always ran after lmdb, the ceiling after
 * carve). Each figure is the median over `--reps` repetitions. Carve comes from dist/ when it is
 * up to date, else from src/ (bench/kv-carve.ts explains why it matters).
 *
 * Memory and reads (skipped with --json, whose output holds commit figures only). Child
 * processes (bench/kv-memory.ts) load `--keys` keys into a KvStore in batches of 10,000 puts,
 * then report the growth of RSS, V8 heap and ArrayBuffer memory, point reads/s (random existing
 * keys), full-scan rows/s and short-scan rows/s (100 rows from a random key); a second child
 * reopens the store (recovery from its data file) and reports its memory; a third does the same
 * load and reads on lmdb-js for context.
 *
 * Usage: npm run bench:kv [-- --json] [--clients 1,64,256] [--engines carve,ceiling,ceiling-prealloc-dsync,sqlite,level,lmdb]
 *        [--reps 5] [--seconds 1.5] [--warmup 0.5] [--keys 1000000] [--no-memory] [--memory-only]
 *        [--dir PATH] [--carve-from auto|dist|src]
 * Profiling variants (never by default): --engines carve-none, carve-log,
 * ceiling-dsync, ceiling-prealloc (bench/kv-engines.ts). Results, setup
 * and findings: bench/README.md, section bench:kv.
 * With --json, stdout holds exactly {"results":[{"clients":1,"carve":N,...},...]} and nothing else
 * (use `npm run -s` so that npm does not print its own banner on stdout); progress goes to stderr.
 * The peers come from bench/node_modules: run `npm run bench:setup` once.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, statfs } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CarveFrom, chooseCarve, loadCarve } from './kv-carve.js';
import { type CommitEngine, type EngineName, checkEngineAvailable, engineNames, experimentalEngineNames, openEngine, useCarve } from './kv-engines.js';
import type { MemoryReport } from './kv-memory.js';
import { PeersMissingError, peerVersion } from './kv-peers.js';

interface Options {
  json: boolean;
  clients: number[];
  engines: EngineName[];
  reps: number;
  seconds: number;
  warmup: number;
  keys: number;
  memory: boolean;
  commits: boolean;
  dir: string | undefined;
  carveFrom: CarveFrom;
}

interface Run {
  commitsPerSecond: number;
  /** Average commits per group (write + sync) in the window, where the engine tells. */
  groupSize: number | undefined;
  /** Process CPU time (all threads, user + system) per commit in the window, in µs. */
  cpuMicrosPerCommit: number;
}

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoDir = dirname(benchDir);
const keyBytes = 16;
const valueBytes = 100;
const keyPoolSize = 1 << 20;

function usage(message: string): never {
  process.stderr.write(`bench/kv: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    json: false,
    clients: [1, 64, 256],
    engines: [...engineNames],
    reps: 5,
    seconds: 1.5,
    warmup: 0.5,
    keys: 1_000_000,
    memory: true,
    commits: true,
    dir: undefined,
    carveFrom: 'auto',
  };
  const number = (flag: string, text: string | undefined, min: number): number => {
    const value = Number(text);
    if (text === undefined || !Number.isFinite(value) || value < min) usage(`${flag} needs a number ≥ ${min}`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--json':
        options.json = true;
        break;
      case '--clients':
        options.clients = (value() ?? '').split(',').map((part) => number('--clients', part, 1));
        if (options.clients.some((c) => !Number.isInteger(c))) usage('--clients takes whole numbers');
        break;
      case '--engines': {
        const names = (value() ?? '').split(',').filter((name) => name !== '');
        const known: readonly string[] = [...engineNames, ...experimentalEngineNames];
        for (const name of names) if (!known.includes(name)) usage(`unknown engine '${name}' (${known.join(', ')})`);
        if (names.length === 0) usage('--engines needs at least one engine');
        options.engines = [...engineNames, ...experimentalEngineNames].filter((name) => names.includes(name));
        break;
      }
      case '--reps':
        options.reps = Math.round(number('--reps', value(), 1));
        break;
      case '--seconds':
        options.seconds = number('--seconds', value(), 0.1);
        break;
      case '--warmup':
        options.warmup = number('--warmup', value(), 0);
        break;
      case '--keys':
        options.keys = Math.round(number('--keys', value(), 1000));
        break;
      case '--no-memory':
        options.memory = false;
        break;
      case '--memory-only':
        options.commits = false;
        break;
      case '--dir':
        options.dir = value() ?? usage('--dir needs a path');
        break;
      case '--carve-from': {
        const from = value();
        if (from !== 'auto' && from !== 'dist' && from !== 'src') usage('--carve-from takes auto, dist or src');
        options.carveFrom = from;
        break;
      }
      case '--help':
      case '-h':
        process.stderr.write(
          'usage: npm run bench:kv [-- --json] [--clients 1,64,256] [--engines carve,ceiling,ceiling-prealloc-dsync,sqlite,level,lmdb]\n' +
            '       [--reps 5] [--seconds 1.5] [--warmup 0.5] [--keys 1000000] [--no-memory] [--memory-only] [--dir PATH]\n' +
            '       [--carve-from auto|dist|src]\n' +
            `experimental engines (never by default): ${experimentalEngineNames.join(', ')}\n`,
        );
        process.exit(0);
      default:
        usage(`unknown argument '${arg}'`);
    }
  }
  if (options.json && !options.commits) usage('--json reports commit figures only; it cannot go with --memory-only');
  if (options.json) options.memory = false;
  return options;
}

function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

const tmpfsMagic = 0x01021994;
const ramfsMagic = 0x858458f6;

/** A base directory on a real disk: --dir, else the OS temp dir unless it is in memory, else .carve-tmp/. */
async function chooseBaseDir(given: string | undefined): Promise<string> {
  if (given !== undefined) {
    await mkdir(given, { recursive: true });
    return resolve(given);
  }
  const candidate = tmpdir();
  const { type } = await statfs(candidate);
  if (type !== tmpfsMagic && type !== ramfsMagic) return candidate;
  const fallback = join(repoDir, '.carve-tmp');
  await mkdir(fallback, { recursive: true });
  progress(`bench/kv: ${candidate} is in memory (tmpfs); using ${fallback} instead`);
  return fallback;
}

function makeKeyPool(): Buffer[] {
  const bytes = randomBytes(keyPoolSize * keyBytes);
  const keys: Buffer[] = new Array(keyPoolSize);
  for (let i = 0; i < keyPoolSize; i++) keys[i] = bytes.subarray(i * keyBytes, (i + 1) * keyBytes);
  return keys;
}

const values: Buffer[] = Array.from({ length: 8 }, () => randomBytes(valueBytes));

/** `global.gc` when node runs with --expose-gc (the npm script passes it). */
const collectGarbage = (globalThis as { gc?: () => void }).gc;

async function measure(engineName: EngineName, clients: number, options: Options, base: string, keys: Buffer[]): Promise<Run> {
  // Each run starts with the garbage of the runs before it collected, so that no engine pays in
  // its window for a full collection of another engine's heap (a store's index of half a
  // million keys becomes garbage when it closes).
  collectGarbage?.();
  const dir = await mkdtemp(join(base, `${engineName}-`));
  let engine: CommitEngine | undefined;
  try {
    engine = await openEngine(engineName, dir);
    const opened = engine;
    let next = 0;
    let done = 0;
    let phase: 'warmup' | 'window' | 'stopped' = 'warmup';
    let startCount = 0;
    let startTime = 0;
    let endCount = 0;
    let endTime = 0;
    let groupsAtStart = { groups: 0, commits: 0 };
    let groupsAtEnd = { groups: 0, commits: 0 };
    let cpuAtStart = process.cpuUsage();
    let cpuInWindow = { user: 0, system: 0 };
    const windowStart = performance.now() + options.warmup * 1000;
    const windowEnd = windowStart + options.seconds * 1000;
    // Writers read the clock after each commit themselves: better-sqlite3 never yields to the
    // event loop's timers between commits.
    const writer = async (): Promise<void> => {
      while (phase !== 'stopped') {
        const i = next++;
        await opened.put(keys[i & (keyPoolSize - 1)]!, values[i & 7]!);
        done++;
        const now = performance.now();
        if (phase === 'warmup' && now >= windowStart) {
          phase = 'window';
          startCount = done;
          startTime = now;
          groupsAtStart = opened.groups?.() ?? groupsAtStart;
          cpuAtStart = process.cpuUsage();
        } else if (phase === 'window' && now >= windowEnd) {
          phase = 'stopped';
          endCount = done;
          endTime = now;
          groupsAtEnd = opened.groups?.() ?? groupsAtEnd;
          cpuInWindow = process.cpuUsage(cpuAtStart);
        }
      }
    };
    const writers = Array.from({ length: clients }, () =>
      writer().catch((error: unknown) => {
        phase = 'stopped';
        throw error;
      }),
    );
    await Promise.all(writers);
    const commits = endCount - startCount;
    const groups = groupsAtEnd.groups - groupsAtStart.groups;
    return {
      commitsPerSecond: commits / ((endTime - startTime) / 1000),
      groupSize: opened.groups === undefined || groups === 0 ? undefined : (groupsAtEnd.commits - groupsAtStart.commits) / groups,
      cpuMicrosPerCommit: (cpuInWindow.user + cpuInWindow.system) / commits,
    };
  } finally {
    await engine?.close();
    // The directory stays until the whole run ends: deleting large files here would make the
    // file system discard their blocks while the next engine is being measured.
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The engines rotated by `step`, and reversed in odd repetitions, so that neighbours change too. */
function runOrder<T>(items: readonly T[], rep: number, step: number): T[] {
  const rotated = rotate(items, step);
  return rep % 2 === 1 ? rotated.reverse() : rotated;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

type Results = Map<number, Map<EngineName, Run[]>>;

async function runCommits(options: Options, base: string): Promise<Results> {
  const keys = makeKeyPool();
  const results: Results = new Map(options.clients.map((c) => [c, new Map(options.engines.map((e) => [e, [] as Run[]]))]));
  const total = options.reps * options.clients.length * options.engines.length;
  let step = 0;
  for (let rep = 0; rep < options.reps; rep++) {
    for (const [ci, clients] of options.clients.entries()) {
      for (const engine of runOrder(options.engines, rep, rep * options.clients.length + ci)) {
        step++;
        const run = await measure(engine, clients, options, base, keys);
        results.get(clients)!.get(engine)!.push(run);
        const group = run.groupSize === undefined ? '' : `, ${run.groupSize.toFixed(1)} commits/group`;
        progress(
          `[${step}/${total}] rep ${rep + 1} clients ${clients} ${engine}: ${formatRate(run.commitsPerSecond)} commits/s ` +
            `(${run.cpuMicrosPerCommit.toFixed(1)} µs CPU/commit${group})`,
        );
      }
    }
  }
  return results;
}

function medianRate(results: Results, clients: number, engine: EngineName): number {
  return Math.round(median(results.get(clients)!.get(engine)!.map((run) => run.commitsPerSecond)));
}

function jsonDocument(results: Results, options: Options): string {
  const rows = options.clients.map((clients) => {
    const row: Record<string, number> = { clients };
    for (const engine of options.engines) row[engine] = medianRate(results, clients, engine);
    return row;
  });
  return JSON.stringify({ results: rows });
}

function formatRate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function humanCommits(results: Results, options: Options): string {
  const out: string[] = [];
  const has = (engine: EngineName) => options.engines.includes(engine);
  const ratioColumns = [
    ...(has('carve') && has('ceiling') ? [['carve/ceiling', 'ceiling'] as const] : []),
    ...(has('carve') && has('ceiling-prealloc-dsync') ? [['carve/same-I/O ceiling', 'ceiling-prealloc-dsync'] as const] : []),
    ...(has('carve') && has('lmdb') ? [['carve/lmdb', 'lmdb'] as const] : []),
  ];
  out.push('Durable commits/s (median of the repetitions; 16 B keys, 100 B values, one put per commit)\n');
  out.push(
    table(
      ['clients', ...options.engines, ...ratioColumns.map(([label]) => label)],
      options.clients.map((clients) => [
        String(clients),
        ...options.engines.map((engine) => formatRate(medianRate(results, clients, engine))),
        ...ratioColumns.map(([, peer]) => `${(medianRate(results, clients, 'carve') / medianRate(results, clients, peer)).toFixed(2)}×`),
      ]),
    ),
  );
  if (ratioColumns.length > 0) {
    out.push('\nPaired ratios: median over the repetitions of the ratio within each repetition (engines of one');
    out.push('repetition and concurrency run back to back, so slow drifts of the disk cancel out):\n');
    out.push(
      table(
        ['clients', ...ratioColumns.map(([label]) => label)],
        options.clients.map((clients) => [
          String(clients),
          ...ratioColumns.map(([, peer]) => {
            const carveRuns = results.get(clients)!.get('carve')!;
            const peerRuns = results.get(clients)!.get(peer)!;
            return `${median(carveRuns.map((run, i) => run.commitsPerSecond / peerRuns[i]!.commitsPerSecond)).toFixed(2)}×`;
          }),
        ]),
      ),
    );
  }
  out.push('\nSpread over the repetitions (min–max commits/s):\n');
  out.push(
    table(
      ['clients', ...options.engines],
      options.clients.map((clients) => [
        String(clients),
        ...options.engines.map((engine) => {
          const rates = results.get(clients)!.get(engine)!.map((run) => run.commitsPerSecond);
          return `${formatRate(Math.min(...rates))}–${formatRate(Math.max(...rates))}`;
        }),
      ]),
    ),
  );
  const grouped = options.engines.filter((engine) => options.clients.some((c) => results.get(c)!.get(engine)!.some((run) => run.groupSize !== undefined)));
  if (grouped.length > 0) {
    out.push('\nCommits per group (one durable write: write + fdatasync, or one O_DSYNC write), median:\n');
    out.push(
      table(
        ['clients', ...grouped],
        options.clients.map((clients) => [
          String(clients),
          ...grouped.map((engine) => {
            const sizes = results.get(clients)!.get(engine)!.flatMap((run) => (run.groupSize === undefined ? [] : [run.groupSize]));
            return sizes.length === 0 ? '-' : median(sizes).toFixed(1);
          }),
        ]),
      ),
    );
  }
  out.push('\nProcess CPU time per commit, all threads (µs, median):\n');
  out.push(
    table(
      ['clients', ...options.engines],
      options.clients.map((clients) => [
        String(clients),
        ...options.engines.map((engine) => median(results.get(clients)!.get(engine)!.map((run) => run.cpuMicrosPerCommit)).toFixed(1)),
      ]),
    ),
  );
  if (has('carve') && (has('ceiling') || (has('lmdb') && options.clients.includes(64)))) {
    out.push('\nTargets (issue #3):');
    if (has('ceiling')) {
      const worst = Math.min(...options.clients.map((c) => medianRate(results, c, 'carve') / medianRate(results, c, 'ceiling')));
      out.push(`  carve ≥ 0.8× ceiling at every concurrency: ${worst >= 0.8 ? 'MET' : 'NOT MET'} (lowest ${worst.toFixed(2)}×)`);
    }
    if (has('lmdb') && options.clients.includes(64)) {
      const ratio = medianRate(results, 64, 'carve') / medianRate(results, 64, 'lmdb');
      out.push(`  carve ≥ 1.5× lmdb at 64 writers: ${ratio >= 1.5 ? 'MET' : 'NOT MET'} (${ratio.toFixed(2)}×)`);
    }
  }
  return out.join('\n');
}

async function runChild(mode: string, keys: number, dir: string, from: 'dist' | 'src'): Promise<MemoryReport> {
  const script = join(benchDir, 'kv-memory.ts');
  const execArgv = process.execArgv.includes('--expose-gc') ? process.execArgv : [...process.execArgv, '--expose-gc'];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...execArgv, script, mode, String(keys), dir, from], {
      cwd: repoDir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${mode} child exited with ${String(code)}`));
      else resolvePromise(JSON.parse(stdout) as MemoryReport);
    });
  });
}

async function runMemory(options: Options, base: string, from: 'dist' | 'src'): Promise<MemoryReport[]> {
  const reports: MemoryReport[] = [];
  const carveDir = await mkdtemp(join(base, 'memory-carve-'));
  try {
    progress(`memory: loading ${options.keys.toLocaleString('en-US')} keys into carve`);
    reports.push(await runChild('carve-load', options.keys, carveDir, from));
    progress('memory: reopening carve');
    reports.push(await runChild('carve-reopen', options.keys, carveDir, from));
  } finally {
    await rm(carveDir, { recursive: true, force: true });
  }
  let lmdbAvailable = true;
  try {
    checkEngineAvailable('lmdb');
  } catch (error) {
    if (!(error instanceof PeersMissingError)) throw error;
    lmdbAvailable = false;
  }
  if (lmdbAvailable) {
    const lmdbDir = await mkdtemp(join(base, 'memory-lmdb-'));
    try {
      progress(`memory: loading ${options.keys.toLocaleString('en-US')} keys into lmdb`);
      reports.push(await runChild('lmdb-load', options.keys, lmdbDir, from));
    } finally {
      await rm(lmdbDir, { recursive: true, force: true });
    }
  }
  return reports;
}

function mib(bytes: number | null): string {
  return bytes === null ? '-' : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function perKey(bytes: number | null, keys: number): string {
  return bytes === null ? '-' : `${Math.round(bytes / keys)}`;
}

function humanMemory(reports: MemoryReport[]): string {
  const out: string[] = [];
  const labels: Record<string, string> = {
    'carve-load': 'carve, after load',
    'carve-reopen': 'carve, after reopen',
    'lmdb-load': 'lmdb, after load',
  };
  const keys = reports[0]?.keys ?? 0;
  out.push(`Memory with ${keys.toLocaleString('en-US')} keys (growth from before open, after forced GC; B/key = bytes per key)\n`);
  out.push(
    table(
      ['store', 'RSS', 'B/key', 'anon RSS', 'file RSS', 'heap used', 'B/key', 'ArrayBuffers', 'B/key', 'load s', 'open s'],
      reports.map((r) => [
        labels[r.mode] ?? r.mode,
        mib(r.delta.rssBytes),
        perKey(r.delta.rssBytes, r.keys),
        mib(r.delta.rssAnonBytes),
        mib(r.delta.rssFileBytes),
        mib(r.delta.heapUsedBytes),
        perKey(r.delta.heapUsedBytes, r.keys),
        mib(r.delta.arrayBuffersBytes),
        perKey(r.delta.arrayBuffersBytes, r.keys),
        r.loadSeconds === null ? '-' : r.loadSeconds.toFixed(2),
        r.openSeconds === null ? '-' : r.openSeconds.toFixed(2),
      ]),
    ),
  );
  const readers = reports.filter((r) => r.pointReadsPerSecond !== null);
  out.push(`\nReads with ${keys.toLocaleString('en-US')} keys (synchronous, one caller)\n`);
  out.push(
    table(
      ['store', 'point reads/s', 'full scan rows/s', 'short scans rows/s (100 rows)'],
      readers.map((r) => [
        (labels[r.mode] ?? r.mode).split(',')[0]!,
        formatRate(r.pointReadsPerSecond!),
        formatRate(r.fullScanRowsPerSecond!),
        formatRate(r.shortScanRowsPerSecond!),
      ]),
    ),
  );
  return out.join('\n');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  try {
    if (options.commits) for (const engine of options.engines) checkEngineAvailable(engine);
  } catch (error) {
    if (error instanceof PeersMissingError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(3);
    }
    throw error;
  }
  const carveChoice = chooseCarve(options.carveFrom);
  if (carveChoice.note !== undefined) progress(`bench/kv: ${carveChoice.note}`);
  if (options.commits && collectGarbage === undefined) {
    progress('bench/kv: node runs without --expose-gc, so runs do not start with a collected heap (npm run bench:kv passes it)');
  }
  useCarve(await loadCarve(carveChoice.from));
  const base = await chooseBaseDir(options.dir);
  const runDir = await mkdtemp(join(base, 'carve-bench-kv-'));
  const cleanUp = () => rm(runDir, { recursive: true, force: true });
  process.once('SIGINT', () => {
    void cleanUp().finally(() => process.exit(130));
  });
  const started = new Date();
  try {
    const header =
      `bench/kv  ${started.toISOString()}  node ${process.version}  carve from ${carveChoice.from}/  dir ${runDir}\n` +
      `machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start\n` +
      `peers: better-sqlite3 ${peerVersion('sqlite')}, classic-level ${peerVersion('level')}, lmdb ${peerVersion('lmdb')}\n` +
      `runs: ${options.reps} reps × clients ${options.clients.join('/')} × ${options.engines.join(', ')}; ` +
      `${options.warmup} s warm-up + ${options.seconds} s measured per run`;
    progress(header);
    const results = options.commits ? await runCommits(options, runDir) : undefined;
    if (options.json) {
      process.stdout.write(`${jsonDocument(results!, options)}\n`);
      return;
    }
    const memory = options.memory ? await runMemory(options, runDir, carveChoice.from) : undefined;
    const sections = [header];
    if (results !== undefined) sections.push(humanCommits(results, options));
    if (memory !== undefined) sections.push(humanMemory(memory));
    sections.push(
      `finished in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end`,
    );
    process.stdout.write(`\n${sections.join('\n\n')}\n`);
  } finally {
    await cleanUp();
  }
}

await main();
