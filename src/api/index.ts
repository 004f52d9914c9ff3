/** src/api — what the public API checks at its door: argument validation, payload limits, closing. */
export {
  MAX_ID_BYTES,
  MAX_GAS_LIMIT,
  MIN_PRIORITY,
  MAX_PRIORITY,
  DEFAULT_MAX_PAYLOAD_BYTES,
  describe,
  checkString,
  checkId,
  checkOptionalId,
  checkCodeId,
  checkGasLimit,
  checkInteger,
  checkPriority,
  checkNumber,
  checkBoolean,
  checkOneOf,
  checkFunction,
  checkObject,
  checkKnownKeys,
  checkBytes,
  copyBytes,
  parseGasLimit,
  parseInteger,
  checkStoreSpec,
} from './validate.js';
export { PayloadTooLarge, TesseraClosed } from './errors.js';
export { CallGate } from './gate.js';
export { checkCreateActor, checkSend, checkQueryOptions, checkStartOptions, checkCloseOptions, checkOpenOptions, checkAccountBudgets } from './requests.js';
export type { CreateActorArgs, SendArgs } from './requests.js';
export { checkUpgrade, checkDelete, checkPage, checkStatePage, MAX_PAGE } from './actors.js';
export type { UpgradeArgs, DeleteArgs, PageArgs, StatePageArgs } from './actors.js';
