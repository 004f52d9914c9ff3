/**
 * The outcome ring: how an execution worker hands outcomes back to the main thread without a
 * `postMessage` per execution. Each outcome is written the moment its execution ends (so one that
 * finished is never lost when the worker is terminated later, for a deadline, say: the shared
 * memory outlives the worker), and the main thread reads every outcome waiting whenever it looks.
 *
 * Wake-up: the main thread cannot sleep on shared memory without blocking its event loop, so the
 * worker posts a small ping — but only when the main thread is not already reading: the flag is
 * raised by whoever takes the duty to read (the worker, as it pings), and lowered by the main
 * thread when it has read everything, before it looks once more. Under load, one ping covers many
 * outcomes. An outcome too large to write inline goes on a port of its own, its place kept by a
 * `PORT` record.
 */
import { ByteRingReader, ByteRingWriter, FLAG, PORT } from './byte-ring.js';
import type { DoneMessage } from './protocol.js';
import { EXECUTION_STATUSES, LOG_LEVELS, type ExecutionStatus } from './types.js';

const F_MESSAGE = 1;
const F_REPLY = 2;
const F_WRITES = 4;
const F_SENDS = 8;
const F_LOGS = 16;
const F_READS = 32;
const F_EXIT_CODE = 64;
const F_OUTPUT = 128;

const STATUS_INDEX = new Map<ExecutionStatus, number>(EXECUTION_STATUSES.map((s, i) => [s, i]));

/** Upper bound of the size of an outcome's record. */
function bound(d: DoneMessage): number {
  let n = 8 + 48;
  if (d.message !== undefined) n += 4 + d.message.length * 3;
  if (d.reply) n += 4 + d.reply.length;
  if (d.writes) {
    n += 4;
    for (const w of d.writes) n += 8 + w.key.length + (w.value?.length ?? 0);
  }
  if (d.sends) {
    n += 4;
    for (const s of d.sends) n += 24 + s.to.length * 3 + s.payload.length;
  }
  if (d.logs) {
    n += 4;
    for (const l of d.logs) n += 8 + l.message.length * 3;
  }
  if (d.reads) {
    n += 4;
    for (const r of d.reads) n += 4 + r.length * 3;
  }
  if (d.exitCode !== undefined) n += 4;
  if (d.stdout || d.stderr) n += 8 + (d.stdout?.length ?? 0) + (d.stderr?.length ?? 0);
  return (n + 7) & ~7;
}

/** The worker's end. `ping` tells the main thread to read; `post` carries an outcome too large for the ring. */
export class OutcomeWriter extends ByteRingWriter {
  constructor(
    buffer: SharedArrayBuffer,
    private readonly ping: () => void,
    private readonly post: (d: DoneMessage) => void,
  ) {
    super(buffer);
  }

  /** Publishes an outcome: inline when it fits, else on the port with its place kept here. */
  write(d: DoneMessage): void {
    const need = bound(d);
    if (!this.fitsBound(need)) {
      this.post(d);
      this.writePort();
      return;
    }
    this.open(need);
    let flags = 0;
    if (d.message !== undefined) flags |= F_MESSAGE;
    if (d.reply) flags |= F_REPLY;
    if (d.writes) flags |= F_WRITES;
    if (d.sends) flags |= F_SENDS;
    if (d.logs) flags |= F_LOGS;
    if (d.reads) flags |= F_READS;
    if (d.exitCode !== undefined) flags |= F_EXIT_CODE;
    if (d.stdout || d.stderr) flags |= F_OUTPUT;
    this.u32(flags);
    this.i32(d.id);
    this.u32(STATUS_INDEX.get(d.status)!);
    this.i64(d.gasUsed);
    this.f64(d.startedAt);
    this.f64(d.instantiateMs);
    this.f64(d.runMs);
    if (d.message !== undefined) this.string(d.message);
    if (d.reply) this.bytesOrNull(d.reply);
    if (d.writes) {
      this.u32(d.writes.length);
      for (const w of d.writes) {
        this.bytesOrNull(w.key);
        this.bytesOrNull(w.value);
      }
    }
    if (d.sends) {
      this.u32(d.sends.length);
      for (const s of d.sends) {
        this.string(s.to);
        this.bytesOrNull(s.payload);
        this.i64(s.gasLimit);
        // -1: a plain send; else a timer's delay (at most 2^41).
        this.i64(s.delayMs === undefined ? -1n : BigInt(s.delayMs));
      }
    }
    if (d.logs) {
      this.u32(d.logs.length);
      for (const l of d.logs) {
        this.u32(LOG_LEVELS.indexOf(l.level));
        this.string(l.message);
      }
    }
    if (d.reads) {
      this.u32(d.reads.length);
      for (const r of d.reads) this.string(r);
    }
    if (d.exitCode !== undefined) this.i32(d.exitCode);
    if (d.stdout || d.stderr) {
      this.bytesOrNull(d.stdout ?? new Uint8Array(0));
      this.bytesOrNull(d.stderr ?? new Uint8Array(0));
    }
    this.close();
  }

  /** Pings unless the main thread is already reading (or pinged and about to). */
  protected wake(): void {
    if (Atomics.compareExchange(this.control, FLAG, 0, 1) === 0) this.ping();
  }
}

/** The main thread's end. `fromPort` takes the next outcome that went by port. */
export class OutcomeReader extends ByteRingReader {
  constructor(
    buffer: SharedArrayBuffer,
    private readonly fromPort: () => DoneMessage | undefined,
  ) {
    super(buffer);
  }

  /**
   * Hands every waiting outcome to `onOutcome`, in order, then lowers the flag and looks once
   * more: an outcome written after the last look but before the flag came down did not ping.
   * Call it on each ping; `final` (the worker is gone) reads what is left without the flag.
   */
  drain(onOutcome: (d: DoneMessage) => void, final = false): void {
    for (;;) {
      let d: DoneMessage | null | undefined;
      while ((d = this.nextRecord((kind) => (kind === PORT ? this.fromPort() : this.decode()))) !== null) {
        if (d) onOutcome(d);
      }
      if (final) return;
      Atomics.store(this.control, FLAG, 0);
      if (!this.ready()) return;
      // Written meanwhile: read it now, unless its writer has just pinged (then the ping will).
      if (Atomics.compareExchange(this.control, FLAG, 0, 1) !== 0) return;
    }
  }

  private decode(): DoneMessage {
    const flags = this.u32();
    const id = this.i32();
    const status = EXECUTION_STATUSES[this.u32()] ?? 'HostError';
    const gasUsed = this.i64();
    const startedAt = this.f64();
    const instantiateMs = this.f64();
    const runMs = this.f64();
    const d: DoneMessage = { type: 'done', id, status, gasUsed, startedAt, instantiateMs, runMs };
    if (flags & F_MESSAGE) d.message = this.string();
    if (flags & F_REPLY) d.reply = this.bytesOrNull() ?? new Uint8Array(0);
    if (flags & F_WRITES) d.writes = Array.from({ length: this.u32() }, () => ({ key: this.bytesOrNull() ?? new Uint8Array(0), value: this.bytesOrNull() }));
    if (flags & F_SENDS) {
      d.sends = Array.from({ length: this.u32() }, () => {
        const to = this.string();
        const payload = this.bytesOrNull() ?? new Uint8Array(0);
        const gasLimit = this.i64();
        const delay = this.i64();
        return delay < 0n ? { to, payload, gasLimit } : { to, payload, gasLimit, delayMs: Number(delay) };
      });
    }
    if (flags & F_LOGS) d.logs = Array.from({ length: this.u32() }, () => ({ level: LOG_LEVELS[this.u32()] ?? 'info', message: this.string() }));
    if (flags & F_READS) d.reads = Array.from({ length: this.u32() }, () => this.string());
    if (flags & F_EXIT_CODE) d.exitCode = this.i32();
    if (flags & F_OUTPUT) {
      d.stdout = this.bytesOrNull() ?? new Uint8Array(0);
      d.stderr = this.bytesOrNull() ?? new Uint8Array(0);
    }
    return d;
  }
}
