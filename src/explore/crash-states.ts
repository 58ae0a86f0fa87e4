/**
 * Crash states of one crash point: each is a choice of which uncertain effects reached the
 * media (closed under the ordering dependencies) and in which variant (as written, or torn into
 * garbage). Enumeration is exhaustive up to a bound per point; beyond it, seeded random
 * sampling draws that many closed choices instead, and the point is marked incomplete.
 */
import { type Effect, type Variant, applyEffect, effectKeys } from '../sim/effects.js';
import type { History } from '../sim/history.js';
import type { Image } from '../sim/image.js';
import { Prng } from '../sim/prng.js';
import type { CrashPoint } from './crash-points.js';

/** Effect id → the variant it landed in; effects not in the map were lost. */
export type Choice = ReadonlyMap<number, Variant>;

export interface PointStates {
  readonly choices: Iterable<Choice>;
  /** True when `choices` is every closed choice of the point. */
  readonly complete: boolean;
}

export function statesOf(point: CrashPoint, boundPerPoint: number, seed: number): PointStates {
  const exhaustive = enumerateChoices(point, boundPerPoint);
  if (exhaustive !== undefined) return { choices: exhaustive, complete: true };
  return { choices: sampleChoices(point, boundPerPoint, seed), complete: false };
}

/** Every closed choice, or undefined if there are more than `bound`. */
function enumerateChoices(point: CrashPoint, bound: number): Choice[] | undefined {
  const out: Choice[] = [];
  const chosen = new Map<number, Variant>();
  const effects = point.candidates;
  let overflow = false;
  const visit = (index: number): void => {
    if (overflow) return;
    if (index === effects.length) {
      if (out.length >= bound) {
        overflow = true;
        return;
      }
      out.push(new Map(chosen));
      return;
    }
    const effect = effects[index]!;
    visit(index + 1); // lost
    const deps = point.depsOf.get(effect.id) ?? [];
    if (!deps.every((dep) => chosen.has(dep))) return;
    for (const variant of effect.variants) {
      chosen.set(effect.id, variant);
      visit(index + 1);
      chosen.delete(effect.id);
    }
  };
  visit(0);
  return overflow ? undefined : out;
}

function* sampleChoices(point: CrashPoint, count: number, seed: number): Generator<Choice> {
  const prng = new Prng(seed ^ (point.opsDone * 0x9e3779b1));
  for (let i = 0; i < count; i++) {
    const chosen = new Map<number, Variant>();
    for (const effect of point.candidates) {
      const deps = point.depsOf.get(effect.id) ?? [];
      if (!deps.every((dep) => chosen.has(dep)) || !prng.chance(0.5)) continue;
      chosen.set(effect.id, effect.variants[prng.below(effect.variants.length)]!);
    }
    yield chosen;
  }
}

/** The media image a crash with this choice leaves, normalised for reading. */
export function imageOf(history: History, point: CrashPoint, choice: Choice): Image {
  const kept = [...choice.keys()].sort((a, b) => a - b);
  const fastPath =
    point.mediaInIssueOrder &&
    kept.every((id) => effectKeys(history.effects[id]!).every((key) => (point.newestOnMedia.get(key) ?? -1) < id));
  let image: Image;
  if (fastPath) {
    image = point.media.fork();
    for (const id of kept) applyEffect(image, history.effects[id]!, choice.get(id)!, history.inits);
  } else {
    // An uncertain effect older than something on media that it overlaps: replay in issue order.
    image = history.base.fork();
    const ids = [...new Set([...point.mediaIds, ...kept])].sort((a, b) => a - b);
    for (const id of ids) applyEffect(image, history.effects[id]!, choice.get(id) ?? 'data', history.inits);
  }
  image.normalize();
  return image;
}

/** Adds an effect and every lost dependency of it (as written) to a choice. */
export function withEffect(point: CrashPoint, choice: Choice, effect: Effect): Map<number, Variant> {
  const next = new Map(choice);
  const stack = [effect.id];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (next.has(id)) continue;
    next.set(id, 'data');
    stack.push(...(point.depsOf.get(id) ?? []));
  }
  return next;
}
