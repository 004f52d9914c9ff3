import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesseraClient } from '../../src/client/index.js';
import { eventually, guest, registerTestWorkflows, serve, type Served } from '../server/helpers.js';

/** Debian's Chromium (`.ci/install-toolchains` installs it). */
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`dashboard browser test skipped: ${CHROMIUM} is absent (apt-get install chromium)`);
/** Without the networking flags Chromium stalls on a closed network. */
const launch = () => chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
/** Screenshots go here (gitignored). */
const OUT = join(import.meta.dirname, '..', '..', '.tmp', 'dashboard');

describe.skipIf(!haveChromium)('the dashboard in Chromium', () => {
  let s: Served;
  let c: TesseraClient;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    s = await serve();
    c = s.client();
    registerTestWorkflows(s.tessera);
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    expect(consoleErrors).toEqual([]);
  });

  const open = async (hash: string): Promise<void> => {
    await page.goto(`${s.url}/#${hash}`);
    await page.waitForFunction(() => !document.getElementById('main')!.textContent!.includes('Loading…'));
  };
  const shot = (name: string) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });

  it('overview: live charts move with traffic', async () => {
    const actor = await c.createActor({ codeId: (await c.upload(guest('kv'))).codeId, id: 'overview-actor' });
    await open('/');
    await page.waitForSelector('.chart canvas');
    expect(await page.locator('.chart').count()).toBe(6);
    for (let i = 0; i < 20; i++) await c.sendAndReply({ to: actor, payload: `put n${i} ${i}` });
    // The messages/s chart shows a rate above zero within a few polls.
    await expect.poll(async () => page.locator('.chart').first().locator('.title span').textContent(), { timeout: 30_000 }).toMatch(/^[1-9]|^0\.[1-9]/);
    await shot('overview');
    expect(await page.locator('.figures').textContent()).toContain('pending');
  });

  it('actors: an actor created through the API, its reply and state', async () => {
    const codeId = (await c.upload(guest('kv'))).codeId;
    await c.createActor({ codeId, id: 'browser-kv' });
    const reply = await c.sendAndReply({ to: 'browser-kv', payload: 'put colour blue' });
    expect(reply.status).toBe('ok');
    await open('/actors');
    await page.fill('input[name=prefix]', 'browser');
    await page.click('form button');
    await page.waitForSelector('a[href="#/actors/browser-kv"]');
    await page.click('a[href="#/actors/browser-kv"]');
    await page.waitForSelector('h1:has-text("Actor browser-kv")');
    const text = await page.locator('main').textContent();
    expect(text).toContain('k:colour');
    expect(text).toContain('blue');
    expect(text).toContain('put colour blue');
    expect(text).toContain(reply.messageId);
    // Sent from the page: the reply shows, and the new state with it.
    await page.fill('input[name=payload]', 'put size large');
    await page.click('button:has-text("Send and wait")');
    await page.waitForSelector('td:has-text("large")');
    await shot('actor');
    await page.click('a:has-text("(as hex)")');
    await page.waitForSelector('td:has-text("0x6b3a636f6c6f7572")');
    // A message by id.
    await open(`/messages/${encodeURIComponent(reply.messageId)}`);
    await page.waitForSelector('td:has-text("put colour blue")');
    expect(await page.locator('main').textContent()).toContain('ok');
    await shot('message');
  });

  it("workflows: a history as a tree, forgotten iterations on request, cancel", async () => {
    const loop = await s.tessera.startWorkflow('looper', null, { id: 'wf-loop' });
    expect(await loop.result()).toBe(3);
    await open('/workflows');
    await page.waitForSelector('a[href="#/workflows/wf-loop"]');
    await page.click('a[href="#/workflows/wf-loop"]');
    await page.waitForSelector('.tree li');
    const shown = await page.locator('.tree li').count();
    await page.click('a:has-text("show forgotten iterations")');
    await page.waitForSelector('.tree li.forgotten');
    expect(await page.locator('.tree li').count()).toBeGreaterThan(shown);
    // Nested locations are nested in the tree.
    expect(await page.locator('.tree li li').count()).toBeGreaterThan(0);
    await shot('workflow');

    await s.tessera.startWorkflow('sleepy', null, { id: 'wf-sleepy' });
    await eventually(async () => ((await c.workflow('wf-sleepy')).history.length > 0 ? true : undefined));
    await open('/workflows/wf-sleepy');
    await page.click('#cancel');
    await eventually(async () => ((await c.workflow('wf-sleepy')).status === 'cancelled' ? true : undefined));
    await open('/workflows?status=cancelled');
    await page.waitForSelector('a[href="#/workflows/wf-sleepy"]');
  });

  it('codes: metadata and instrumentation per runtime version', async () => {
    const { codeId } = await c.upload(guest('kv'));
    await open('/codes');
    await page.click(`a[href="#/codes/${codeId}"]`);
    await page.waitForSelector('h2:has-text("Instrumentation")');
    const text = await page.locator('main').textContent();
    expect(text).toContain(codeId);
    expect(text).toContain('instrumented');
    expect(text).toContain('handle');
    await shot('code');
  });
});

describe.skipIf(!haveChromium)('the dashboard with a tokens file', () => {
  it('asks for a token once and keeps it for the session', async () => {
    const { hashToken, parseTokens } = await import('../../src/server/index.js');
    const s = await serve({ tokens: parseTokens(`read viewer ${hashToken('let-me-see')}\n`) });
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.goto(`${s.url}/#/codes`);
      await page.waitForSelector('#token');
      await page.fill('#token', 'let-me-see');
      await page.click('button:has-text("Use token")');
      await page.waitForSelector('h1:has-text("Codes")');
      await page.goto(`${s.url}/#/workflows`);
      await page.waitForSelector('h1:has-text("Workflows")');
    } finally {
      await browser.close();
      await s.close();
    }
  });
});
