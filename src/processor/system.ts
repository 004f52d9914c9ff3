/**
 * System messages: an actor's upgrade and deletion travel through the pool as messages, so they
 * take their turn in the actor's order (and in their sender's). What marks one is its `entry`,
 * which for every other message is `handle`: a sender cannot choose an entry (`SendRequest` has
 * none), so no ordinary message can pass for a system one.
 */
import type { ExecutionResult } from '../exec/index.js';
import { InvalidMessage } from './errors.js';

/** The entry of an upgrade's message: the prefix, then the new code's id. */
const UPGRADE = 'tessera:upgrade:';
/** The entry of a deletion's message. */
export const DELETE_ENTRY = 'tessera:delete';

/** Default gas of an upgrade or a deletion (its `migrate` or `final`). */
const SYSTEM_GAS = 100_000_000n;

/** A system message's gas: default 10^8, never over the slice (so it never runs in the background). */
export function systemGas(sliceGas: bigint, gasLimit: bigint | undefined): bigint {
  const gas = gasLimit ?? (sliceGas < SYSTEM_GAS ? sliceGas : SYSTEM_GAS);
  if (gas > sliceGas) throw new InvalidMessage(`an upgrade or a deletion may carry at most batchSliceGas (${sliceGas}) gas`);
  return gas;
}

/** What a system message does at its turn. */
export type SystemAction = { kind: 'upgrade'; codeId: string } | { kind: 'delete' };

/** The entry that upgrades an actor to `codeId`. */
export const upgradeEntry = (codeId: string): string => UPGRADE + codeId;

/** The action of a message's entry, or null for an ordinary message. */
export function systemAction(entry: string): SystemAction | null {
  if (entry === DELETE_ENTRY) return { kind: 'delete' };
  if (entry.startsWith(UPGRADE)) return { kind: 'upgrade', codeId: entry.slice(UPGRADE.length) };
  return null;
}

/**
 * The outcome of a system message that ran no guest code (an upgrade to code without `migrate`,
 * a deletion of an actor without `final`, or one refused before running): nothing used, nothing
 * written; `ok`, or a deterministic failure with its reason.
 */
export function noRun(status: 'ok' | 'InvalidCode' | 'MissingCode', message?: string): ExecutionResult {
  return {
    status,
    ...(status === 'ok' ? {} : { error: { code: status, message: message ?? status } }),
    reply: null,
    gasUsed: 0n,
    writes: [],
    sends: [],
    logs: [],
    reads: [],
    timings: { queueWait: 0, codeLookup: 0, compile: 0, instantiate: 0, run: 0, total: 0 },
  };
}
