/**
 * src/wasm — the deterministic wasm rewriter: decoding, guest validation, gas metering, stack
 * limit, memory limit, and the host-side helpers for metered instances. Pure functions, no I/O.
 */
export { instrument } from './instrument.js';
export { warmUpModule, warmUpRounds } from './warm-up.js';
export {
  planInstrument,
  partRange,
  usefulParts,
  instrumentPart,
  instrumentClaimed,
  assembleInstrumented,
  InstrumentPlan,
  MIN_PART_CODE_BYTES,
} from './split.js';
export type { InstrumentedPart, ClaimedParts } from './split.js';
export {
  instrumentOptionsHash,
  DEFAULT_STACK_LIMIT,
  DEFAULT_MAX_MEMORY_PAGES,
  DEFAULT_MAX_TABLE_ELEMENTS,
  MAX_TABLE_ELEMENTS,
  GUEST_STACK_SIZE_MB,
  MEMORY_IMPORT,
} from './options.js';
export type { InstrumentOptions, CodeMetadata, Instrumented, OutputOptions } from './options.js';
export { validateGuest } from './guest.js';
export type { GuestInfo, GuestMode, GuestOptions } from './guest.js';
export { instantiationGas } from './limits.js';
export type { InstantiationShape } from './limits.js';
// Everything the ABI table declares is public: its entries, prices and limits.
export * from './abi.js';
export { DEFAULT_COST_TABLE, COST_TABLE_VERSION } from './costs.js';
export type { CostTable } from './costs.js';
export { COST_CLASSES } from './opcodes.js';
export { codeSectionSize } from './module.js';
export type { CostClass } from './opcodes.js';
export { RUNTIME_VERSION, INSTRUMENTER_VERSION } from './version.js';
export { MalformedModule, InvalidModule, ForbiddenInstruction, InvalidGuest, InstrumentationError, ModuleLimitExceeded } from './errors.js';
export {
  prepareInstance,
  runStart,
  gasLeft,
  setGasLeft,
  classifyTrap,
  instantiateMetered,
  GAS_EXPORT,
  STACK_EXPORT,
  START_EXPORT,
} from './meter.js';
export type { TrapKind } from './meter.js';
