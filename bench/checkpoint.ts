/**
 * Benchmark of the copy-on-write checkpointer (src/checkpoint) on the real disk, worker writer.
 * For each state size (default 256 MiB and 1 GiB, 64 KiB pages) it measures, in one run:
 *
 *   pause       how long checkpoint() takes to return control to the mutator (target < 1 ms,
 *               flat in the state size; fork-based snapshots pause 9-23 ms per GiB, REFERENCES §8.1)
 *   memory      extra memory while a checkpoint runs with the mutator writing, against the bytes
 *               of the pages it dirtied meanwhile (process.memoryUsage().arrayBuffers and rss
 *               deltas, fresh spare pool; target at most 1x)
 *   write       checkpoint throughput (checkpoint() to durable: temp, write, fsync, rename,
 *               directory fsync) against a plain sequential write + fsync of the same number of
 *               bytes with node:fs, alternating in the same run (target at least 0.8x)
 *   mutator     random 64-byte page writes per second during a checkpoint, against the same
 *               mutator for the same time without one
 *
 * Usage: node --import tsx bench/checkpoint.ts [--json] [--sizes-mib 256,1024] [--page-kib 64]
 *        [--rounds 3] [--pause-samples 6] [--dir PATH]   (PATH must be on the disk to measure;
 *        default os.tmpdir()). Pause samples: two per round, plus back-to-back idle checkpoints.
 * Written without top-level await or import.meta, so it runs whether bench/ is ESM or CommonJS.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Checkpointer } from '../src/checkpoint/checkpointer.js';
import { layoutOf } from '../src/checkpoint/format.js';
import { PagedState } from '../src/checkpoint/paged-state.js';
import { NodeStorage } from '../src/storage/node.js';

interface Options {
  json: boolean;
  sizesMiB: number[];
  pageKiB: number;
  rounds: number;
  /** Extra back-to-back checkpoints per size, mutator idle, for more pause samples. */
  pauseSamples: number;
  dir: string;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { json: false, sizesMiB: [256, 1024], pageKiB: 64, rounds: 3, pauseSamples: 6, dir: tmpdir() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    const positive = (text: string): number => {
      const n = Number(text);
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${arg}: expected a positive integer, got '${text}'`);
      return n;
    };
    if (arg === '--json') options.json = true;
    else if (arg === '--sizes-mib') options.sizesMiB = value().split(',').map(positive);
    else if (arg === '--page-kib') options.pageKiB = positive(value());
    else if (arg === '--rounds') options.rounds = positive(value());
    else if (arg === '--pause-samples') {
      const text = value();
      if (!/^\d+$/.test(text)) throw new Error(`--pause-samples: expected a non-negative integer, got '${text}'`);
      options.pauseSamples = Number(text);
    }
    else if (arg === '--dir') options.dir = value();
    else throw new Error(`unknown argument ${arg}; usage: bench/checkpoint.ts [--json] [--sizes-mib 256,1024] [--page-kib 64] [--rounds 3] [--pause-samples 6] [--dir PATH]`);
  }
  return options;
}

const MiB = 1024 * 1024;
const sleepTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The mutator: 64-byte writes at random offsets of random pages, in bursts, yielding between bursts. */
class Mutator {
  private seed = 0x9e3779b9;
  private readonly stamp = new Uint8Array(64).fill(0xab);
  readonly dirty: Uint8Array;
  dirtyPages = 0;

  constructor(private readonly state: PagedState) {
    this.dirty = new Uint8Array(state.pageCount);
  }

  private next(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
  }

  resetDirty(): void {
    this.dirty.fill(0);
    this.dirtyPages = 0;
  }

  burst(writes: number): void {
    const { state, stamp } = this;
    const span = state.pageBytes - stamp.length;
    for (let i = 0; i < writes; i++) {
      const page = this.next() % state.pageCount;
      state.write(page, this.next() % span, stamp);
      if (this.dirty[page] === 0) {
        this.dirty[page] = 1;
        this.dirtyPages += 1;
      }
    }
  }

  /** Runs bursts until `until()` is true; returns writes done and the seconds they took. */
  async run(until: () => boolean, onBurst?: () => void): Promise<{ writes: number; seconds: number }> {
    const burstWrites = 2000;
    let writes = 0;
    const started = performance.now();
    while (!until()) {
      this.burst(burstWrites);
      writes += burstWrites;
      onBurst?.();
      await sleepTick();
    }
    return { writes, seconds: (performance.now() - started) / 1000 };
  }
}

/** A plain sequential write + fsync of `sizeBytes` into a new file, with node:fs. */
function baselineWrite(path: string, sizeBytes: number, chunk: Uint8Array): number {
  const started = performance.now();
  const fd = openSync(path, 'wx');
  try {
    for (let written = 0; written < sizeBytes; ) {
      const count = Math.min(chunk.length, sizeBytes - written);
      written += writeSync(fd, chunk, 0, count, written);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return (performance.now() - started) / 1000;
}

interface SizeResult {
  stateBytes: number;
  pageBytes: number;
  fileBytes: number;
  pauseMs: { median: number; max: number; underOneMs: number; samples: number[] };
  memory: {
    dirtiedBytes: number;
    copiedBytes: number;
    extraArrayBuffersBytes: number;
    extraRssBytes: number;
    extraPerDirtied: number;
    extraRssPerDirtied: number;
  };
  write: { baselineMBps: number; checkpointMBps: number; ratio: number; checkpointWithMutatorMBps: number; ratioWithMutator: number };
  mutator: { writesPerSecWithout: number; writesPerSecDuring: number; ratio: number };
}

async function benchSize(sizeMiB: number, options: Options, log: (line: string) => void): Promise<SizeResult> {
  const pageBytes = options.pageKiB * 1024;
  const pageCount = Math.floor((sizeMiB * MiB) / pageBytes);
  const state = PagedState.create({ pageBytes, pageCount });
  for (let page = 0; page < pageCount; page++) state.mutate(page, (bytes) => bytes.fill(page & 0xff));
  const fileBytes = layoutOf(state).fileSizeBytes;
  const dir = await mkdtemp(join(options.dir, 'carve-bench-checkpoint-'));
  const storage = await NodeStorage.open(dir);
  const checkpointer = await Checkpointer.open(state, { storage, path: 'state.ckpt', writer: 'worker' });
  const mutator = new Mutator(state);
  const chunk = new Uint8Array(4 * MiB).fill(0x5a);
  const pauses: number[] = [];
  const baseline: number[] = [];
  const idle: number[] = [];
  const busy: number[] = [];
  const during: number[] = [];
  const without: number[] = [];
  let memory: SizeResult['memory'] | undefined;
  try {
    log(`${sizeMiB} MiB state (${pageCount} pages of ${options.pageKiB} KiB) in ${dir}`);
    await checkpointer.checkpoint(); // warm-up: worker JIT, the file exists from now on
    for (let round = 1; round <= options.rounds; round++) {
      // Baseline: the same number of bytes, written and fsynced plainly.
      const baselinePath = join(dir, 'baseline.bin');
      const baselineSeconds = baselineWrite(baselinePath, fileBytes, chunk);
      baseline.push(fileBytes / MiB / baselineSeconds);
      await unlink(baselinePath);

      // Checkpoint with the mutator idle.
      let started = performance.now();
      const idleRun = checkpointer.checkpoint();
      pauses.push(performance.now() - started);
      await idleRun;
      idle.push(fileBytes / MiB / ((performance.now() - started) / 1000));

      // Checkpoint with the mutator writing throughout.
      mutator.resetDirty();
      const before = process.memoryUsage();
      let peakArrayBuffers = before.arrayBuffers;
      let peakRss = before.rss;
      let done = false;
      started = performance.now();
      const busyRun = checkpointer.checkpoint();
      pauses.push(performance.now() - started);
      void busyRun.then(
        () => (done = true),
        () => (done = true),
      );
      let lastSample = 0;
      const duringRun = await mutator.run(
        () => done,
        () => {
          const now = performance.now();
          if (now - lastSample < 5) return;
          lastSample = now;
          const usage = process.memoryUsage();
          peakArrayBuffers = Math.max(peakArrayBuffers, usage.arrayBuffers);
          peakRss = Math.max(peakRss, usage.rss);
        },
      );
      const result = await busyRun;
      const after = process.memoryUsage();
      peakArrayBuffers = Math.max(peakArrayBuffers, after.arrayBuffers);
      peakRss = Math.max(peakRss, after.rss);
      busy.push(fileBytes / MiB / ((performance.now() - started) / 1000));
      during.push(duringRun.writes / duringRun.seconds);
      if (round === 1) {
        // The first checkpoint with a mutator starts from an empty spare pool: its growth is the extra memory.
        const dirtiedBytes = mutator.dirtyPages * pageBytes;
        memory = {
          dirtiedBytes,
          copiedBytes: result.copiesOnWrite * pageBytes,
          extraArrayBuffersBytes: peakArrayBuffers - before.arrayBuffers,
          extraRssBytes: peakRss - before.rss,
          extraPerDirtied: dirtiedBytes === 0 ? 0 : (peakArrayBuffers - before.arrayBuffers) / dirtiedBytes,
          extraRssPerDirtied: dirtiedBytes === 0 ? 0 : (peakRss - before.rss) / dirtiedBytes,
        };
      }

      // The same mutator, for the same time, without a checkpoint.
      const windowMs = duringRun.seconds * 1000;
      const windowStart = performance.now();
      const alone = await mutator.run(() => performance.now() - windowStart >= windowMs);
      without.push(alone.writes / alone.seconds);
      log(
        `  round ${round}: pause ${pauses.slice(-2).map((ms) => ms.toFixed(3)).join(' / ')} ms; ` +
          `write ${baseline.at(-1)!.toFixed(0)} MB/s plain, ${idle.at(-1)!.toFixed(0)} MB/s checkpoint, ${busy.at(-1)!.toFixed(0)} MB/s with mutator; ` +
          `mutator ${(during.at(-1)! / 1e6).toFixed(2)} M/s during, ${(without.at(-1)! / 1e6).toFixed(2)} M/s without; ` +
          `${mutator.dirtyPages} pages dirtied, ${result.copiesOnWrite} copied`,
      );
    }
    for (let sample = 0; sample < options.pauseSamples; sample++) {
      const started = performance.now();
      const running = checkpointer.checkpoint();
      pauses.push(performance.now() - started);
      await running;
    }
    log(`  pauses (ms): ${pauses.map((ms) => ms.toFixed(3)).join(' ')}`);
  } finally {
    await checkpointer.close();
    await rm(dir, { recursive: true, force: true });
  }
  const baselineMBps = median(baseline);
  const checkpointMBps = median(idle);
  const checkpointWithMutatorMBps = median(busy);
  const writesPerSecDuring = median(during);
  const writesPerSecWithout = median(without);
  return {
    stateBytes: pageCount * pageBytes,
    pageBytes,
    fileBytes,
    pauseMs: {
      median: median(pauses),
      max: Math.max(...pauses),
      underOneMs: pauses.filter((ms) => ms < 1).length / pauses.length,
      samples: pauses,
    },
    memory: memory!,
    write: {
      baselineMBps,
      checkpointMBps,
      ratio: checkpointMBps / baselineMBps,
      checkpointWithMutatorMBps,
      ratioWithMutator: checkpointWithMutatorMBps / baselineMBps,
    },
    mutator: { writesPerSecWithout, writesPerSecDuring, ratio: writesPerSecDuring / writesPerSecWithout },
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const log = options.json ? () => undefined : (line: string) => console.log(line);
  const results: SizeResult[] = [];
  for (const sizeMiB of options.sizesMiB) results.push(await benchSize(sizeMiB, options, log));
  const smallest = results[0]!;
  const largest = results[results.length - 1]!;
  const summary = {
    benchmark: 'checkpoint',
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 1024 ** 3), node: process.version, dir: options.dir },
    rounds: options.rounds,
    sizes: results,
    pauseGrowth: largest.pauseMs.median / smallest.pauseMs.median,
    targets: {
      pauseMedianUnder1ms: results.every((r) => r.pauseMs.median < 1),
      pauseMaxUnder1ms: results.every((r) => r.pauseMs.max < 1),
      extraMemoryAtMost1x: results.every((r) => r.memory.extraPerDirtied <= 1),
      writeAtLeast0_8x: results.every((r) => r.write.ratio >= 0.8),
    },
  };
  if (options.json) {
    console.log(JSON.stringify(summary));
    return;
  }
  console.log('');
  console.log('size       pause median/max   extra mem / dirtied (rss)   write ckpt/plain MB/s (ratio; with mutator)   mutator during/without (ratio)');
  for (const r of results) {
    const size = `${(r.stateBytes / MiB).toFixed(0)} MiB`.padEnd(10);
    const pause = `${r.pauseMs.median.toFixed(3)}/${r.pauseMs.max.toFixed(3)} ms`.padEnd(18);
    const memory = `${(r.memory.extraArrayBuffersBytes / MiB).toFixed(1)}/${(r.memory.dirtiedBytes / MiB).toFixed(1)} MiB = ${r.memory.extraPerDirtied.toFixed(2)}x (${r.memory.extraRssPerDirtied.toFixed(2)}x)`.padEnd(27);
    const write = `${r.write.checkpointMBps.toFixed(0)}/${r.write.baselineMBps.toFixed(0)} (${r.write.ratio.toFixed(2)}x; ${r.write.ratioWithMutator.toFixed(2)}x)`.padEnd(45);
    const mutator = `${(r.mutator.writesPerSecDuring / 1e6).toFixed(2)}/${(r.mutator.writesPerSecWithout / 1e6).toFixed(2)} M/s (${r.mutator.ratio.toFixed(2)}x)`;
    console.log(`${size} ${pause} ${memory} ${write} ${mutator}`);
  }
  console.log('');
  console.log(`pause growth ${(smallest.stateBytes / MiB).toFixed(0)} MiB -> ${(largest.stateBytes / MiB).toFixed(0)} MiB: ${summary.pauseGrowth.toFixed(2)}x (fork: 9-23 ms per GiB)`);
  const pauseSamples = results.flatMap((r) => r.pauseMs.samples);
  console.log(`pauses under 1 ms: ${pauseSamples.filter((ms) => ms < 1).length} of ${pauseSamples.length}`);
  console.log(`targets: pause median < 1 ms ${summary.targets.pauseMedianUnder1ms ? 'met' : 'MISSED'}, max < 1 ms ${summary.targets.pauseMaxUnder1ms ? 'met' : 'MISSED'}; extra memory <= 1x dirtied ${summary.targets.extraMemoryAtMost1x ? 'met' : 'MISSED'}; write >= 0.8x plain ${summary.targets.writeAtLeast0_8x ? 'met' : 'MISSED'}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
