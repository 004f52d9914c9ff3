import { NonDeterminism } from './errors.js';

/**
 * Kinds of recorded effects. `loop` records a loop's checkpoint; `all` records nothing itself;
 * `patch` is the marker `ctx.patched` leaves; `signal` and `child` are waits (waits.ts).
 */
export type EventKind = 'step' | 'transaction' | 'send' | 'query' | 'sleep' | 'now' | 'random' | 'loop' | 'signal' | 'child' | 'patch';

/** What the history holds at a location where `ctx.patched` asks (see {@link History.patch}). */
export type PatchLookup = 'marker' | 'other' | 'none';

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
      throw new NonDeterminism(location, { recorded: { kind: 'nested', name: '' }, attempted: { kind, name } });
    }
    return undefined;
  }

  /**
   * For `ctx.patched(id)` at `location`: `marker` when the history has this patch's marker there,
   * `other` when it has another effect there (a run recorded before the patch), `none` when it
   * has nothing there (the code runs there for the first time). A marker of another patch there
   * is a `NonDeterminism`.
   */
  patch(location: string, id: string): PatchLookup {
    const e = this.byLocation.get(location);
    if (e?.kind === 'patch') {
      this.check(e, 'patch', id);
      return 'marker';
    }
    return e !== undefined || this.highestChild.has(location) ? 'other' : 'none';
  }

  /** Whether anything is recorded at or under `location`. */
  has(location: string): boolean {
    return this.byLocation.has(location) || this.highestChild.has(location);
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
    if (e) throw new NonDeterminism(location, { recorded: { kind: e.kind, name: e.name }, attempted: { kind: 'all', name: '' } });
  }

  /** Called when the branch at `path` finishes after `used` effects: nothing recorded may be left. */
  finishBranch(path: string, used: number): void {
    const highest = this.highestChild.get(path);
    if (highest !== undefined && highest >= used) {
      // The first event the code left unvisited, where the person reading the error should look.
      const first = childLocation(path, used);
      const location = this.has(first) ? first : childLocation(path, highest);
      const e = this.byLocation.get(location);
      throw new NonDeterminism(location, { recorded: e ? { kind: e.kind, name: e.name } : { kind: 'nested', name: '' }, attempted: null });
    }
  }

  private check(e: ReplayEvent, kind: string, name: string): void {
    if (e.kind !== kind || e.name !== name) {
      throw new NonDeterminism(e.location, { recorded: { kind: e.kind, name: e.name }, attempted: { kind, name } });
    }
  }
}
