/** src/code — the code service: upload, lazy instrumentation, compiled-module cache. */
export { CodeService } from './service.js';
export type { CodeServiceOptions, CodeStats, CompiledCode, InstrumentedCode, ModuleProvider } from './service.js';
export { MissingOriginalCode, InstrumentationFailed, EngineCompileError, CodeTooLarge, CodeWorkerError } from './errors.js';
export { CodeWorkerPool } from './pool.js';
export type { PoolInstrumented } from './pool.js';
export type { CompileMode } from './protocol.js';
