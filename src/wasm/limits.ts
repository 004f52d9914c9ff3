import { InstrumentationError } from './errors.js';
import type { ModuleInfo } from './module.js';

/** Applies the memory limit to defined memories; null when nothing changes. */
export function limitMemories(m: ModuleInfo, limit: number): { min: number; max: number | null }[] | null {
  const defined = m.memories.filter((x) => !x.imported);
  if (defined.length === 0) return null;
  return defined.map(({ limits }) => {
    if (limits.min > limit) {
      throw new InstrumentationError(`memory minimum of ${limits.min} pages exceeds the limit of ${limit} pages`);
    }
    return { min: limits.min, max: limits.max === null ? limit : Math.min(limits.max, limit) };
  });
}

