/**
 * What the public types promise, as code for the compiler (test/types/types.test.ts compiles it
 * against the built `dist/` declarations, as a user's project would). Lines after a
 * `@ts-expect-error TS<code>` directive are mistakes the types must catch, each with that error;
 * everything else must compile.
 */
import { expectTypeOf } from 'vitest';
import type { ExecutionStatus, QueryReply, Reply, ReplyStatus, StateEntry, Tessera, WorkflowHandle, WorkflowRef } from '../../src/index.js';

declare const t: Tessera;
declare const reply: Reply;

// A reply's status is a union: the engine's statuses and UnknownActor.
expectTypeOf(reply.status).toEqualTypeOf<ReplyStatus>();
expectTypeOf<ReplyStatus>().toEqualTypeOf<ExecutionStatus | 'UnknownActor'>();
if (reply.status === 'UnknownActor' || reply.status === 'OutOfGas') expectTypeOf(reply.status).toEqualTypeOf<'UnknownActor' | 'OutOfGas'>();
// @ts-expect-error TS2367 a misspelled status is no status a reply can have
if (reply.status === 'OutOfGs') console.log('never');
// @ts-expect-error TS2820 a reply's status is not any string (the compiler suggests 'ok')
const status: Reply['status'] = 'Ok';

// A workflow's reference carries its types to startWorkflow and to result().
const payout = t.workflow('payout', async (_ctx, input: { user: string; amount: number }) => `paid ${input.user} ${input.amount}`);
expectTypeOf(payout).toEqualTypeOf<WorkflowRef<{ user: string; amount: number }, string>>();
export async function typedWorkflows(): Promise<void> {
  const handle = await t.startWorkflow(payout, { user: 'bob', amount: 30 }, { id: 'payout-42' });
  expectTypeOf(handle).toEqualTypeOf<WorkflowHandle<string>>();
  expectTypeOf(await handle.result()).toEqualTypeOf<string>();
  // @ts-expect-error TS2769 a wrongly typed input (no overload matches: amount is a number)
  await t.startWorkflow(payout, { user: 'bob', amount: '30' });
  // @ts-expect-error TS2769 a missing field (no overload matches: amount is missing)
  await t.startWorkflow(payout, { user: 'bob' });
  const done = await t.startWorkflow(payout, { user: 'bob', amount: 30 });
  // @ts-expect-error TS2322 the result is the function's output, a string
  const n: number = await done.result();
  // The string form stays: the caller states the output type.
  const byName = await t.startWorkflow<{ user: string }, number>('payout', { user: 'bob' });
  expectTypeOf(await byName.result()).toEqualTypeOf<number>();
  console.log(n, status);
}

// A query's reply bytes are `payload`, as a message's are; `reply` stays, deprecated.
export async function queries(): Promise<void> {
  const q = await t.query('bank', new Uint8Array());
  expectTypeOf(q).toEqualTypeOf<QueryReply>();
  expectTypeOf(q.payload).toEqualTypeOf<Uint8Array | null>();
  expectTypeOf(q.payload).toEqualTypeOf<typeof reply.payload>();
  expectTypeOf(q.reply).toEqualTypeOf<Uint8Array | null>();
  expectTypeOf(q.status).toEqualTypeOf<ExecutionStatus>();
  // @ts-expect-error TS2367 a query's status is an execution's: UnknownActor is thrown, not returned
  if (q.status === 'UnknownActor') console.log('never');
}

// An actor's state comes as bytes with a text view of each key and value.
export async function actorState(): Promise<void> {
  const info = await t.actor('bank');
  expectTypeOf(info.state).toEqualTypeOf<StateEntry[]>();
  expectTypeOf(info.state[0]!.keyText).toEqualTypeOf<string>();
  expectTypeOf(info.state[0]!.value).toEqualTypeOf<Uint8Array>();
}
