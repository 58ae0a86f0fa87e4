/**
 * `carve lab`: runs every scenario of the essay, naive and correct, under every persistence
 * profile, and shows which lose data. Prints a table, then the shrunk counterexample of each
 * failing variant; `--json` prints machine-readable rows; `--replay ID` re-runs one crash state.
 * Exit status: 0 when every result meets its expectation, 1 when one does not, 2 on bad input.
 */
import { Command, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { defaultBoundPerPoint, defaultSeed } from '../explore/explorer.js';
import { replay } from '../explore/replay.js';
import { parseReplayId } from '../explore/replay-id.js';
import { renderTrace } from '../explore/trace.js';
import { findVariant } from '../lab/family.js';
import { labFamilies } from '../lab/registry.js';
import { type LabRow, rowToJson, runLab } from '../lab/run-lab.js';
import { type DeviceKind, deviceKinds } from '../sim/options.js';
import { type ProfileName, getProfile, profileNames } from '../sim/profiles.js';
import { renderTable } from './table.js';
import { parsePositiveInteger, splitList } from './parse.js';

interface LabOptions {
  scenario?: string[];
  profile?: string[];
  device: DeviceKind;
  bound: number;
  seed: number;
  json?: boolean;
  replay?: string;
  list?: boolean;
  progress: boolean;
}

export function labCommand(): Command {
  return new Command('lab')
    .description('run every crash scenario of the essay, naive and correct, under every persistence profile')
    .option('-s, --scenario <names>', 'scenarios to run, comma-separated (default: all)', splitList)
    .option('-p, --profile <names>', `profiles, comma-separated (default: all: ${profileNames.join(', ')})`, splitList)
    .addOption(new Option('-d, --device <kind>', 'device write cache').choices(deviceKinds).default('volatile-cache'))
    .option('-b, --bound <n>', 'crash states enumerated exhaustively per crash point before sampling', parsePositiveInteger, defaultBoundPerPoint)
    .option('--seed <n>', 'seed for workloads and sampling', parsePositiveInteger, defaultSeed)
    .option('--json', 'print a JSON array of results instead of the table')
    .option('--replay <id>', 'replay one crash state from its id and print its trace')
    .option('--list', 'list scenarios, variants and profiles')
    .option('--no-progress', 'do not show the progress bar')
    .action(async (options: LabOptions) => {
      if (options.list === true) return listEverything();
      if (options.replay !== undefined) return replayOne(options.replay);
      return runAll(options);
    });
}

function listEverything(): void {
  for (const family of labFamilies()) {
    console.log(`${family.name}: ${family.summary}`);
    for (const variant of family.variants) console.log(`  ${variant.variant.padEnd(26)} ${variant.expected.padEnd(7)} ${variant.summary}`);
  }
  console.log('\nprofiles:');
  for (const name of profileNames) console.log(`  ${name.padEnd(16)} ${getProfile(name).summary}`);
  console.log(`\ndevices: ${deviceKinds.join(', ')}`);
}

async function replayOne(id: string): Promise<void> {
  const target = parseReplayId(id);
  const variant = findVariant(labFamilies(), target.scenario, target.variant);
  const outcome = await replay(variant, target);
  console.log(
    renderTrace({
      history: outcome.history,
      ...outcome.state,
      violation: outcome.violation,
      replay: { scenario: target.scenario, variant: target.variant, profile: target.profile, device: target.device, seed: target.seed },
    }),
  );
  process.exitCode = outcome.violation === undefined ? 0 : 1;
}

async function runAll(options: LabOptions): Promise<void> {
  const profiles = (options.profile ?? profileNames).map((name) => getProfile(name).name as ProfileName);
  const showProgress = options.progress && options.json !== true && process.stderr.isTTY === true;
  const bar = new SingleBar({
    format: 'carve lab [{bar}] {value}/{total} runs | {run}',
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  });
  const started = performance.now();
  let barStarted = false;
  const rows = await runLab({
    families: labFamilies(),
    scenarios: options.scenario,
    profiles,
    device: options.device,
    boundPerPoint: options.bound,
    seed: options.seed,
    onRunDone: (done, total, row) => {
      if (!showProgress) return;
      if (!barStarted) {
        bar.start(total, 0, { run: '' });
        barStarted = true;
      }
      bar.update(done, { run: `${row.result.scenario}/${row.result.variant} on ${row.result.profile}` });
    },
  });
  if (barStarted) bar.stop();
  const seconds = (performance.now() - started) / 1000;
  const failed = rows.filter((row) => row.verdict.failed);
  process.exitCode = failed.length === 0 ? 0 : 1;
  if (options.json === true) {
    console.log(JSON.stringify(rows.map(rowToJson), null, 2));
    return;
  }
  printReport(rows, options, seconds);
}

function printReport(rows: readonly LabRow[], options: LabOptions, seconds: number): void {
  console.log(
    renderTable(
      ['scenario', 'variant', 'expected', 'profile', 'states', 'violations', 'complete', 'verdict'],
      rows.map(({ result, verdict }) => [
        result.scenario,
        result.variant,
        result.expected,
        result.profile,
        String(result.states),
        String(result.violations),
        result.complete ? 'yes' : 'no',
        verdict.text,
      ]),
    ),
  );
  const states = rows.reduce((sum, row) => sum + row.result.states, 0);
  const failed = rows.filter((row) => row.verdict.failed);
  console.log(
    `\n${rows.length} runs, ${states} crash states checked in ${seconds.toFixed(1)} s (device ${options.device}, seed ${options.seed}, bound ${options.bound} per crash point).`,
  );
  console.log(failed.length === 0 ? 'Every result meets its expectation.' : `${failed.length} result(s) contradict their expectation.`);

  for (const { result } of rows.filter((row) => row.result.workloadError !== undefined)) {
    console.log(`${result.scenario}/${result.variant} on ${result.profile}: the workload threw: ${result.workloadError!}`);
  }

  // One shrunk counterexample per failing variant: the first profile that shows it.
  const shown = new Set<string>();
  const failing = rows.filter((row) => row.result.counterexample !== undefined);
  if (failing.length > 0) console.log('\nCounterexamples (shrunk to the shortest prefix and fewest lost or torn effects):');
  for (const row of failing) {
    const key = `${row.result.scenario}/${row.result.variant}`;
    if (shown.has(key)) continue;
    shown.add(key);
    const { result } = row;
    const example = result.counterexample!;
    console.log('');
    console.log(
      renderTrace({
        history: result.history,
        point: example.point,
        choice: example.choice,
        image: example.image,
        violation: example.violation,
        replay: { scenario: result.scenario, variant: result.variant, profile: result.profile, device: result.device, seed: result.seed },
      }),
    );
  }
}
