/**
 * An error answered by the server, rebuilt from its RFC 9457 problem document: `code` is the
 * server's stable error code (`UNKNOWN_ACTOR`, `INVALID_GUEST`, ...), `status` the HTTP status.
 */
export class TesseraHttpError extends Error {
  readonly code: string;
  readonly status: number;
  /** The server's description of this occurrence, when it gave one. */
  readonly detail: string | undefined;
  /** For INVALID_ARGUMENT: the argument at fault. */
  readonly field: string | undefined;

  constructor(status: number, code: string, title: string, detail?: string, field?: string) {
    super(detail ?? title);
    this.name = 'TesseraHttpError';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.field = field;
  }
}

/** The server could not be reached (after the retries), or the connection broke mid-request. */
export class TesseraConnectionError extends Error {
  readonly code = 'CONNECTION_FAILED';

  constructor(cause: unknown) {
    super('cannot reach the Tessera server', { cause });
    this.name = 'TesseraConnectionError';
  }
}

/** Builds the error of a failed response: from its problem document, or from the status alone. */
export async function errorOf(res: Response): Promise<TesseraHttpError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not a problem document: described by its status below
  }
  if (body !== null && typeof body === 'object') {
    const p = body as { code?: unknown; title?: unknown; detail?: unknown; field?: unknown };
    if (typeof p.code === 'string') {
      return new TesseraHttpError(res.status, p.code, typeof p.title === 'string' ? p.title : p.code, typeof p.detail === 'string' ? p.detail : undefined, typeof p.field === 'string' ? p.field : undefined);
    }
  }
  return new TesseraHttpError(res.status, `HTTP_${res.status}`, res.statusText || `HTTP ${res.status}`);
}
