// The HTTP API and its typed client (README, "HTTP API"): starts `tessera serve`'s server in this
// process on a free loopback port, then talks to it as another service would.
// Run from a checkout after `npm run build`: npx tsx examples/node/client.ts
import { readFile } from 'node:fs/promises';
import { Tessera } from 'tessera-actors';
import { TesseraClient, TesseraHttpError } from 'tessera-actors/client';
import { TesseraServer } from 'tessera-actors/server';

const t = await Tessera.open();
const server = await TesseraServer.start(t, { port: 0 });
try {
  const c = new TesseraClient({ url: server.url, token: process.env.TESSERA_TOKEN });
  const { codeId } = await c.upload(await readFile(new URL('../../build/guests/counter.wasm', import.meta.url)));
  try {
    await c.createActor({ codeId, id: 'counter' });
  } catch (err) {
    // A second run finds the actor of the first.
    if (!(err instanceof TesseraHttpError && err.code === 'ACTOR_EXISTS')) throw err;
  }
  const reply = await c.sendAndReply({ to: 'counter', payload: 'hi', gasLimit: 10_000_000n });
  console.log(`counter: ${new TextDecoder().decode(reply.payload ?? new Uint8Array())} (${reply.status})`);
  const id = await c.send({ to: 'counter' });
  console.log(`counter: ${new TextDecoder().decode((await c.reply(id)).payload ?? new Uint8Array())}`);
} finally {
  await server.close();
  await t.close();
}
