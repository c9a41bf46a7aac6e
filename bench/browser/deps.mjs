// What the browser benchmark borrows from the end-to-end tests (tests/e2e), in one place:
// their static server (tests/e2e/server.mjs) and their pinned playwright-core
// (tests/e2e/package.json; scripts/bench-browser.sh installs it when missing), so that the
// harness needs neither a copy of the server nor an npm install of its own.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const E2E = join(ROOT, 'tests/e2e');
let playwright;
try {
  playwright = createRequire(join(E2E, 'package.json'))('playwright-core');
} catch (e) {
  throw new Error(`playwright-core is not installed in tests/e2e (run \`npm ci\` there, or scripts/bench-browser.sh): ${e.message}`);
}

/** playwright-core's Chromium launcher. */
export const { chromium } = playwright;
export { startServer } from '../../tests/e2e/server.mjs';
