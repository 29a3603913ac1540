// Drives the public page of `assay serve` in headless Chromium: uploads each file in turn, clicks Check and waits
// for the page's plain-words answer; saves a screenshot after the steps that ask for one.
// Usage: node serve.mjs SPEC.json   (written by tests/test_serve_browser.py)
// SPEC: {url, chromium, timeout_ms, steps: [{upload, token?, expect: [text...], screenshot?}]}
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const timeout = spec.timeout_ms;
const browser = await chromium.launch({ executablePath: spec.chromium, headless: true, args: ["--no-sandbox"] });
const report = [];
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
  await page.goto(`${spec.url}/`, { timeout });
  await page.getByRole("heading", { name: "Check an image or short video" }).waitFor({ timeout });
  for (const step of spec.steps) {
    await page.locator("#token").fill(step.token ?? "");
    await page.locator('input[type="file"]').setInputFiles(step.upload);
    await page.getByRole("button", { name: "Check" }).click({ timeout });
    for (const text of step.expect) {
      try {
        await page.getByText(text, { exact: false }).filter({ visible: true }).first().waitFor({ state: "visible", timeout });
      } catch (err) {
        throw new Error(`${step.upload}: no "${text}" on the page, which reads:\n${await page.locator("body").innerText()}`);
      }
    }
    report.push({ upload: step.upload, text: await page.locator("body").innerText() });
    if (step.screenshot) await page.screenshot({ path: step.screenshot, fullPage: true });
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
