import { ABI_VERSION } from './abi.js';
import { COST_TABLE_VERSION } from './costs.js';

/**
 * Version of the instrumenter's output format. Bump it whenever `instrument` would produce
 * different bytes for the same input and options; the golden-hash test fails until you do.
 */
export const INSTRUMENTER_VERSION = 9;

/**
 * Key under which derived artefacts (instrumented code, metadata) are cached. It changes when the
 * instrumenter or the default cost table changes, so stale artefacts are re-derived lazily, and
 * when the host calls' prices or limits do (ABI_VERSION): they change no artefact, but they are
 * part of what a message's gas and outcome are, which every node running a version must agree on.
 */
export const RUNTIME_VERSION = `i${INSTRUMENTER_VERSION}-${COST_TABLE_VERSION}-${ABI_VERSION}`;
