// Worker bootstrap for tests: lets a worker thread load a TypeScript entry (given as
// workerData.entry) through tsx, since test helpers are not part of the built package.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
