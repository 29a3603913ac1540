// Drives the assay dashboard in headless Chromium: every page, a scan of an uploaded image, a consent revoked
// through its confirmation, screenshots.
// Usage: node dashboard.mjs SPEC.json   (written by tests/test_dashboard_browser.py)
// SPEC: {url, chromium, screenshots, upload, timeout_ms,
//        pages: [{path, url?, title, expect: [text...], selector?, upload?, clicks?: [{click, then: [text...]}]}]}
// Each page: open it, wait for its title and texts; optionally upload spec.upload, then click each button in
// turn (its name starting with `click`), waiting for its texts; then save <screenshots>/<path>.png.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const timeout = spec.timeout_ms;

async function visible(page, text) {
  // hidden copies (a data grid's accessibility cells, collapsed sections) do not count
  await page.getByText(text, { exact: false }).filter({ visible: true }).first().waitFor({ state: "visible", timeout });
}

async function settled(page) {
  // Streamlit shows its status widget while a script runs, and skeletons for elements still to come
  await page.locator('[data-testid="stStatusWidget"]').waitFor({ state: "detached", timeout });
  await page.locator('[data-testid="stSkeleton"]').first().waitFor({ state: "detached", timeout });
}

const browser = await chromium.launch({ executablePath: spec.chromium, headless: true, args: ["--no-sandbox"] });
const report = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  for (const p of spec.pages) {
    await page.goto(`${spec.url}/${p.url ?? p.path}`, { timeout });
    await page.getByRole("heading", { name: p.title }).first().waitFor({ timeout });
    for (const text of p.expect) await visible(page, text);
    if (p.selector) await page.locator(p.selector).first().waitFor({ state: "visible", timeout });
    await settled(page);
    if (p.upload) await page.locator('input[type="file"]').first().setInputFiles(spec.upload);
    for (const step of p.clicks ?? []) {
      await page.getByRole("button", { name: step.click }).first().click({ timeout });
      for (const text of step.then) await visible(page, text);
      await settled(page);
    }
    if (await page.getByText("Page not found").count()) throw new Error(`${p.path}: Streamlit says page not found`);
    const errors = page.locator('[data-testid="stException"]');
    if (await errors.count()) throw new Error(`${p.path}: ${await errors.first().innerText()}`);
    await page.screenshot({ path: join(spec.screenshots, `${p.path}.png`), fullPage: false });
    report.push({ page: p.path, ok: true });
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
