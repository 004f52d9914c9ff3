import type { FastifyReply } from 'fastify';
import { PayloadTooLarge } from '../api/index.js';
import { CodeTooLarge, InstrumentationFailed, MissingOriginalCode } from '../code/index.js';
import { BudgetExceeded } from '../exec/index.js';
import { ActorExists, IdempotencyConflict, InitFailed, UnknownActor } from '../processor/index.js';
import { Closed, InvalidArgument, TesseraError } from '../util/index.js';
import { ForbiddenInstruction, InvalidGuest, InvalidModule, MalformedModule, ModuleLimitExceeded } from '../wasm/index.js';
import { UnknownWorkflow, UnregisteredWorkflow, WorkflowIdConflict } from '../workflow/index.js';
import { Busy, Forbidden, InsecureBind, NotImplemented, RouteNotFound, ServerBusy, Unauthorized, UnknownCode, UnknownKey, UnknownMessage, UnsupportedMediaType } from './errors.js';

/** An RFC 9457 problem document, as the API sends it (`application/problem+json`). */
export interface Problem {
  /** `urn:tessera:error:<CODE>`: ends in the error's stable code. */
  type: string;
  /** The same for every occurrence of the code. */
  title: string;
  status: number;
  /** What went wrong this time; only for errors whose message is meant for callers (never a 5xx). */
  detail?: string;
  /** The stable code, also at the end of `type`. */
  code: string;
  /** For INVALID_ARGUMENT: the argument at fault. */
  field?: string;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Errors to HTTP statuses, in one table: the first class an error is an instance of decides.
 * Anything not listed is a 500 whose details go to the log only.
 */
const STATUSES: readonly (readonly [ErrorClass, number])[] = [
  [InvalidArgument, 400],
  [Unauthorized, 401],
  [Forbidden, 403],
  [UnknownActor, 404],
  [UnknownWorkflow, 404],
  [UnregisteredWorkflow, 404],
  [MissingOriginalCode, 404],
  [UnknownCode, 404],
  [UnknownKey, 404],
  [UnknownMessage, 404],
  [RouteNotFound, 404],
  [ActorExists, 409],
  [IdempotencyConflict, 409],
  [WorkflowIdConflict, 409],
  [PayloadTooLarge, 413],
  [CodeTooLarge, 413],
  [UnsupportedMediaType, 415],
  [InvalidGuest, 422],
  [MalformedModule, 422],
  [InvalidModule, 422],
  [ModuleLimitExceeded, 422],
  [ForbiddenInstruction, 422],
  [InstrumentationFailed, 422],
  [InitFailed, 422],
  [BudgetExceeded, 429],
  [NotImplemented, 501],
  [ServerBusy, 503],
  [Busy, 503],
  [Closed, 503],
  [InsecureBind, 500],
];

/** `INVALID_GUEST` -> `Invalid guest`: a title fixed by the code alone. */
export const titleOf = (code: string): string => {
  const words = code.toLowerCase().split('_');
  return [words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1), ...words.slice(1)].join(' ');
};

/** The HTTP status of an error (500 for anything the table does not list). */
export function statusOf(err: unknown): number {
  for (const [cls, status] of STATUSES) if (err instanceof cls) return status;
  return 500;
}

/** A problem document for `status` and `code`, with `detail` when the caller may see it. */
export function problem(status: number, code: string, detail?: string, field?: string): Problem {
  const p: Problem = { type: `urn:tessera:error:${code}`, title: titleOf(code), status, code };
  if (detail !== undefined) p.detail = detail;
  if (field !== undefined) p.field = field;
  return p;
}

/** Answers with problem document `p`, under its status. */
export const sendProblem = (reply: FastifyReply, p: Problem): FastifyReply => reply.code(p.status).type('application/problem+json').send(p);

/**
 * The problem document of an error. A Tessera error below 500 carries its message as `detail`
 * (Tessera's messages are written for callers: they name the argument, the import, the actor);
 * a 5xx says only what kind of failure it was, and a foreign error is an INTERNAL_ERROR.
 */
export function toProblem(err: unknown): Problem {
  const status = statusOf(err);
  if (!(err instanceof TesseraError)) return problem(500, 'INTERNAL_ERROR');
  if (status >= 500) return problem(status, status === 500 ? 'INTERNAL_ERROR' : err.code);
  return problem(status, err.code, err.message, err instanceof InvalidArgument ? err.field : undefined);
}
