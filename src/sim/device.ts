/**
 * The storage device below the file system: a volatile write cache in front of the media.
 * `submit` is the file system sending writes; `flush` is REQ_PREFLUSH. With 'volatile-cache'
 * a flush empties the cache to media; with 'no-cache' writes reach media when they complete;
 * with 'ignores-flush' the device acknowledges flushes and keeps everything volatile.
 */
import type { DeviceKind } from './options.js';

export class Device {
  /** Effects acknowledged by the device but held only in its volatile cache. */
  private readonly cache = new Set<number>();

  constructor(readonly kind: DeviceKind) {}

  /** Sends effects to the device; returns those that are on media when the call completes. */
  submit(effectIds: readonly number[]): number[] {
    if (this.kind === 'no-cache') return [...effectIds];
    for (const id of effectIds) this.cache.add(id);
    return [];
  }

  /** A cache flush; returns the effects it moved to media. */
  flush(): number[] {
    if (this.kind !== 'volatile-cache') return [];
    const flushed = [...this.cache].sort((a, b) => a - b);
    this.cache.clear();
    return flushed;
  }

  /** Effects still in the volatile cache (lost, or not, at a power cut). */
  cached(): number[] {
    return [...this.cache].sort((a, b) => a - b);
  }

  /** Power restored after a crash, or a settled state: nothing volatile is left. */
  clear(): void {
    this.cache.clear();
  }
}
