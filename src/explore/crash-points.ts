/**
 * Rebuilds, from a History, every crash point of a run: after each operation, which effects
 * are on media for sure, which may or may not be (dirty in the page cache, held in the device
 * cache, or marked clean by a failed sync), and the ordering among the latter that the profile
 * imposes. Effects in the device cache have no ordering left: the file system believed them
 * durable, and a device that ignores FLUSH writes its cache back in any order.
 */
import { type Effect, applyEffect, effectKeys } from '../sim/effects.js';
import type { History } from '../sim/history.js';
import type { Image } from '../sim/image.js';

export interface CrashPoint {
  /** Operations completed before the power failed. */
  readonly opsDone: number;
  /** Effects that may or may not be on media, in issue order. */
  readonly candidates: readonly Effect[];
  /** For each candidate: the candidates that must be on media if it is. */
  readonly depsOf: ReadonlyMap<number, readonly number[]>;
  /** Effect ids surely on media, in issue order. */
  readonly mediaIds: readonly number[];
  /** The media at this point; valid as a starting image only when `mediaInIssueOrder`. */
  readonly media: Image;
  readonly mediaInIssueOrder: boolean;
  /** Newest on-media effect id per conflict key. */
  readonly newestOnMedia: ReadonlyMap<string, number>;
  readonly acknowledged: readonly string[];
}

/** Yields crash points in order, skipping those identical to the previous one. */
export function* crashPoints(history: History): Generator<CrashPoint> {
  const pageCache = new Set<number>();
  const deviceCache = new Set<number>();
  const cleaned = new Set<number>();
  const mediaIds: number[] = [];
  const newestOnMedia = new Map<string, number>();
  let mediaInIssueOrder = true;
  const media = history.base.fork();

  const point = (opsDone: number): CrashPoint => {
    const candidateIds = [...pageCache, ...deviceCache, ...cleaned].sort((a, b) => a - b);
    const volatile = new Set([...pageCache, ...cleaned]);
    const depsOf = new Map<number, number[]>();
    for (const id of candidateIds) {
      const deps = volatile.has(id) ? history.effects[id]!.deps.filter((dep) => volatile.has(dep)) : [];
      depsOf.set(id, deps);
    }
    return {
      opsDone,
      candidates: candidateIds.map((id) => history.effects[id]!),
      depsOf,
      mediaIds: [...mediaIds].sort((a, b) => a - b),
      media: media.fork(),
      mediaInIssueOrder,
      newestOnMedia: new Map(newestOnMedia),
      acknowledged: history.acks.filter((ack) => ack.afterOps <= opsDone).map((ack) => ack.label),
    };
  };

  yield point(0);
  let ackCount = history.acks.filter((ack) => ack.afterOps <= 0).length;
  for (const op of history.ops) {
    for (const id of op.issued) pageCache.add(id);
    for (const id of op.submitted) {
      pageCache.delete(id);
      deviceCache.add(id);
    }
    for (const id of op.cleaned) {
      pageCache.delete(id);
      cleaned.add(id);
    }
    for (const id of op.onMedia) {
      deviceCache.delete(id);
      const effect = history.effects[id]!;
      for (const key of effectKeys(effect)) {
        if ((newestOnMedia.get(key) ?? -1) > id) mediaInIssueOrder = false;
        newestOnMedia.set(key, Math.max(id, newestOnMedia.get(key) ?? -1));
      }
      applyEffect(media, effect, 'data', history.inits);
      mediaIds.push(id);
    }
    const opsDone = op.index + 1;
    const acksNow = history.acks.filter((ack) => ack.afterOps <= opsDone).length;
    const changed =
      op.issued.length + op.submitted.length + op.cleaned.length + op.onMedia.length > 0 || acksNow !== ackCount;
    ackCount = acksNow;
    if (changed) yield point(opsDone);
  }
}
