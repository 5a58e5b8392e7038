import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const SCREENSHOTS = join(process.cwd(), '.cache', 'console-screenshots');

/** Debian's Chromium, headless, with nothing that would call out of the machine. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

let axeSource: string | undefined;

async function axe(): Promise<string> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  return axeSource;
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Every problem the page reported: CSP violations, script errors, failed asset loads. */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (
      message.type() === 'error' &&
      !/the server responded with a status of (401|403|404|409|400|422)/.test(message.text())
    ) {
      problems.push(message.text());
    }
  });
  page.on('pageerror', (error) => problems.push(String(error)));
  return problems;
}

/**
 * What every screen must pass: axe-core finds no serious or critical violation; none of the
 * secrets appears in the page's HTML, its inputs, cookies readable by script, or browser storage;
 * and a screenshot is kept. axe runs through the DevTools protocol, so the page's CSP stays on.
 */
export async function checkScreen(page: Page, name: string, secrets: Iterable<string>): Promise<void> {
  await page.evaluate(await axe());
  // Strings, not functions: the test is type-checked without the DOM library.
  const violations = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as AxeViolation[];
  const serious = violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(serious, `axe on ${name}`).toEqual([]);

  const exposed = (await page.evaluate(`(async () => [
    document.documentElement.outerHTML,
    [...document.querySelectorAll('input, textarea')].map((i) => i.value).join('\\n'),
    document.cookie,
    JSON.stringify({ ...localStorage }),
    JSON.stringify({ ...sessionStorage }),
    JSON.stringify(await indexedDB.databases()),
  ].join('\\n'))()`)) as string;
  const leaked = [...secrets].filter((secret) => secret && exposed.includes(secret));
  expect(
    leaked.map((s) => `${s.slice(0, 4)}…`),
    `secrets on ${name}`,
  ).toEqual([]);

  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
