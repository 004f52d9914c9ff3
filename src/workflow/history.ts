import { NonDeterminism } from './errors.js';

/** Kinds of recorded effects. `loop` records a loop's checkpoint; `all` records nothing itself. */
export type EventKind = 'step' | 'transaction' | 'send' | 'query' | 'sleep' | 'now' | 'random' | 'loop';

/** What replay needs of a recorded event. */
export interface ReplayEvent {
  location: string;
  kind: string;
  name: string;
  result: string | null;
  error: string | null;
}

/** The location of the `index`-th effect of the branch at `path` (the root branch is `''`). */
export const childLocation = (path: string, index: number): string => (path === '' ? String(index) : `${path}/${index}`);

/** The branch a location belongs to and its index there. */
function splitLocation(location: string): [string, number] {
  const slash = location.lastIndexOf('/');
  return slash < 0 ? ['', Number(location)] : [location.slice(0, slash), Number(location.slice(slash + 1))];
}

/**
 * The replayer: the recorded events of one workflow run (forgotten ones excluded), matched against
 * what the code does, location by location. Pure: no I/O, no clock.
 *
 * Every effect has a location — its branch's path plus its index in that branch. Branches are the
 * workflow body (`''`), each loop iteration (`<loop>/<i>`) and each `ctx.all` branch
 * (`<all>/<i>`). A recorded event at the location the code reaches is returned instead of running
 * the effect, after checking it is the same kind and name; a finished branch must have visited
 * every recorded event in it.
 */
export class History {
  private readonly byLocation = new Map<string, ReplayEvent>();
  /** Branch path -> highest child index with a recorded event at or below it. */
  private readonly highestChild = new Map<string, number>();

  constructor(events: Iterable<ReplayEvent>) {
    for (const e of events) {
      this.byLocation.set(e.location, e);
      let location = e.location;
      while (location !== '') {
        const [parent, index] = splitLocation(location);
        const seen = this.highestChild.get(parent);
        if (seen !== undefined && seen >= index) break;
        this.highestChild.set(parent, index);
        location = parent;
      }
    }
  }

  /** How many recorded events replay can still return. */
  get size(): number {
    return this.byLocation.size;
  }

  /**
   * The recorded result of a leaf effect (step, send, sleep, ...) at `location`, or undefined when
   * the effect has not been recorded and must run.
   */
  leaf(location: string, kind: EventKind, name: string): ReplayEvent | undefined {
    const e = this.byLocation.get(location);
    if (e) {
      this.check(e, kind, name);
      return e;
    }
    if (this.highestChild.has(location)) {
      throw new NonDeterminism(location, `the code does ${kind} '${name}' where the history has a loop or parallel branches`);
    }
    return undefined;
  }

  /** The last checkpoint of the loop at `location`, if one was recorded. */
  loop(location: string, name: string): ReplayEvent | undefined {
    const e = this.byLocation.get(location);
    if (e) this.check(e, 'loop', name);
    return e;
  }

  /** Checks that `ctx.all` may open parallel branches at `location`. */
  parallel(location: string): void {
    const e = this.byLocation.get(location);
    if (e) throw new NonDeterminism(location, `the code runs parallel branches where the history has ${e.kind} '${e.name}'`);
  }

  /** Called when the branch at `path` finishes after `used` effects: nothing recorded may be left. */
  finishBranch(path: string, used: number): void {
    const highest = this.highestChild.get(path);
    if (highest !== undefined && highest >= used) {
      const location = childLocation(path, highest);
      const e = this.byLocation.get(location);
      const what = e ? `${e.kind} '${e.name}'` : 'nested events';
      throw new NonDeterminism(location, `the code finished its branch after ${used} effects but the history has ${what} there`);
    }
  }

  private check(e: ReplayEvent, kind: string, name: string): void {
    if (e.kind !== kind || e.name !== name) {
      throw new NonDeterminism(e.location, `the code does ${kind} '${name}' where the history has ${e.kind} '${e.name}'`);
    }
  }
}
