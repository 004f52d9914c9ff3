import { InstrumentationFailed, MissingOriginalCode, type CodeService } from '../code/index.js';
import { RecentMap } from '../util/index.js';
import type { StateCache } from './state-cache.js';

/** What planning and system messages ask of an actor's code: whether it sends, and its entry points. */
export class CodeFacts {
  /** Whether a code imports `tessera.send`, by code id (fixed for a code, so never stale). */
  private readonly sends = new RecentMap<string, boolean>({ max: 10_000 });

  constructor(
    private readonly codes: CodeService,
    private readonly cache: StateCache,
  ) {}

  /**
   * Of these actors, those whose code imports no `tessera.send`: their messages cannot produce
   * any, so planning does not count them against `maxBatchProduced` (a counter's increments would
   * otherwise be bounded as if each could send 1,024 messages). Unknown actors and codes that fail
   * to load count as silent or not as the safe side has it: an unknown actor produces nothing, a
   * code whose metadata cannot be read is assumed to send.
   */
  async silentActors(actors: readonly string[]): Promise<ReadonlySet<string>> {
    const silent = new Set<string>();
    const codes = await this.cache.codesOf(actors);
    for (const actor of actors) {
      const codeId = codes.get(actor) ?? null;
      if (codeId === null) {
        silent.add(actor);
        continue;
      }
      let sends = this.sends.get(codeId);
      if (sends === undefined) {
        try {
          const { metadata } = await this.codes.instrumented(codeId);
          sends = metadata.imports.some((i) => i.module === 'tessera' && i.name === 'send');
        } catch {
          sends = true;
        }
        this.sends.set(codeId, sends);
      }
      if (!sends) silent.add(actor);
    }
    return silent;
  }

  /** A code's entry points; a missing or invalid code is a deterministic status, not a throw. */
  async entryPoints(codeId: string): Promise<string[] | { status: 'MissingCode' | 'InvalidCode'; message: string }> {
    try {
      return (await this.codes.instrumented(codeId)).metadata.entryPoints;
    } catch (err) {
      if (err instanceof MissingOriginalCode) return { status: 'MissingCode', message: `no code ${codeId}` };
      if (err instanceof InstrumentationFailed) return { status: 'InvalidCode', message: err.message };
      throw err;
    }
  }
}
