import { TesseraError } from '../util/index.js';

/** The HTTP API's own errors: each has a stable code and a status in the table of problems.ts. */

/** No bearer token, or one that matches no line of the tokens file. */
export class Unauthorized extends TesseraError {
  constructor() {
    super('UNAUTHORIZED', 'a valid bearer token is required');
  }
}

/** The token's role does not allow the route (roles: admin ⊇ client ⊇ read; metrics apart). */
export class Forbidden extends TesseraError {
  constructor(readonly required: string) {
    super('FORBIDDEN', `this request needs the ${required} role`);
  }
}

/** No route for this method and path. */
export class RouteNotFound extends TesseraError {
  constructor() {
    super('NOT_FOUND', 'no such route');
  }
}

/** A message id that names no message. */
export class UnknownMessage extends TesseraError {
  constructor() {
    super('UNKNOWN_MESSAGE', 'no such message');
  }
}

/** A code id that names no stored code. */
export class UnknownCode extends TesseraError {
  constructor() {
    super('UNKNOWN_CODE', 'no such code');
  }
}

/** An actor state key that is not set. */
export class UnknownKey extends TesseraError {
  constructor() {
    super('UNKNOWN_KEY', 'no such key');
  }
}

/** A body whose content type the route does not take; `expected` lists what it takes. */
export class UnsupportedMediaType extends TesseraError {
  constructor(readonly expected: readonly string[]) {
    super('UNSUPPORTED_MEDIA_TYPE', `expected a body of type ${expected.join(' or ')}`);
  }
}

/** A route of the API that this version does not serve yet. */
export class NotImplemented extends TesseraError {
  constructor(what: string) {
    super('NOT_IMPLEMENTED', `${what} is not available in this version`);
  }
}

/** More requests in flight than the server takes at once; retry later. */
export class ServerBusy extends TesseraError {
  constructor() {
    super('SERVER_BUSY', 'too many requests in flight, retry later');
  }
}

/** A line of the tokens file that is not `role name sha256hex`. */
export class InvalidTokensFile extends TesseraError {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super('INVALID_TOKENS_FILE', `tokens file, line ${line}: ${reason}`);
  }
}

/** A non-loopback address without a tokens file: anyone who can reach it could run code. */
export class InsecureBind extends TesseraError {
  constructor(readonly host: string) {
    super('INSECURE_BIND', `refusing to listen on ${host} without a tokens file (only loopback addresses may go without)`);
  }
}

/** The engine turned an execution away (its queue is full); retry later. */
export class Busy extends TesseraError {
  constructor() {
    super('BUSY', 'the engine is at capacity, retry later');
  }
}
