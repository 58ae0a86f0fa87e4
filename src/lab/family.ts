/**
 * A lab scenario family: one essay situation with its naive and correct variants, all sharing
 * setup, recovery and invariants. The registry lists every family `carve lab` runs.
 */
import { CarveError, ErrorCodes } from '../errors.js';
import type { ScenarioVariant } from '../explore/scenario.js';

export interface ScenarioFamily {
  readonly name: string;
  readonly summary: string;
  readonly variants: readonly ScenarioVariant[];
}

export function findVariant(families: readonly ScenarioFamily[], scenario: string, variant: string): ScenarioVariant {
  const family = findFamily(families, scenario);
  const found = family.variants.find((v) => v.variant === variant);
  if (found === undefined) {
    throw new CarveError(
      ErrorCodes.UNKNOWN_VARIANT,
      `scenario '${scenario}' has no variant '${variant}'; known: ${family.variants.map((v) => v.variant).join(', ')}`,
    );
  }
  return found;
}

export function findFamily(families: readonly ScenarioFamily[], scenario: string): ScenarioFamily {
  const family = families.find((f) => f.name === scenario);
  if (family === undefined) {
    throw new CarveError(
      ErrorCodes.UNKNOWN_SCENARIO,
      `unknown scenario '${scenario}'; known: ${families.map((f) => f.name).join(', ')}`,
    );
  }
  return family;
}
