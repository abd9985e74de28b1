// Opens a dashboard URL in headless Chromium and runs a list of steps, each waiting (bounded)
// for what it expects. Run by tests/ui.rs, which keeps the expectations:
//
//   node tests/ui/steps.mjs URL 'STEPS_JSON'
//
// Steps: {"see": SELECTOR, "text"?: TEXT, "pattern"?: REGEX} waits for an element (holding TEXT,
// or text matching REGEX);
// {"lacks": SELECTOR, "text": TEXT} checks the first such element does not hold TEXT now;
// {"hash": "#/..."} sets location.hash; {"click": SELECTOR}; {"touch": FILE} creates a file;
// {"screenshot": FILE} saves a PNG of the viewport. FULL_SCREENSHOT=FILE saves a PNG of the whole
// page at the end (to look at it).
import { writeFileSync } from "node:fs";
import { withPage } from "./browser.mjs";

const [url, stepsJson] = process.argv.slice(2);
if (!url || !stepsJson) {
  console.error("usage: node steps.mjs URL STEPS_JSON");
  process.exit(2);
}
const steps = JSON.parse(stepsJson);

await withPage(async (page) => {
  await page.goto(url);
  for (const [i, step] of steps.entries()) {
    const where = `step ${i + 1} ${JSON.stringify(step)}`;
    try {
      if (step.see) {
        const options =
          step.pattern !== undefined ? { hasText: new RegExp(step.pattern) } : step.text !== undefined ? { hasText: step.text } : {};
        await page.locator(step.see, options).first().waitFor();
      } else if (step.lacks) {
        const text = await page.locator(step.lacks).first().innerText();
        if (text.includes(step.text)) throw new Error(`found "${step.text}" in: ${text}`);
      } else if (step.hash) {
        await page.evaluate((hash) => (location.hash = hash), step.hash);
      } else if (step.click) {
        await page.locator(step.click).first().click();
      } else if (step.touch) {
        writeFileSync(step.touch, "");
      } else if (step.screenshot) {
        await page.screenshot({ path: step.screenshot });
      } else {
        throw new Error("unknown step");
      }
    } catch (e) {
      throw new Error(`${where}: ${e.message}`);
    }
    console.log(`ok ${where}`);
  }
  if (process.env.FULL_SCREENSHOT) await page.screenshot({ path: process.env.FULL_SCREENSHOT, fullPage: true });
});
