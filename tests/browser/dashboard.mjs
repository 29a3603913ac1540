// Drives the assay dashboard in headless Chromium: every page, a scan of an uploaded image, screenshots.
// Usage: node dashboard.mjs SPEC.json   (written by tests/test_dashboard_browser.py)
// SPEC: {url, chromium, screenshots, upload, timeout_ms, pages: [{path, title, expect: [text...]}]}
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const timeout = spec.timeout_ms;

async function visible(page, text) {
  await page.getByText(text, { exact: false }).first().waitFor({ state: "visible", timeout });
}

async function settled(page) {
  // Streamlit shows its status widget while a script run is in progress
  await page.locator('[data-testid="stStatusWidget"]').waitFor({ state: "detached", timeout });
}

const browser = await chromium.launch({ executablePath: spec.chromium, headless: true, args: ["--no-sandbox"] });
const report = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  for (const p of spec.pages) {
    await page.goto(`${spec.url}/${p.path}`, { timeout });
    await page.getByRole("heading", { name: p.title }).first().waitFor({ timeout });
    for (const text of p.expect) await visible(page, text);
    await settled(page);
    if (p.path === "scan") {
      await page.locator('input[type="file"]').first().setInputFiles(spec.upload);
      await page.getByRole("button", { name: /Scan 1 file/ }).click({ timeout });
      await visible(page, "P(synthetic)");
      await visible(page, "done:");
      await settled(page);
    }
    await page.screenshot({ path: join(spec.screenshots, `${p.path}.png`), fullPage: false });
    report.push({ page: p.path, ok: true });
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
