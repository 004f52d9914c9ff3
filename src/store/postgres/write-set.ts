/**
 * A write set in the form `tessera_apply` (migrations.ts) takes: runs of consecutive ops of one
 * kind as JSON text, and every byte field as a slice of one buffer.
 *
 * Why runs, and one function call (bench/postgres-commit.ts measures the options side by side):
 * node-postgres sends one statement at a time and waits for its answer, so a statement per op is
 * a round trip per op inside the transaction; the extended protocol takes no multi-statement text
 * with parameters; and data-modifying CTEs in one statement all see the same snapshot, so a
 * later op could not see an earlier one (a put then a delete of one key, events then a forget).
 * One call of a function that runs one set-based statement per run, in order, is one round trip
 * and keeps the ops' order. The bytes travel as one `bytea` parameter, which node-postgres sends in
 * binary (bytes inside JSON would be hex or base64: twice the size or more, and decoded again).
 * Measured here, two runs on a loaded machine: a 1,000-message write set took as long as
 * BEGIN + one `unnest` insert + COMMIT (0.99-1.08x) and 9.5-30x less than a statement per op; a
 * one-message write set half to two thirds of the time of either (1.55-2.1x, 1.8-2.1x).
 *
 * Within a run the statement sees all its rows at once, so ops that a later op of the run would
 * overwrite are folded here, keeping sequential meaning: the last put of a key wins, the last
 * status of a message with the last attempts given, adds to one data key are summed. Ops whose
 * duplicates must fail (an actor, a message, a batch created twice) are left for the database's
 * unique keys to refuse.
 */
import { assertNever, shardOf } from '../../util/index.js';
import { backgroundText } from '../background.js';
import type { WriteOp } from '../types.js';

/** What `tessera_apply` takes besides the owner and token. */
export interface EncodedWriteSet {
  /** JSON text: `[{ k: kind, r: rows }]`. */
  runs: string;
  /** Every byte field of the write set, back to back (a copy: the caller's bytes are not kept). */
  blob: Buffer;
}

type Kind = WriteOp['kind'];

/**
 * Where a write set lands in a sharded store: how many shards it has (a message goes to its
 * recipient's), the shard whose batch chain its batch ops extend, and, for a write set of a shard
 * processed in a cluster, the lease it must still hold (a `shard.fence` run, first).
 */
export interface ShardContext {
  shards: number;
  shard: number;
  fence?: { node: string; epoch: number };
}

const UNSHARDED: ShardContext = { shards: 1, shard: 0 };
type Row = Record<string, string | number | boolean | null | readonly string[]>;

/** Builds the blob as byte fields are added; each addition returns its offset and length. */
class Blob {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  add(b: Uint8Array): { o: number; n: number } {
    const at = { o: this.size, n: b.byteLength };
    this.parts.push(b);
    this.size += b.byteLength;
    return at;
  }

  /** One copy of every part, views into larger or shared buffers included. */
  build(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

const keyHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * The key under which a later op of the same kind replaces an earlier one in a run, or null for
 * kinds whose duplicates are kept (they either fail on a unique key, or repeat harmlessly).
 */
function foldKey(op: WriteOp): string | null {
  switch (op.kind) {
    case 'code.artefact':
      return JSON.stringify([op.artefact.runtimeVersion, op.artefact.optionsHash, op.artefact.codeId]);
    case 'code.failure':
      return JSON.stringify([op.failure.runtimeVersion, op.failure.optionsHash, op.failure.codeId]);
    case 'state.put':
      return JSON.stringify([op.actorId, keyHex(op.key)]);
    case 'message.status':
    case 'workflow.finish':
    case 'workflow.cancel':
    case 'workflow.park':
      return op.id;
    case 'reply.put':
      return op.reply.messageId;
    case 'workflow.event':
      return JSON.stringify([op.event.workflowId, op.event.location]);
    case 'workflow.data.put':
    case 'workflow.data.add':
      return op.key;
    case 'workflow.schedule':
      return op.name;
    case 'workflow.note':
      return JSON.stringify([op.note.workflowId, op.note.key]);
    case 'code.original':
    case 'state.delete':
    case 'actor.create':
    case 'timer.put':
    case 'timer.release':
    case 'actor.upgrade':
    case 'actor.delete':
    case 'message.enqueue':
    case 'batch.plan':
    case 'batch.commit':
    case 'workflow.create':
    case 'workflow.fence':
    case 'workflow.forget':
    case 'workflow.signal':
    case 'workflow.consume':
    case 'workflow.prune':
    case 'workflow.purge':
    case 'workflow.tick':
      return null;
    default:
      return assertNever(op, 'write op');
  }
}

/** `later` folded onto `earlier` of the same key: what applying both in order leaves. */
function fold(earlier: WriteOp, later: WriteOp): WriteOp {
  if (earlier.kind === 'message.status' && later.kind === 'message.status' && later.attempts === undefined && earlier.attempts !== undefined) {
    return { ...later, attempts: earlier.attempts };
  }
  if (earlier.kind === 'workflow.data.add' && later.kind === 'workflow.data.add') return { ...later, delta: earlier.delta + later.delta };
  return later;
}

/** The row of one op, its bytes added to `blob`. */
function row(op: WriteOp, blob: Blob, now: number, ctx: ShardContext): Row {
  switch (op.kind) {
    case 'code.original':
      return { id: op.codeId, ...blob.add(op.bytes), info: op.info, at: now };
    case 'code.artefact': {
      const a = op.artefact;
      return { rv: a.runtimeVersion, oh: a.optionsHash, id: a.codeId, ...blob.add(a.code), meta: a.metadata };
    }
    case 'code.failure': {
      const f = op.failure;
      return { rv: f.runtimeVersion, oh: f.optionsHash, id: f.codeId, reason: f.reason, engine: f.engine ?? null };
    }
    case 'state.put': {
      const k = blob.add(op.key);
      const v = blob.add(op.value);
      return { a: op.actorId, ko: k.o, kn: k.n, vo: v.o, vn: v.n };
    }
    case 'state.delete': {
      const k = blob.add(op.key);
      return { a: op.actorId, ko: k.o, kn: k.n };
    }
    case 'actor.create':
      return { a: op.actorId, c: op.codeId, at: now };
    case 'message.enqueue': {
      const m = op.message;
      return {
        id: m.id,
        s: m.sender,
        t: m.recipient,
        nonce: m.nonce,
        p: m.priority,
        gas: m.gasLimit.toString(),
        ...blob.add(m.payload),
        e: m.entry,
        ik: m.idempotencyKey,
        rh: m.requestHash ?? null,
        sh: shardOf(m.recipient, ctx.shards),
      };
    }
    case 'message.status':
      return { id: op.id, st: op.status, n: op.attempts ?? null };
    case 'reply.put': {
      const r = op.reply;
      const p = r.payload === null ? { o: 0, n: -1 } : blob.add(r.payload);
      return { id: r.messageId, st: r.status, err: r.error, ...p, gas: r.gasUsed.toString(), logs: r.logs, h: r.batchHeight };
    }
    case 'batch.plan':
      return { sh: ctx.shard, h: op.batch.height, ts: op.batch.timestamp, seed: op.batch.seed, ids: op.batch.messageIds, bg: backgroundText(op.batch) };
    case 'batch.commit':
      return { sh: ctx.shard, h: op.height };
    case 'timer.put': {
      const t = op.timer;
      return { id: t.id, s: t.sender, t: t.recipient, due: t.due, gas: t.gasLimit.toString(), ik: t.idempotencyKey, rh: t.requestHash, ...blob.add(t.payload) };
    }
    case 'timer.release':
      return { id: op.id };
    case 'actor.upgrade':
      return { a: op.actorId, c: op.codeId, h: op.height, at: now };
    case 'actor.delete':
      return { a: op.actorId };
    case 'workflow.create':
      return { id: op.id, name: op.name, input: op.input, now: op.now, parent: op.parentId ?? null, v: op.version ?? '', lo: op.lease?.owner ?? null, lu: op.lease?.until ?? 0 };
    case 'workflow.fence':
      return { id: op.id, owner: op.owner };
    case 'workflow.event': {
      const e = op.event;
      return { w: e.workflowId, l: e.location, kind: e.kind, name: e.name, res: e.result, err: e.error, fg: e.forgotten };
    }
    case 'workflow.forget':
      return { w: op.workflowId, lo: op.from, hi: op.to };
    case 'workflow.finish':
      return { id: op.id, st: op.status, out: op.output, err: op.error, now: op.now };
    case 'workflow.cancel':
      return { id: op.id, now: op.now };
    case 'workflow.data.put':
      return { key: op.key, v: op.value };
    case 'workflow.data.add':
      return { key: op.key, d: op.delta };
    case 'workflow.signal':
      return { w: op.workflowId, name: op.name, p: op.payload, now: op.now };
    case 'workflow.consume':
      return { w: op.workflowId, seq: op.seq, l: op.location };
    case 'workflow.park':
      return { id: op.id, wake: op.wakeAt, sig: op.signals, child: op.children, now: op.now };
    case 'workflow.prune':
      return { w: op.workflowId, l: op.loop, b: op.before, u: op.unwritten, now: op.now };
    case 'workflow.purge':
      return { names: op.names, b: op.finishedBefore, lim: op.limit };
    case 'workflow.schedule':
      return { s: op.name, wf: op.workflow, spec: op.spec, input: op.input, t: op.nextTick };
    case 'workflow.note': {
      const n = op.note;
      return { w: n.workflowId, key: n.key, kind: n.kind, detail: n.detail, at: n.at };
    }
    case 'workflow.tick':
      return { s: op.name, fr: op.from, t: op.to, wf: op.workflow, input: op.input, ids: op.ids, now: op.now, v: op.version };
    default:
      return assertNever(op, 'write op');
  }
}

/** Encodes a write set; throws (a `TypeError`) on a value that is not a write op. */
export function encodeWriteSet(ops: readonly WriteOp[], now = Date.now(), ctx: ShardContext = UNSHARDED): EncodedWriteSet {
  // Runs of one kind, each op folded under its key (a Map keeps the order of last occurrence,
  // which is the order a replaced workflow event must take).
  const runs: { k: Kind; ops: Map<string | number, WriteOp> }[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const key = foldKey(op) ?? i;
    let run = runs.at(-1);
    if (run?.k !== op.kind) runs.push((run = { k: op.kind, ops: new Map() }));
    const earlier = run.ops.get(key);
    if (earlier !== undefined) run.ops.delete(key);
    run.ops.set(key, earlier === undefined ? op : fold(earlier, op));
  }
  const blob = new Blob();
  // Rows that take arrival numbers carry their index: the statement inserts them in that order.
  const ordered = (k: Kind): boolean => k === 'message.enqueue' || k === 'workflow.event' || k === 'actor.upgrade' || k === 'workflow.signal';
  const encoded: { k: Kind | 'shard.fence'; r: Row[]; kk?: true }[] = runs.map((run) => {
    const r = [...run.ops.values()].map((op, i) => (ordered(run.k) ? { ...row(op, blob, now, ctx), i } : row(op, blob, now, ctx)));
    // A run with an idempotency key in it has it checked against the other table (apply.ts, keyClash); others skip that.
    return r.some((x) => x.ik != null) ? { k: run.k, r, kk: true } : { k: run.k, r };
  });
  if (ctx.fence) encoded.unshift({ k: 'shard.fence', r: [{ sh: ctx.shard, node: ctx.fence.node, epoch: ctx.fence.epoch }] });
  return { runs: JSON.stringify(encoded), blob: blob.build() };
}
