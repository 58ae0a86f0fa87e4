/**
 * What the explorer runs: a scenario variant is a setup (settled to media before recording), a
 * workload (recorded; it acknowledges to its user what it claims is saved), a recovery (run on
 * each crash state) and a check that throws an InvariantViolation naming the broken invariant.
 */
import type { Prng } from '../sim/prng.js';
import type { Storage } from '../storage/storage.js';

export type Expectation = 'safe' | 'unsafe';

export interface WorkloadContext {
  /** Tell the user something is done (e.g. "replaced target"); checks see what was acknowledged before the crash. */
  acknowledge(label: string): void;
  /** Deterministic suffixes for temp names. */
  randomSuffix(): string;
  readonly prng: Prng;
}

export interface CrashContext {
  /** What the workload had acknowledged when the power failed, in order. */
  readonly acknowledged: readonly string[];
}

export interface ScenarioVariant {
  readonly scenario: string;
  readonly variant: string;
  readonly expected: Expectation;
  readonly summary: string;
  setup(storage: Storage): Promise<void>;
  workload(storage: Storage, context: WorkloadContext): Promise<void>;
  recover?(storage: Storage): Promise<void>;
  check(storage: Storage, crash: CrashContext): Promise<void>;
}

export class InvariantViolation extends Error {
  constructor(
    readonly invariant: string,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'InvariantViolation';
  }
}

/** Throws an InvariantViolation unless `condition` holds. */
export function expectInvariant(condition: unknown, invariant: string, detail: () => string): asserts condition {
  if (!condition) throw new InvariantViolation(invariant, detail());
}
