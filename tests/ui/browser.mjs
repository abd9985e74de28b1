// Shared by the browser tests: runs `body(page)` in a fresh headless Chromium profile, fails on
// any page error or console error, and on failure saves a screenshot and prints the page text.
// CHROMIUM overrides the browser (default /usr/bin/chromium).
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TIMEOUT = 15000;
export const VIEWPORT = { width: 1280, height: 900 };

export async function withPage(body) {
  const profile = mkdtempSync(join(tmpdir(), "codepipeline-local-ui-"));
  // A fresh --user-data-dir: Playwright passes the profile directory as --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: VIEWPORT,
    deviceScaleFactor: 1,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: TIMEOUT,
  });

  const problems = [];
  let failed = false;
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(TIMEOUT);
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()} (${m.location().url})`);
    });
    await body(page);
  } catch (e) {
    failed = true;
    console.error(`browser test failed: ${e.message}`);
    const page = context.pages()[0];
    if (page) {
      const shot = join(tmpdir(), "codepipeline-local-ui-failure.png");
      await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      console.error(`screenshot: ${shot}`);
      console.error((await page.locator("body").innerText().catch(() => "")).slice(0, 4000));
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  if (problems.length) {
    console.error(problems.join("\n"));
    failed = true;
  }
  process.exit(failed ? 1 : 0);
}
