/**
 * The crash explorer. It runs a scenario's workload once on SimStorage, then for every crash
 * point checks every distinct crash state (deduplicated by content and by what had been
 * acknowledged): recovery runs on a fresh simulator started from that state, then the check.
 * It reports how many states it checked and whether the enumeration was complete, and shrinks
 * the first violation to the shortest prefix and the fewest lost or torn effects.
 */
import { CarveError, ErrorCodes, messageOf } from '../errors.js';
import type { History } from '../sim/history.js';
import type { Image } from '../sim/image.js';
import type { DeviceKind, FaultPlan } from '../sim/options.js';
import { Prng } from '../sim/prng.js';
import { type ProfileName, getProfile } from '../sim/profiles.js';
import { SimStorage } from '../sim/sim-storage.js';
import { type CrashPoint, crashPoints } from './crash-points.js';
import { type Choice, imageOf, statesOf, withEffect } from './crash-states.js';
import { InvariantViolation, type ScenarioVariant, type WorkloadContext } from './scenario.js';

export interface ExploreOptions {
  profile: ProfileName;
  device?: DeviceKind;
  faults?: FaultPlan;
  /** Crash states enumerated exhaustively per crash point before sampling takes over. */
  boundPerPoint?: number;
  seed?: number;
  /** Called after each crash point. */
  onProgress?: (progress: { pointsDone: number; pointsTotal: number; statesChecked: number }) => void;
}

export const defaultBoundPerPoint = 4096;
export const defaultSeed = 1;

export interface Violation {
  readonly invariant: string;
  readonly detail: string;
}

export interface FoundViolation {
  readonly point: CrashPoint;
  readonly choice: Choice;
  readonly violation: Violation;
  readonly image: Image;
}

export interface ExplorationResult {
  readonly scenario: string;
  readonly variant: string;
  readonly expected: 'safe' | 'unsafe';
  readonly profile: ProfileName;
  readonly device: DeviceKind;
  readonly seed: number;
  readonly boundPerPoint: number;
  /** Distinct crash states on which recovery and the check ran. */
  readonly states: number;
  /** Choices enumerated or sampled, before deduplication. */
  readonly choices: number;
  readonly crashPoints: number;
  readonly violations: number;
  /** Every crash state of every point was enumerated (no sampling). */
  readonly complete: boolean;
  /**
   * The error the workload ended with, if it threw (its message). Its crash states up to the
   * throw are still explored; the lab counts such a run as failed (lab/verdict.ts), since its
   * scenarios catch every failure they expect.
   */
  readonly workloadError: string | undefined;
  readonly history: History;
  /** The first violation found, shrunk; undefined when there is none. */
  readonly counterexample: FoundViolation | undefined;
}

/** Runs setup and workload on a fresh simulator and returns its recorded history. */
export async function recordWorkload(
  scenario: ScenarioVariant,
  options: Pick<ExploreOptions, 'profile' | 'device' | 'faults' | 'seed'>,
): Promise<{ history: History; workloadError: unknown }> {
  const storage = new SimStorage({ profile: options.profile, device: options.device ?? 'volatile-cache', faults: {} });
  await scenario.setup(storage);
  storage.settle();
  const recording = new SimStorage({
    profile: options.profile,
    device: options.device ?? 'volatile-cache',
    faults: options.faults ?? {},
    image: storage.liveImage(),
  });
  const prng = new Prng(options.seed ?? defaultSeed);
  const context: WorkloadContext = {
    acknowledge: (label) => recording.acknowledge(label),
    randomSuffix: () => prng.hex(8),
    prng,
  };
  let workloadError: unknown;
  try {
    await scenario.workload(recording, context);
  } catch (error) {
    workloadError = error; // Its crash states up to the throw are still explored; the lab fails the run (lab/verdict.ts).
  }
  return { history: recording.history, workloadError };
}

/** Runs recovery and the check on one crash image. */
export async function checkImage(
  scenario: ScenarioVariant,
  image: Image,
  acknowledged: readonly string[],
  profile: ProfileName,
  device: DeviceKind,
): Promise<Violation | undefined> {
  const storage = new SimStorage({ profile, device, image });
  try {
    await scenario.recover?.(storage);
    await scenario.check(storage, { acknowledged });
    return undefined;
  } catch (error) {
    if (error instanceof InvariantViolation) return { invariant: error.invariant, detail: error.detail };
    const message = messageOf(error);
    return { invariant: 'recovery-succeeds', detail: `recovery or check threw: ${message}` };
  }
}

export async function explore(scenario: ScenarioVariant, options: ExploreOptions): Promise<ExplorationResult> {
  getProfile(options.profile);
  const device = options.device ?? 'volatile-cache';
  const seed = options.seed ?? defaultSeed;
  const boundPerPoint = options.boundPerPoint ?? defaultBoundPerPoint;
  if (!Number.isSafeInteger(boundPerPoint) || boundPerPoint < 1) {
    throw new CarveError(ErrorCodes.INVALID_ARGUMENT, `bound must be a positive integer, got ${String(boundPerPoint)}`);
  }
  const { history, workloadError } = await recordWorkload(scenario, { ...options, seed });
  const points = [...crashPoints(history)];
  const seen = new Set<string>();
  let states = 0;
  let choices = 0;
  let violations = 0;
  let complete = true;
  let first: FoundViolation | undefined;
  for (const [index, point] of points.entries()) {
    const pointStates = statesOf(point, boundPerPoint, seed);
    complete &&= pointStates.complete;
    for (const choice of pointStates.choices) {
      choices += 1;
      const image = imageOf(history, point, choice);
      const key = `${image.contentHash()}|${point.acknowledged.length}`;
      if (seen.has(key)) continue;
      seen.add(key);
      states += 1;
      const violation = await checkImage(scenario, image, point.acknowledged, options.profile, device);
      if (violation === undefined) continue;
      violations += 1;
      first ??= { point, choice, violation, image };
    }
    options.onProgress?.({ pointsDone: index + 1, pointsTotal: points.length, statesChecked: states });
  }
  const counterexample = first === undefined ? undefined : await shrink(scenario, history, first, options.profile, device);
  return {
    scenario: scenario.scenario,
    variant: scenario.variant,
    expected: scenario.expected,
    profile: options.profile,
    device,
    seed,
    boundPerPoint,
    states,
    choices,
    crashPoints: points.length,
    violations,
    complete,
    workloadError: workloadError === undefined ? undefined : messageOf(workloadError),
    history,
    counterexample,
  };
}

/**
 * Shrinks a violation found at the earliest failing crash point (the shortest prefix, since
 * points are explored in order): lost effects are put back, and torn ones made whole, one at a
 * time, keeping each change that still violates, until no single change does.
 */
export async function shrink(
  scenario: ScenarioVariant,
  history: History,
  found: FoundViolation,
  profile: ProfileName,
  device: DeviceKind,
): Promise<FoundViolation> {
  let current = found;
  let changed = true;
  while (changed) {
    changed = false;
    const lost = current.point.candidates.filter((effect) => !current.choice.has(effect.id));
    const torn = current.point.candidates.filter((effect) => current.choice.get(effect.id) === 'garbage');
    const attempts: Choice[] = [
      ...lost.map((effect) => withEffect(current.point, current.choice, effect)),
      ...torn.map((effect) => new Map(current.choice).set(effect.id, 'data')),
    ];
    for (const choice of attempts) {
      const image = imageOf(history, current.point, choice);
      const violation = await checkImage(scenario, image, current.point.acknowledged, profile, device);
      if (violation === undefined) continue;
      current = { point: current.point, choice, violation, image };
      changed = true;
      break;
    }
  }
  return current;
}
