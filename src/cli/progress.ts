/** A stream progress may be drawn on: a terminal's (stderr), with its width. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

/** Uploads from this size on get a progress line. */
export const PROGRESS_MIN_BYTES = 1024 * 1024;

const mb = (n: number): string => (n / (1024 * 1024)).toFixed(1);

/**
 * The progress line of a large upload on a terminal: a bar while the file is read, then the time
 * spent while the guest is validated, instrumented and compiled (the code service reports no
 * progress of its own, so that phase shows as elapsed time). Drawn in place with `\r`, cleared by
 * `done()`; on a stream that is not a terminal it draws nothing, so scripts and logs stay clean.
 */
export class UploadProgress {
  private timer: NodeJS.Timeout | null = null;
  private drawn = false;

  constructor(
    private readonly out: ProgressStream,
    private readonly total: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether anything will be drawn: a terminal, and an upload large enough to wait for. */
  get active(): boolean {
    return this.out.isTTY === true && this.total >= PROGRESS_MIN_BYTES;
  }

  /** `read` bytes of the file are in. */
  reading(read: number): void {
    if (!this.active) return;
    const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - 40));
    const share = this.total === 0 ? 1 : Math.min(1, read / this.total);
    const full = Math.round(share * width);
    this.draw(`reading   [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${mb(read)}/${mb(this.total)} MB ${Math.round(share * 100)}%`);
  }

  /** The file is read; the store and the code service have it. Redraws the elapsed time until `done()`. */
  storing(): void {
    if (!this.active) return;
    const start = this.now();
    const tick = (): void => this.draw(`uploading ${mb(this.total)} MB: validating, instrumenting, compiling... ${((this.now() - start) / 1000).toFixed(1)} s`);
    tick();
    this.timer = setInterval(tick, 200);
    // A progress line never keeps the process alive.
    this.timer.unref();
  }

  /** Stops redrawing and clears the line (on success and on failure alike). */
  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  private draw(line: string): void {
    this.out.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }
}
