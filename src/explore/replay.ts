/**
 * Replays one crash state from its id: re-records the (deterministic) workload, finds the
 * crash point, rebuilds the state from the lost and torn effects, and re-runs recovery and
 * the check. A mismatch (the id's effects are not uncertain at that point) is a typed error.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import type { Variant } from '../sim/effects.js';
import { crashPoints } from './crash-points.js';
import { imageOf } from './crash-states.js';
import { type FoundViolation, type Violation, checkImage, recordWorkload } from './explorer.js';
import type { ReplayTarget } from './replay-id.js';
import type { ScenarioVariant } from './scenario.js';

export interface ReplayOutcome {
  readonly found: FoundViolation | undefined;
  readonly violation: Violation | undefined;
  readonly history: Awaited<ReturnType<typeof recordWorkload>>['history'];
  readonly state: Omit<FoundViolation, 'violation'>;
}

export async function replay(scenario: ScenarioVariant, target: ReplayTarget): Promise<ReplayOutcome> {
  const { history } = await recordWorkload(scenario, target);
  let point;
  for (const candidate of crashPoints(history)) {
    if (candidate.opsDone <= target.opsDone) point = candidate;
  }
  if (point === undefined || target.opsDone > history.ops.length) {
    throw new CarveError(ErrorCodes.REPLAY_MISMATCH, `the workload has ${history.ops.length} operations; crash=${target.opsDone} is past its end`);
  }
  const uncertain = new Set(point.candidates.map((effect) => effect.id));
  for (const id of [...target.lost, ...target.torn]) {
    if (!uncertain.has(id)) {
      throw new CarveError(ErrorCodes.REPLAY_MISMATCH, `effect ${id} is not uncertain after ${target.opsDone} operations`);
    }
  }
  const lost = new Set(target.lost);
  const torn = new Set(target.torn);
  const choice = new Map<number, Variant>();
  for (const effect of point.candidates) {
    if (!lost.has(effect.id)) choice.set(effect.id, torn.has(effect.id) ? 'garbage' : 'data');
  }
  const image = imageOf(history, point, choice);
  const violation = await checkImage(scenario, image, point.acknowledged, target.profile, target.device);
  const state = { point, choice, image };
  return { found: violation === undefined ? undefined : { ...state, violation }, violation, history, state };
}
