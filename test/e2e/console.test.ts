// The browser console end to end in real headless Chromium (Debian's
// chromium, driven by playwright-core) against a SEV guest (the d-lm4 golden
// dump launched as sev-guest with sev-guest-debug): load the page, read a
// known string through the memory view, run `info mem` in the HMP terminal,
// compare the hypervisor's and the debug object's views, save a screenshot.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { sevGoldenContext } from '../helpers/rpc-client.js';
import { hmpRecords } from '../helpers/golden.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');
/** d-lm4 maps physical 0x301000 (the golden guest's string page) at this kernel-half address. */
const STRING_VA = '0xffff800000001000';
const KNOWN = 'Hello, QEMU golden oracle!';

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
    server = await startRpcServer({ host: '127.0.0.1', port: 0, ctx: sevGoldenContext(), hmp: (c) => new HmpExecutor(c) });
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
    const ranges = await page.$$eval('#map-list .range code', (els) => els.map((e) => e.textContent));
    expect(ranges).toContain('ffff800000000000-ffff800000002fff');
    const kinds = await page.$$eval('#map-list .range .kind', (els) => els.map((e) => e.textContent));
    expect(kinds).toContain('private');
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
    expect(firstHex?.trim().split(/\s+/).slice(0, 5)).toEqual(['48', '65', '6c', '6c', '6f']);
  });

  it('follows the view as it scrolls', async () => {
    await page.focus('#mem-view');
    await page.keyboard.press('ArrowDown');
    await waitText('#mem-view .mem-row .addr', 'ffff800000001010', true);
    expect(await page.inputValue('#mem-addr')).toBe('0xffff800000001010');
    await page.keyboard.press('ArrowUp');
    await waitText('#mem-view .mem-row .addr', 'ffff800000001000', true);
  });

  it('runs info mem in the HMP terminal with QEMU’s exact text', async () => {
    const golden = hmpRecords('d-lm4').find((r) => r.cmd === 'info mem')!.out!;
    await page.fill('#term-in', 'info mem');
    await page.press('#term-in', 'Enter');
    await waitText('#term-out', 'fffffffffffff000-');
    const text = await page.textContent('#term-out');
    expect(text).toBe(`(qemu) info mem\n${golden.replace(/\r\n/g, '\n')}`);
  });

  it('shows the page as the hypervisor sees it (ciphertext) beside the debug object (plaintext)', async () => {
    await waitText('#cc-where', 'ffff800000001000');
    await waitText('#cc-debug', '48 65 6c 6c 6f');
    const host = (await page.textContent('#cc-host')) ?? '';
    expect(host).toMatch(/^00001000 {2}([0-9a-f]{2} ){16}/);
    expect(host).not.toContain('48 65 6c 6c 6f');
    expect(await page.$$eval('#cc-debug .diff', (els) => els.length)).toBeGreaterThan(100);
  });

  it('saves a screenshot as a test artifact', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'console.png');
    await page.screenshot({ path: file });
    expect(statSync(file).size).toBeGreaterThan(10_000);
  });
});
