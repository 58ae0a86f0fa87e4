/**
 * Replay ids: everything needed to rebuild one crash state, as a string a user can paste:
 * scenario, variant, profile, device, seed, the crash point (operations done), and which
 * uncertain effects were lost or torn. Example:
 *   atomic-replace:rename-no-fsync:posix-weak:volatile-cache:seed=1:crash=5:lost=2.3:torn=
 */
import { CarveError, ErrorCodes } from '../errors.js';
import type { DeviceKind } from '../sim/options.js';
import { deviceKinds } from '../sim/options.js';
import { type ProfileName, getProfile } from '../sim/profiles.js';

export interface ReplayTarget {
  readonly scenario: string;
  readonly variant: string;
  readonly profile: ProfileName;
  readonly device: DeviceKind;
  readonly seed: number;
  /** Operations completed before the crash. */
  readonly opsDone: number;
  readonly lost: readonly number[];
  readonly torn: readonly number[];
}

export function formatReplayId(target: ReplayTarget): string {
  const ids = (list: readonly number[]) => [...list].sort((a, b) => a - b).join('.');
  return [
    target.scenario,
    target.variant,
    target.profile,
    target.device,
    `seed=${target.seed}`,
    `crash=${target.opsDone}`,
    `lost=${ids(target.lost)}`,
    `torn=${ids(target.torn)}`,
  ].join(':');
}

export function parseReplayId(id: string): ReplayTarget {
  const fail = (why: string): never => {
    throw new CarveError(ErrorCodes.BAD_REPLAY_ID, `cannot parse replay id '${id}': ${why}`);
  };
  const parts = id.trim().split(':');
  if (parts.length !== 8) fail('expected 8 fields separated by ":"');
  const [scenario, variant, profile, device, seedField, crashField, lostField, tornField] = parts as [
    string, string, string, string, string, string, string, string,
  ];
  const field = (text: string, name: string): string =>
    text.startsWith(`${name}=`) ? text.slice(name.length + 1) : fail(`expected '${name}=' in '${text}'`);
  const integer = (text: string, name: string): number => {
    if (!/^\d+$/.test(text)) fail(`${name} must be a non-negative integer, got '${text}'`);
    return Number(text);
  };
  const list = (text: string, name: string): number[] =>
    text === '' ? [] : text.split('.').map((item) => integer(item, name));
  getProfile(profile);
  if (!deviceKinds.includes(device as DeviceKind)) fail(`unknown device '${device}'`);
  return {
    scenario,
    variant,
    profile: profile as ProfileName,
    device: device as DeviceKind,
    seed: integer(field(seedField, 'seed'), 'seed'),
    opsDone: integer(field(crashField, 'crash'), 'crash'),
    lost: list(field(lostField, 'lost'), 'lost'),
    torn: list(field(tornField, 'torn'), 'torn'),
  };
}
