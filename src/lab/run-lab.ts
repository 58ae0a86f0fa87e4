/**
 * Runs the lab: every selected scenario variant under every selected profile, through the
 * explorer, and turns each result into a row with its verdict and its shrunk counterexample's
 * replay id. Presentation is the CLI's business.
 */
import { type ExplorationResult, explore } from '../explore/explorer.js';
import { formatReplayId } from '../explore/replay-id.js';
import { replayTargetOf } from '../explore/trace.js';
import type { DeviceKind } from '../sim/options.js';
import { type ProfileName, getProfile } from '../sim/profiles.js';
import { type ScenarioFamily, findFamily } from './family.js';
import { type Verdict, verdictOf } from './verdict.js';

export interface LabSelection {
  readonly families: readonly ScenarioFamily[];
  /** Scenario names to run (default: all). */
  readonly scenarios?: readonly string[];
  readonly profiles: readonly ProfileName[];
  readonly device: DeviceKind;
  readonly boundPerPoint: number;
  readonly seed: number;
  readonly onRunDone?: (done: number, total: number, row: LabRow) => void;
}

export interface LabRow {
  readonly result: ExplorationResult;
  readonly verdict: Verdict;
  readonly replayId: string | undefined;
}

export async function runLab(selection: LabSelection): Promise<LabRow[]> {
  const families = (selection.scenarios ?? selection.families.map((f) => f.name)).map((name) =>
    findFamily(selection.families, name),
  );
  for (const profile of selection.profiles) getProfile(profile);
  const runs = families.flatMap((family) =>
    family.variants.flatMap((variant) => selection.profiles.map((profile) => ({ variant, profile }))),
  );
  const rows: LabRow[] = [];
  for (const { variant, profile } of runs) {
    const result = await explore(variant, {
      profile,
      device: selection.device,
      boundPerPoint: selection.boundPerPoint,
      seed: selection.seed,
    });
    const replayId =
      result.counterexample === undefined
        ? undefined
        : formatReplayId(
            replayTargetOf({
              point: result.counterexample.point,
              choice: result.counterexample.choice,
              replay: { scenario: result.scenario, variant: result.variant, profile, device: result.device, seed: result.seed },
            }),
          );
    const row = { result, verdict: verdictOf(result), replayId };
    rows.push(row);
    selection.onRunDone?.(rows.length, runs.length, row);
  }
  return rows;
}

/** The JSON form of a row: stable keys for scripts. */
export function rowToJson(row: LabRow): Record<string, unknown> {
  const { result, verdict, replayId } = row;
  return {
    scenario: result.scenario,
    variant: result.variant,
    expected: result.expected,
    profile: result.profile,
    device: result.device,
    states: result.states,
    violations: result.violations,
    complete: result.complete,
    choices: result.choices,
    crashPoints: result.crashPoints,
    seed: result.seed,
    bound: result.boundPerPoint,
    verdict: verdict.kind,
    failed: verdict.failed,
    workloadError: result.workloadError ?? null,
    counterexample:
      result.counterexample === undefined
        ? null
        : {
            replay: replayId,
            invariant: result.counterexample.violation.invariant,
            detail: result.counterexample.violation.detail,
            crashAfterOps: result.counterexample.point.opsDone,
          },
  };
}
