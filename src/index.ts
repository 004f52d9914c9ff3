/**
 * Tessera: durable, metered WebAssembly actors for Node.js.
 *
 * This is the package's public face; each layer re-exports its own public API here.
 */
export {};
