// Opens the dashboard in headless Chromium, approves the pending manual approval of a pipeline
// and waits until its stage shows Succeeded.
//
//   node tests/ui/approve.mjs URL PIPELINE STAGE ACTION
//
// URL is the dashboard (http://HOST:PORT/_codepipeline-local/ui/). Run by tests/ui.rs.
// CHROMIUM overrides the browser (default /usr/bin/chromium); SCREENSHOT=FILE saves a PNG of
// the page at the end.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, pipeline = "gate", stage = "Approve", action = "Approval"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node approve.mjs URL [PIPELINE STAGE ACTION]");
  process.exit(2);
}
const TIMEOUT = 15000;

const profile = mkdtempSync(join(tmpdir(), "codepipeline-local-ui-"));
// A fresh --user-data-dir: Playwright passes the profile directory as --user-data-dir.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
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

  await page.goto(url);
  // The list shows the pipeline; open it from there as a person would.
  await page.locator(`#pipelines a[data-pipeline="${pipeline}"]`).click();
  await page.locator("#pipeline-name", { hasText: pipeline }).waitFor();
  // The live indicator: the EventSource is connected.
  await page.locator("#live", { hasText: "live" }).waitFor();

  const stageBox = page.locator(`.stage[data-stage="${stage}"]`);
  const actionBox = stageBox.locator(`.action[data-action="${action}"]`);
  await actionBox.locator(".action-status", { hasText: "InProgress" }).waitFor();
  await actionBox.locator("input.comment").fill("Approved in the browser test");
  await actionBox.locator("button.approve").click();

  await stageBox.locator(".stage-status", { hasText: "Succeeded" }).waitFor();
  await actionBox.locator(".action-status", { hasText: "Succeeded" }).waitFor();
  // The rest of the run arrives through the event stream: the history shows it Succeeded.
  await page.locator("#history .execution-status", { hasText: "Succeeded" }).first().waitFor();
  console.log(`approved ${pipeline}/${stage}/${action}: stage Succeeded`);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
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
