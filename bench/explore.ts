/**
 * Benchmark: how many crash states per second the crash explorer checks (src/explore/explorer.ts)
 * on the `atomic-replace` lab scenario, with the workload replacing 1, 10 and 100 files.
 *
 * What it measures. For every file count × variant × profile it builds
 * `atomicReplaceFamily({ files })`, does one warm-up `explore()` (at most 2 s) and then times
 * whole `explore()` calls with `performance.now()`: recording the workload, rebuilding crash
 * points, enumerating (or sampling) choices, building and hashing each crash image, running the
 * check on every distinct state, and shrinking the first counterexample when there is one.
 * Runs repeat until at least `--repeat` runs and at least 1 s of measured time (at most 200 runs).
 * Every figure reported is the median over those runs, each figure taken on its own.
 *
 * Variants: `correct` (temp, fsync, rename, directory fsync: few uncertain effects per point) and
 * `rename-no-fsync` (naive: the temp files are never fsynced, so unsynced data piles up and
 * each crash point has many more uncertain effects). Profiles: `posix-weak` (nothing ordered,
 * appends may tear into garbage) and `ext4-ordered` (journal ordering prunes most choices).
 *
 * How to read it.
 *   states     distinct crash states on which the check ran (after deduplication)
 *   choices    choices enumerated or sampled, before deduplication (each costs an image + hash)
 *   points     crash points (one per operation that changed something)
 *   complete   every state of every point was enumerated; "sampled" when a point had more than
 *              `--bound` states and the explorer drew that many at random instead
 *   ms         wall time of one explore() call
 *   states/s, choices/s   throughput
 * The absolute numbers depend on the machine and on what else runs on it; compare the scaling
 * ratios printed below the table (states/s at N files ÷ states/s at the smallest count, measured
 * in the same run). Per-state work grows with the file count (the check reads every file, the
 * hash covers every file), so a ratio near 1/N means cost linear in the tree size per state.
 *
 * Time cap. A run that exceeds `--max-seconds` (default 20) is stopped at the next crash point
 * and reported as CAPPED: its figures cover only the crash points done (shown as done/total),
 * `choices` is unknown (null in JSON), and it is not repeated. With the defaults this happens to
 * `rename-no-fsync` under `posix-weak` at 100 files, whose full exploration took 28 minutes on a
 * 2-core machine (1.58 M sampled choices, 1.53 M states); `--max-seconds 0` removes the cap.
 *
 * Usage: npm run bench:explore [-- --json] [--files 1,10,100] [--repeat 3] [--bound 4096]
 *        [--max-seconds 20] [--variants correct,rename-no-fsync] [--profiles posix-weak,ext4-ordered]
 * With --json, stdout holds one JSON document and nothing else (use `npm run -s` so npm does not
 * print its banner); progress goes to stderr. Each row has files, variant, profile, states,
 * choices, crashPoints, complete, ms, statesPerSecond, choicesPerSecond, plus runs (measured runs
 * behind the medians), capped and pointsDone.
 */
import os from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { defaultBoundPerPoint, explore } from '../src/explore/explorer.js';
import type { ScenarioVariant } from '../src/explore/scenario.js';
import { atomicReplaceFamily } from '../src/lab/atomic-replace.js';
import { type ProfileName, profileNames } from '../src/sim/profiles.js';

const defaultVariants = ['correct', 'rename-no-fsync'];
const defaultProfiles: ProfileName[] = ['posix-weak', 'ext4-ordered'];
const minMeasuredMs = 1000;
const maxRuns = 200;
const warmupCapMs = 2000;

interface Run {
  readonly states: number;
  /** Unknown when the run was capped (the explorer reports only states in progress). */
  readonly choices: number | null;
  readonly crashPoints: number;
  readonly pointsDone: number;
  readonly complete: boolean;
  readonly capped: boolean;
  readonly ms: number;
}

export interface BenchResult {
  readonly files: number;
  readonly variant: string;
  readonly profile: ProfileName;
  readonly states: number;
  readonly choices: number | null;
  readonly crashPoints: number;
  readonly complete: boolean;
  readonly ms: number;
  readonly statesPerSecond: number;
  readonly choicesPerSecond: number | null;
  /** Measured runs (after the warm-up) the medians are taken over. */
  readonly runs: number;
  /** The run hit --max-seconds: the figures cover only `pointsDone` of `crashPoints`. */
  readonly capped: boolean;
  readonly pointsDone: number;
}

class CapReached extends Error {
  constructor(
    readonly pointsDone: number,
    readonly pointsTotal: number,
    readonly statesChecked: number,
  ) {
    super(`time cap reached after ${pointsDone}/${pointsTotal} crash points`);
  }
}

async function runOnce(variant: ScenarioVariant, profile: ProfileName, bound: number, capMs: number): Promise<Run> {
  const start = performance.now();
  try {
    const result = await explore(variant, {
      profile,
      boundPerPoint: bound,
      onProgress: (progress) => {
        // Throwing from the progress callback is the only way to stop explore() early.
        if (capMs > 0 && progress.pointsDone < progress.pointsTotal && performance.now() - start > capMs) {
          throw new CapReached(progress.pointsDone, progress.pointsTotal, progress.statesChecked);
        }
      },
    });
    const ms = performance.now() - start;
    return {
      states: result.states,
      choices: result.choices,
      crashPoints: result.crashPoints,
      pointsDone: result.crashPoints,
      complete: result.complete,
      capped: false,
      ms,
    };
  } catch (error) {
    if (!(error instanceof CapReached)) throw error;
    const ms = performance.now() - start;
    return {
      states: error.statesChecked,
      choices: null,
      crashPoints: error.pointsTotal,
      pointsDone: error.pointsDone,
      complete: false,
      capped: true,
      ms,
    };
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianOrNull(values: ReadonlyArray<number | null>): number | null {
  return values.some((v) => v === null) ? null : median(values as number[]);
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

async function measure(
  files: number,
  variant: ScenarioVariant,
  profile: ProfileName,
  options: { repeat: number; bound: number; capMs: number },
): Promise<BenchResult> {
  await runOnce(variant, profile, options.bound, options.capMs > 0 ? Math.min(options.capMs, warmupCapMs) : warmupCapMs);
  const runs: Run[] = [];
  let measuredMs = 0;
  while (runs.length < options.repeat || (measuredMs < minMeasuredMs && runs.length < maxRuns)) {
    const run = await runOnce(variant, profile, options.bound, options.capMs);
    runs.push(run);
    measuredMs += run.ms;
    if (run.capped) break; // A capped run covers a prefix only; repeating it would exceed the time budget.
  }
  const capped = runs.some((r) => r.capped);
  return {
    files,
    variant: variant.variant,
    profile,
    states: median(runs.map((r) => r.states)),
    choices: medianOrNull(runs.map((r) => r.choices)),
    crashPoints: median(runs.map((r) => r.crashPoints)),
    complete: runs.every((r) => r.complete),
    ms: round(median(runs.map((r) => r.ms)), 2),
    statesPerSecond: round(median(runs.map((r) => (r.states / r.ms) * 1000)), 1),
    choicesPerSecond: (() => {
      const rates = runs.map((r) => (r.choices === null ? null : (r.choices / r.ms) * 1000));
      const m = medianOrNull(rates);
      return m === null ? null : round(m, 1);
    })(),
    runs: runs.length,
    capped,
    pointsDone: median(runs.map((r) => r.pointsDone)),
  };
}

// ---- arguments ----

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  }
  return n;
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(`expected a number ≥ 0, got '${value}'`);
  }
  return n;
}

function list(value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  return items;
}

function fileCounts(value: string): number[] {
  return [...new Set(list(value).map(positiveInteger))].sort((a, b) => a - b);
}

function profileList(value: string): ProfileName[] {
  return list(value).map((name) => {
    if (!(profileNames as string[]).includes(name)) {
      throw new InvalidArgumentError(`unknown profile '${name}'; known: ${profileNames.join(', ')}`);
    }
    return name as ProfileName;
  });
}

function variantList(value: string): string[] {
  const known = atomicReplaceFamily().variants.map((v) => v.variant);
  return list(value).map((name) => {
    if (!known.includes(name)) throw new InvalidArgumentError(`unknown variant '${name}'; known: ${known.join(', ')}`);
    return name;
  });
}

interface Options {
  json: boolean;
  files: number[];
  repeat: number;
  bound: number;
  maxSeconds: number;
  variants: string[];
  profiles: ProfileName[];
}

// ---- human output ----

function table(header: string[], rows: string[][], rightAligned: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (rightAligned[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const formatInt = (n: number) => Math.round(n).toLocaleString('en-US');

function printHuman(results: BenchResult[], options: Options, startedAt: Date, totalSeconds: number): void {
  const out: string[] = [];
  out.push(
    `explorer throughput, scenario atomic-replace — ${startedAt.toISOString()}, node ${process.version}, ` +
      `${os.cpus().length} CPU(s), bound ${options.bound}/point, ≥${options.repeat} runs and ≥1 s (≤${maxRuns} runs) per configuration after a warm-up, ` +
      `cap ${options.maxSeconds > 0 ? `${options.maxSeconds} s/run` : 'none'}; medians`,
  );
  out.push('');
  out.push(
    table(
      ['files', 'variant', 'profile', 'runs', 'states', 'choices', 'points', 'complete', 'ms', 'states/s', 'choices/s'],
      results.map((r) => [
        String(r.files),
        r.variant,
        r.profile,
        String(r.runs),
        formatInt(r.states),
        r.choices === null ? '?' : formatInt(r.choices),
        r.capped ? `${r.pointsDone}/${r.crashPoints}` : String(r.crashPoints),
        r.capped ? 'CAPPED' : r.complete ? 'yes' : 'sampled',
        r.ms.toFixed(r.ms < 100 ? 2 : 0),
        formatInt(r.statesPerSecond),
        r.choicesPerSecond === null ? '?' : formatInt(r.choicesPerSecond),
      ]),
      [true, false, false, true, true, true, true, false, true, true, true],
    ),
  );
  const capped = results.filter((r) => r.capped);
  if (capped.length > 0) {
    out.push('');
    for (const r of capped) {
      out.push(
        `CAPPED: files=${r.files} ${r.variant} ${r.profile} stopped after ${(r.ms / 1000).toFixed(1)} s at crash point ` +
          `${r.pointsDone} of ${r.crashPoints}; its states/s covers only those points (later points have more ` +
          `uncertain effects), choices are not reported. Use --max-seconds 0 for the full run.`,
      );
    }
  }

  const counts = [...new Set(results.map((r) => r.files))].sort((a, b) => a - b);
  if (counts.length > 1) {
    const base = counts[0]!;
    out.push('');
    out.push(`scaling: states/s at N files ÷ states/s at ${base} file${base === 1 ? '' : 's'} (same run; * = capped)`);
    const rows: string[][] = [];
    for (const variant of options.variants) {
      for (const profile of options.profiles) {
        const of = (files: number) =>
          results.find((r) => r.files === files && r.variant === variant && r.profile === profile);
        const baseResult = of(base);
        if (baseResult === undefined) continue;
        rows.push([
          variant,
          profile,
          ...counts.map((files) => {
            const r = of(files);
            if (r === undefined || baseResult.statesPerSecond === 0) return '-';
            return `${(r.statesPerSecond / baseResult.statesPerSecond).toFixed(2)}${r.capped || baseResult.capped ? '*' : ''}`;
          }),
        ]);
      }
    }
    out.push(
      table(
        ['variant', 'profile', ...counts.map((n) => `${n} file${n === 1 ? '' : 's'}`)],
        rows,
        [false, false, ...counts.map(() => true)],
      ),
    );
  }
  out.push('');
  out.push(`total ${totalSeconds.toFixed(1)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---- main ----

const program = new Command()
  .name('bench:explore')
  .description('Crash states checked per second by the explorer on the atomic-replace scenario.')
  .option('--json', 'print {"results":[...]} on stdout and nothing else', false)
  .option('--files <counts>', 'comma-separated file counts', fileCounts, [1, 10, 100])
  .option('--repeat <n>', 'minimum measured runs per configuration (after one warm-up)', positiveInteger, 3)
  .option('--bound <n>', 'boundPerPoint: states enumerated per crash point before sampling', positiveInteger, defaultBoundPerPoint)
  .option('--max-seconds <s>', 'stop a run after this long and report it as capped (0: no cap)', nonNegativeNumber, 20)
  .option('--variants <names>', 'comma-separated atomic-replace variants', variantList, defaultVariants)
  .option('--profiles <names>', 'comma-separated persistence profiles', profileList, defaultProfiles)
  .parse();

async function main(): Promise<void> {
  const options = program.opts<Options>();
  const capMs = options.maxSeconds * 1000;

  const results: BenchResult[] = [];
  const startedAt = new Date();
  const benchStart = performance.now();
  for (const files of options.files) {
    const family = atomicReplaceFamily({ files });
    for (const variantName of options.variants) {
      const variant = family.variants.find((v) => v.variant === variantName)!;
      for (const profile of options.profiles) {
        const result = await measure(files, variant, profile, { repeat: options.repeat, bound: options.bound, capMs });
        results.push(result);
        process.stderr.write(
          `  files=${files} ${variantName} ${profile}: ${result.runs} run(s), median ${result.ms.toFixed(1)} ms` +
            `${result.capped ? ` (CAPPED at ${result.pointsDone}/${result.crashPoints} points)` : ''}\n`,
        );
      }
    }
  }
  const totalSeconds = (performance.now() - benchStart) / 1000;

  if (options.json) {
    process.stdout.write(`${JSON.stringify({ results })}\n`);
  } else {
    printHuman(results, options, startedAt, totalSeconds);
  }
}

// No top-level await: bench/ may hold its own package.json, which makes this file CommonJS.
main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
