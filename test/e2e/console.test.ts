// The browser console end to end in real headless Chromium (Debian's
// chromium, driven by playwright-core) against the demo SEV guest exactly as
// `npm start` builds it: load the page, read linux_banner through the memory
// view, run `info mem` in the HMP terminal, compare the hypervisor's view
// (ciphertext) with the debug object's (plaintext), save a screenshot.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { buildMachine, parseCli } from '../../src/cli.js';
import { makeContext, type CommandContext } from '../../src/commands/index.js';
import { DEMO, LINUX_BANNER } from '../../src/guests/demo.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');
const STRING_VA = `0x${DEMO.bannerVa.toString(16)}`;
const KNOWN = LINUX_BANNER.slice(0, 48);
const next16 = (va: string): string => (BigInt(va) + 16n).toString(16);

let ctx: CommandContext;

let server: RpcServer;
let browser: BrowserContext;
let page: Page;
let profile: string;

/** The slice of the DOM the page-side checks use (the test compiles without lib.dom). */
type PageGlobal = { document: { querySelector(s: string): { textContent: string | null } | null } };

/** Wait until an element's text equals (or contains) `text`; the check runs in the page (no eval: the CSP forbids it). */
function waitText(selector: string, text: string, exact = false): Promise<unknown> {
  return page.waitForFunction(
    ([sel, want, whole]) => {
      const v = (globalThis as unknown as PageGlobal).document.querySelector(sel)?.textContent ?? '';
      return whole ? v === want : v.includes(want);
    },
    [selector, text, exact] as const,
  );
}

describe.skipIf(!existsSync(CHROMIUM))('browser console in headless Chromium', () => {
  beforeAll(async () => {
    const { machine, ops } = await buildMachine(parseCli([]));
    ctx = makeContext(machine, ops, { quit: () => undefined });
    server = await startRpcServer({ host: '127.0.0.1', port: 0, ctx, hmp: (c) => new HmpExecutor(c) });
    profile = mkdtempSync(join(tmpdir(), 'cgmon-chromium-'));
    // A temp profile (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1600, height: 900 },
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
    page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('connects and draws the address-space map from the page walk', async () => {
    expect(await page.textContent('#connection')).toBe('connected');
    expect(await page.textContent('#map-summary')).toMatch(/^la48 paging · \d+ ranges/);
    const ranges = await page.$$eval('#map-list .range code', (els) => els.map((e) => e.textContent ?? ''));
    expect(ranges.some((r) => r.startsWith(DEMO.kernelVa.toString(16)))).toBe(true);
    const kinds = await page.$$eval('#map-list .range .kind', (els) => els.map((e) => e.textContent));
    expect(kinds).toContain('private');
    expect(kinds).toContain('shared');
    expect(await page.textContent('#debug-object')).toBe('debug=sev-guest-debug');
  });

  it('reads a known string from guest memory through the memory view', async () => {
    await page.fill('#mem-addr', STRING_VA);
    await page.selectOption('#mem-space', 'virtual');
    await page.click('#mem-form button');
    await waitText('#mem-view .mem-row .addr', STRING_VA.slice(2), true);
    const ascii = (await page.$$eval('#mem-view .mem-row .ascii', (els) => els.map((e) => e.textContent).join(''))).slice(0, KNOWN.length);
    expect(ascii).toBe(KNOWN);
    const firstHex = await page.textContent('#mem-view .mem-row .hex');
    const want = [...Buffer.from(KNOWN.slice(0, 5), 'latin1')].map((b) => b.toString(16).padStart(2, '0'));
    expect(firstHex?.trim().split(/\s+/).slice(0, 5)).toEqual(want);
  });

  it('follows the view as it scrolls', async () => {
    await page.focus('#mem-view');
    await page.keyboard.press('ArrowDown');
    await waitText('#mem-view .mem-row .addr', next16(STRING_VA), true);
    expect(await page.inputValue('#mem-addr')).toBe(`0x${next16(STRING_VA)}`);
    await page.keyboard.press('ArrowUp');
    await waitText('#mem-view .mem-row .addr', STRING_VA.slice(2), true);
    // The wheel moves four rows a notch.
    await page.hover('#mem-view');
    await page.mouse.wheel(0, 100);
    await waitText('#mem-view .mem-row .addr', (BigInt(STRING_VA) + 64n).toString(16), true);
    await page.mouse.wheel(0, -100);
    await waitText('#mem-view .mem-row .addr', STRING_VA.slice(2), true);
  });

  it('runs info mem in the HMP terminal and shows the executor’s exact text', async () => {
    const want = (await new HmpExecutor(ctx).run('info mem')).replace(/\r\n/g, '\n');
    expect(want).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16} [0-9a-f]{16} [-u][-r][-w]\n/);
    await page.fill('#term-in', 'info mem');
    await page.press('#term-in', 'Enter');
    await waitText('#term-out', want.slice(-30));
    expect(await page.textContent('#term-out')).toBe(`(qemu) info mem\n${want}`);
  });

  it('shows machine events as they arrive (stop/cont from the terminal)', async () => {
    await page.fill('#term-in', 'stop');
    await page.press('#term-in', 'Enter');
    await waitText('#term-out', '[event] STOP');
    await waitText('#run-state', 'paused', true);
    await page.fill('#term-in', 'cont');
    await page.press('#term-in', 'Enter');
    await waitText('#term-out', '[event] RESUME');
    await waitText('#run-state', 'running', true);
  });

  it('shows the page as the hypervisor sees it (ciphertext) beside the debug object (plaintext)', async () => {
    const bytes = [...Buffer.from(KNOWN.slice(0, 5), 'latin1')].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    await waitText('#cc-where', STRING_VA.slice(2));
    await waitText('#cc-debug', bytes);
    const host = (await page.textContent('#cc-host')) ?? '';
    expect(host).toMatch(new RegExp(`^${STRING_VA.slice(-8)} {2}([0-9a-f]{2} ){16}`));
    expect(host).not.toContain(bytes);
    expect(await page.$$eval('#cc-debug .diff', (els) => els.length)).toBeGreaterThan(100);
  });

  it('carries the token from its URL; without it the console says it is not connected', async () => {
    const guarded = await startRpcServer({ host: '127.0.0.1', port: 0, ctx, token: 'e2e-token' });
    const other = await browser.newPage();
    try {
      await other.goto(guarded.url);
      await other.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
      expect(await other.textContent('#connection')).toBe('connected');
      await other.goto(`http://127.0.0.1:${guarded.port}/`);
      await other.waitForSelector('#connection.deny', { timeout: 20_000 });
      expect(await other.textContent('#connection')).toMatch(/^not connected/);
    } finally {
      await other.close();
      await guarded.close();
    }
  });

  it('on a NODBG guest names the policy, shows ciphertext only, and no plaintext reaches the page', async () => {
    const nodbg = await buildMachine(parseCli(['-object', 'sev-guest,id=sev0,policy=0x1,cbitpos=51,reduced-phys-bits=1', '-machine', 'confidential-guest-support=sev0']));
    const guarded = await startRpcServer({ host: '127.0.0.1', port: 0, ctx: makeContext(nodbg.machine, nodbg.ops, { quit: () => undefined }) });
    const other = await browser.newPage();
    try {
      await other.goto(guarded.url);
      await other.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
      await other.waitForSelector('#cc-host .addr', { timeout: 20_000 });
      expect(await other.textContent('#cc-info')).toContain('debug allowedno');
      expect(await other.textContent('#mem-view .error')).toMatch(/NODBG/);
      expect(await other.textContent('#cc-debug .error')).toMatch(/NODBG/);
      await other.fill('#mem-addr', STRING_VA);
      await other.selectOption('#mem-space', 'virtual');
      await other.click('#mem-form button');
      await other.waitForSelector('#cc-host .addr', { timeout: 20_000 });
      expect(await other.textContent('body')).not.toContain(KNOWN.slice(0, 13));
    } finally {
      await other.close();
      await guarded.close();
    }
  });

  it('saves a screenshot as a test artifact', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'console.png');
    await page.screenshot({ path: file });
    expect(statSync(file).size).toBeGreaterThan(10_000);
  });
});
