/**
 * Renders a crash state as a readable trace: the operations up to the crash with the fate of
 * each effect (on media, kept, lost, torn), what recovery found on disk, and the invariant
 * that broke. Pure formatting of values the explorer produced.
 */
import type { History } from '../sim/history.js';
import type { Image } from '../sim/image.js';
import type { CrashPoint } from './crash-points.js';
import type { Choice } from './crash-states.js';
import type { Violation } from './explorer.js';
import { formatReplayId, type ReplayTarget } from './replay-id.js';

export interface TraceInput {
  readonly history: History;
  readonly point: CrashPoint;
  readonly choice: Choice;
  readonly image: Image;
  readonly violation: Violation | undefined;
  readonly replay: Omit<ReplayTarget, 'opsDone' | 'lost' | 'torn'>;
}

export function replayTargetOf(input: Omit<TraceInput, 'image' | 'violation' | 'history'>): ReplayTarget {
  const lost = input.point.candidates.filter((e) => !input.choice.has(e.id)).map((e) => e.id);
  const torn = input.point.candidates.filter((e) => input.choice.get(e.id) === 'garbage').map((e) => e.id);
  return { ...input.replay, opsDone: input.point.opsDone, lost, torn };
}

export function renderTrace(input: TraceInput): string {
  const { history, point, choice, image, violation } = input;
  const lines: string[] = [];
  const target = replayTargetOf(input);
  const onMedia = new Set(point.mediaIds);
  const fate = (id: number): string => {
    if (onMedia.has(id)) return 'on media (synced)';
    const variant = choice.get(id);
    if (variant === undefined) return 'LOST';
    return variant === 'garbage' ? 'TORN (landed as garbage)' : 'kept by the crash';
  };
  lines.push(`${target.scenario} / ${target.variant} on ${target.profile} (${target.device})`);
  lines.push(`  replay: carve lab --replay ${formatReplayId(target)}`);
  lines.push(`  power cut after operation ${point.opsDone} of ${history.ops.length}:`);
  let acked = 0;
  for (const op of history.ops.slice(0, point.opsDone)) {
    const outcome = op.outcome === 'ok' ? '' : `  -> ${op.outcome}`;
    lines.push(`    #${op.index + 1} ${op.call}${outcome}`);
    for (const id of op.issued) {
      lines.push(`         ${history.effects[id]!.label}: ${fate(id)}`);
    }
    for (const ack of history.acks) {
      if (ack.afterOps === op.index + 1) {
        lines.push(`       acknowledged: "${ack.label}"`);
        acked += 1;
      }
    }
  }
  if (acked < point.acknowledged.length) lines.push(`       acknowledged: ${point.acknowledged.length - acked} more`);
  lines.push('  what recovery found on disk:');
  const entries = image.walk();
  if (entries.length === 0) lines.push('    (empty)');
  for (const { path, inode } of entries) {
    const mode = `0o${inode.mode.toString(8).padStart(3, '0')}`;
    if (inode.kind === 'directory') lines.push(`    ${path}/  ${mode}`);
    else lines.push(`    ${path}  ${mode}  ${inode.sizeBytes} B  ${preview(inode.data.subarray(0, inode.sizeBytes))}`);
  }
  if (violation === undefined) lines.push('  every invariant holds in this state');
  else lines.push(`  invariant broken: ${violation.invariant}: ${violation.detail}`);
  return lines.join('\n');
}

/** A short rendering of file content: text when printable, else a summary. */
export function preview(data: Uint8Array, maxChars = 48): string {
  if (data.length === 0) return '(empty)';
  if (data.every((b) => b === 0)) return `<${data.length} zero bytes>`;
  const printable = data.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  if (printable) {
    const text = new TextDecoder().decode(data.subarray(0, maxChars));
    return JSON.stringify(text) + (data.length > maxChars ? '…' : '');
  }
  const zeros = data.filter((b) => b === 0).length;
  return `<${data.length} bytes, binary, ${zeros} zero>`;
}
