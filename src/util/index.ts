export { workerUrl } from './worker-url.js';
export { TesseraError } from './errors.js';
export { timeOrderedId } from './ids.js';
