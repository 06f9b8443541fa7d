// The browser console in headless Chromium (issue 12): it opens on the current
// vCPU's RIP, a vCPU selector switches registers, walk and views, the layout
// holds from 1024 to 1920 px (nothing cut off, no sideways scrolling; a
// screenshot per width in test-artifacts/), the favicon is served, and a private
// page never written since launch says so in one line.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { buildMachine, parseCli } from '../../src/cli.js';
import { makeContext } from '../../src/commands/index.js';
import type { Machine } from '../../src/machine/machine.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');
const WIDTHS = [1024, 1280, 1400, 1680, 1920];

/** The DOM the page-side checks use (the test compiles without lib.dom). */
interface Box { left: number; right: number; top: number; bottom: number }
interface El { getBoundingClientRect(): Box; scrollWidth: number; clientWidth: number; textContent: string | null; id: string; className: string }
type Doc = { documentElement: El; querySelectorAll(s: string): ArrayLike<El> };
type Win = { innerWidth: number; document: Doc };

let machine: Machine;
let server: RpcServer;
let browser: BrowserContext;
let profile: string;
const notFound: string[] = [];

async function open(width: number): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height: 900 });
  page.on('response', (r) => {
    if (r.status() === 404) notFound.push(r.url());
  });
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  return page;
}

/** Elements whose content is cut off or that stick out of their panel, and the page's sideways overflow. */
function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const w = globalThis as unknown as Win;
    const out: string[] = [];
    if (w.document.documentElement.scrollWidth > w.innerWidth) out.push(`page scrolls sideways: ${w.document.documentElement.scrollWidth} > ${w.innerWidth}`);
    const sections = Array.from(w.document.querySelectorAll('main > section'));
    for (const s of sections) {
      const box = s.getBoundingClientRect();
      if (box.right > w.innerWidth + 0.5) out.push(`#${s.id} ends at ${box.right} beyond ${w.innerWidth}`);
      const items = Array.from(w.document.querySelectorAll(`#${s.id} .range > *, #${s.id} .mem-row > *, #${s.id} h2, #${s.id} form > *, #${s.id} dd`));
      for (const e of items) {
        const b = e.getBoundingClientRect();
        if (b.right > box.right + 0.5) out.push(`#${s.id} ${e.className || 'item'} "${(e.textContent ?? '').slice(0, 20)}" ends at ${b.right} beyond ${box.right}`);
      }
    }
    return out.slice(0, 10);
  });
}

describe.skipIf(!existsSync(CHROMIUM))('browser console layout, vCPUs and notes', () => {
  beforeAll(async () => {
    // 512 MiB: more RAM than the launch encrypts up front, so never-written private pages exist.
    const built = await buildMachine(parseCli(['-m', '512M']));
    machine = built.machine;
    const ctx = makeContext(machine, built.ops, { quit: () => undefined });
    server = await startRpcServer({ host: '127.0.0.1', port: 0, ctx, hmp: (c) => new HmpExecutor(c) });
    profile = mkdtempSync(join(tmpdir(), 'cgmon-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('opens on vCPU 0\'s RIP, and the vCPU selector switches registers, walk and view', async () => {
    const page = await open(1400);
    const row = (rip: bigint): string => `0x${(rip & ~15n).toString(16).padStart(16, '0')}`;
    const [rip0, rip1] = [machine.cpus[0]!.rip, machine.cpus[1]!.rip];
    expect(await page.inputValue('#mem-addr')).toBe(row(rip0));
    expect(await page.textContent('#regs-cpu')).toBe('vCPU 0');
    expect(await page.textContent('#regs-out')).toContain(`RIP=${rip0.toString(16).padStart(16, '0')}`);
    const userMapped = async (): Promise<boolean> =>
      (await page.$$eval('#map-list .range code', (els) => els.map((e) => e.textContent ?? ''))).some((t) => t.startsWith('0000000000400000'));
    expect(await userMapped()).toBe(false);
    await page.selectOption('#cpu-select', '1');
    await page.waitForFunction((want) => (globalThis as unknown as { document: { getElementById(i: string): { value: string } } }).document.getElementById('mem-addr').value === want, row(rip1));
    expect(await page.textContent('#regs-cpu')).toBe('vCPU 1');
    expect(await page.textContent('#regs-out')).toContain(`RIP=${rip1.toString(16).padStart(16, '0')}`);
    expect(await userMapped()).toBe(true);
    // the terminal follows the selector
    await page.fill('#term-in', 'x /4xb 0x400000');
    await page.press('#term-in', 'Enter');
    await page.waitForFunction(() => ((globalThis as unknown as Win).document.querySelectorAll('#term-out')[0]?.textContent ?? '').includes('0x7f 0x45 0x4c 0x46'));
    await page.close();
  });

  it('explains a private page never written since launch, in one line, and only there', async () => {
    const page = await open(1400);
    const goto = async (addr: string): Promise<void> => {
      await page.fill('#mem-addr', addr);
      await page.selectOption('#mem-space', 'physical');
      await page.click('#mem-form button');
      // the note is set with the panes: wait until the hypervisor pane shows this address
      await page.waitForFunction((a) => ((globalThis as unknown as Win).document.querySelectorAll('#cc-host')[0]?.textContent ?? '').startsWith(a), BigInt(addr).toString(16).padStart(16, '0').slice(-8));
    };
    await goto('0x5000000');
    expect(await page.textContent('#cc-note')).toMatch(/^Never written since launch: /);
    expect((await page.textContent('#cc-note'))!.split('\n')).toHaveLength(1);
    await goto('0x1200000'); // linux_banner: written by the launch
    expect(await page.textContent('#cc-note')).toBe('');
    await goto('0x150000'); // the shared GHCB
    expect(await page.textContent('#cc-note')).toBe('');
    await page.close();
  });

  it.each(WIDTHS)('holds its layout at %i px wide (screenshot in test-artifacts/)', async (width) => {
    const page = await open(width);
    await page.waitForSelector('#cc-host .addr', { timeout: 20_000 });
    expect(await layoutProblems(page)).toEqual([]);
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, `console-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(10_000);
    await page.close();
  });

  it('has a favicon, and the page asks for nothing that is not there', async () => {
    const res = await fetch(new URL('/favicon.ico', server.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect((await fetch(new URL('/favicon.svg', server.url))).status).toBe(200);
    expect(notFound).toEqual([]);
  });
});
