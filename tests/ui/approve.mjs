// Opens the dashboard in headless Chromium, approves the pending manual approval of a pipeline
// and waits until its stage shows Succeeded.
//
//   node tests/ui/approve.mjs URL PIPELINE STAGE ACTION
//
// URL is the dashboard (http://HOST:PORT/_codepipeline-local/ui/). Run by tests/ui.rs.
// SCREENSHOT=FILE saves a PNG of the page at the end (browser.mjs launches Chromium).
import { withPage } from "./browser.mjs";

const [url, pipeline = "gate", stage = "Approve", action = "Approval"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node approve.mjs URL [PIPELINE STAGE ACTION]");
  process.exit(2);
}
await withPage(async (page) => {
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
});
