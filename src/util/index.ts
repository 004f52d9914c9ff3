export { workerUrl } from './worker-url.js';
export { TesseraError, InvalidArgument, Closed } from './errors.js';
export { timeOrderedId } from './ids.js';
export { RecentMap } from './recent-map.js';
export type { RecentMapOptions } from './recent-map.js';
export { fromHex, toHex } from './hex.js';
export { assertNever } from './assert-never.js';
export { textView } from './text-view.js';
export { shardOf, fnv1a32 } from './shard.js';
