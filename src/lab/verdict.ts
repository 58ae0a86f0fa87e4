/**
 * What a lab result means against its expectation. An unsafe variant must be caught under
 * posix-weak (otherwise the lab itself is broken); a safe variant must survive every profile;
 * and every workload must run to its end (one that threw explored fewer crash states than its
 * scenario promises, so its verdict would mean less than it says).
 */
import type { ExplorationResult } from '../explore/explorer.js';

export type VerdictKind = 'holds' | 'loses-data' | 'survives-here' | 'not-caught' | 'unexpected-loss' | 'workload-failed';

export interface Verdict {
  readonly kind: VerdictKind;
  /** True when the result contradicts the expectation (a failing lab run). */
  readonly failed: boolean;
  readonly text: string;
}

/** The profile under which every unsafe variant must show violations. */
export const referenceProfile = 'posix-weak';

export function verdictOf(result: Pick<ExplorationResult, 'expected' | 'violations' | 'profile' | 'complete' | 'workloadError'>): Verdict {
  if (result.workloadError !== undefined) return { kind: 'workload-failed', failed: true, text: 'WORKLOAD FAILED' };
  const sampled = result.complete ? '' : ' (sampled)';
  if (result.expected === 'safe') {
    return result.violations === 0
      ? { kind: 'holds', failed: false, text: `safe${sampled}` }
      : { kind: 'unexpected-loss', failed: true, text: 'UNEXPECTED DATA LOSS' };
  }
  if (result.violations > 0) return { kind: 'loses-data', failed: false, text: 'loses data (as expected)' };
  if (result.profile === referenceProfile) return { kind: 'not-caught', failed: true, text: 'NOT CAUGHT by the lab' };
  return { kind: 'survives-here', failed: false, text: `survives on this profile${sampled}` };
}
