/**
 * src/client — a typed client of the Tessera HTTP API (`tessera-actors/client`). Self-contained: it
 * imports nothing from the rest of Tessera, so it runs in browsers as well as Node 20.
 */
export { TesseraClient } from './client.js';
export type { TesseraClientOptions } from './client.js';
export { TesseraHttpError, TesseraConnectionError } from './errors.js';
export type { ActorInfo, ActorSummary, CodeInfo, HistoryEvent, HistogramSummary, InstrumentedMetadata, LogLine, MessageInfo, Page, QueryResult, Reply, SendRequest, ServerStats, StateEntry, Uploaded, WorkflowInfo, WorkflowState } from './types.js';
