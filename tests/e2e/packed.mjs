// The setup that the pool's e2e tests of an outside user share: pkg/ packed with `npm pack`
// (exactly what `npm publish` would ship; UELLM_PKG_DIR=/path tests another unpacked package
// folder instead, e.g. an older build, to see the tests fail there), extracted, served on
// 127.0.0.1 with the test page and the fixtures, and a fresh headless Chromium profile.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '../..');
const PKG = process.env.UELLM_PKG_DIR ? resolve(process.env.UELLM_PKG_DIR) : join(ROOT, 'pkg');
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

/**
 * Packs and serves the package, and opens a page in a fresh browser profile (in a temporary
 * folder named from `prefix`): `{ server, context, page, consoleLines, close() }`, where
 * `consoleLines` collects the page's console lines and errors and `close()` undoes it all.
 */
export async function openPacked(prefix) {
  const tmp = mkdtempSync(join(process.env.UELLM_E2E_TMP || tmpdir(), prefix));
  assert.ok(existsSync(join(PKG, 'package.json')), `${PKG} is missing: run scripts/build-pkg.sh first`);
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: PKG, encoding: 'utf8' });
  const [{ filename }] = JSON.parse(out.slice(out.indexOf('[')));
  mkdirSync(join(tmp, 'unpacked'));
  execFileSync('tar', ['-xzf', join(tmp, filename), '-C', join(tmp, 'unpacked')]);
  const server = await startServer({
    '/node_modules/ultra-efficient-llm/': join(tmp, 'unpacked/package'),
    '/e2e/': HERE,
    '/fixtures/': join(ROOT, 'tests/fixtures'),
  });
  const context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ARGS,
  });
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  return {
    server, context, page, consoleLines,
    async close() {
      await context.close();
      await server.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
