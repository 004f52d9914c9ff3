import type { WorkflowLimit } from '../store/index.js';
import { InvalidWorkflowOptions } from './errors.js';

/**
 * Options of a registered workflow: limits on its runs, enforced by the store when a runner claims
 * one, so they hold across every runner on the store (each should register the same limits).
 */
export interface WorkflowRegistration {
  /** At most this many runs at once (runs whose lease has not expired count). */
  concurrency?: number;
  /** At most this many runs started a second, on average; bursts up to `max(1, perSecond)`. */
  perSecond?: number;
}

/** The registration's limits as the claim takes them, checked; undefined when there are none. */
export function workflowLimit(options: WorkflowRegistration | undefined): WorkflowLimit | undefined {
  if (options === undefined) return undefined;
  const { concurrency, perSecond } = options;
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) throw new InvalidWorkflowOptions('concurrency must be an integer >= 1');
  if (perSecond !== undefined && !(Number.isFinite(perSecond) && perSecond > 0)) throw new InvalidWorkflowOptions('perSecond must be a finite number > 0');
  if (concurrency === undefined && perSecond === undefined) return undefined;
  return { ...(concurrency !== undefined && { concurrency }), ...(perSecond !== undefined && { perSecond }) };
}
