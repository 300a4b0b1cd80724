// The lookup page as a candidate uses it: the real server on a seeded demo
// database, driven in headless Chromium. Run from .ci/run:
//   EXAMPOST_BIN=target/debug/exampost node --test web/tests/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.EXAMPOST_BIN;
assert.ok(bin, "set EXAMPOST_BIN to the built exampost binary");
const demo = JSON.parse(readFileSync(join(here, "../../fixtures/demo.json"), "utf8"));

// A delivered exam notice to a candidate, and an item still on its way.
const delivered = demo.items.find((i) => i.kind === "exam_notice" && i.recipient.type === "candidate" && i.events.at(-1)?.type === "delivered");
let server, browser, base;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "exampost-web-"));
  const env = { ...process.env, EXAMPOST_DATABASE_URL: `sqlite://${dir}/exampost.db`, EXAMPOST_LOG: "warn" };
  execFileSync(bin, ["seed"], { env, stdio: "ignore" });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ["serve"], { env: { ...env, EXAMPOST_BIND: `127.0.0.1:${port}`, EXAMPOST_WORKERS: "1", EXAMPOST_LOOKUPS_PER_MINUTE: "100" }, stdio: "ignore" });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

async function openPage(path = "/") {
  const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
  await page.goto(base + path);
  return page;
}

test("a candidate finds a delivered item, in Vietnamese", async () => {
  const page = await openPage("/tra-cuu");
  assert.equal(await page.locator("h1").textContent(), "Tra cứu bưu gửi thi cử");
  await page.getByLabel("Số hiệu bưu gửi").fill(delivered.tracking_number);
  await page.locator("#candidate").fill(delivered.recipient.candidate_number);
  await page.getByRole("button", { name: "Tra cứu" }).click();
  const status = page.locator("#one-result .status");
  await status.waitFor();
  assert.equal(await status.textContent(), "Đã phát thành công");
  const result = await page.locator("#one-result").textContent();
  assert.ok(result.includes("Giấy báo dự thi"));
  assert.ok(!result.includes(delivered.recipient.full_name), "the name is masked");
  assert.equal(await page.locator("#one-result li.now").textContent(), "Đã phát");
  await page.screenshot({ path: join(tmpdir(), "exampost-lookup.png"), fullPage: true });
  await page.close();
});

test("the English switch and the whole dossier", async () => {
  const page = await openPage("/");
  await page.getByRole("button", { name: "Switch to English" }).click();
  assert.equal(await page.locator("h1").textContent(), "Exam mail tracking");
  await page.locator("#all-candidate").fill(delivered.recipient.candidate_number);
  await page.locator("#all-birth").fill(delivered.recipient.date_of_birth);
  await page.locator("#all-season option").first().waitFor({ state: "attached" });
  assert.equal(await page.locator("#all-season").inputValue(), delivered.season, "the open season is offered and chosen");
  await page.getByRole("button", { name: "Show items" }).click();
  await page.locator("#all-result .card").first().waitFor();
  const text = await page.locator("#all-result").textContent();
  assert.ok(text.includes(delivered.tracking_number), text);
  assert.ok(text.includes("Delivered"), text);
  await page.close();
});

test("an item held up by the demo's flood says so in plain words", async () => {
  // Candidate items whose last scan was at the flooded Hà Nội sorting centre; the server knows which are linked.
  const held = demo.items.filter((i) => i.recipient.type === "candidate" && i.events.at(-1)?.office_code === "VNP-KTHN");
  let flooded;
  for (const item of held) {
    const reply = await fetch(`${base}/api/v1/public/lookup`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ tracking_number: item.tracking_number, candidate_number: item.recipient.candidate_number }),
    });
    if (reply.ok && (await reply.json()).incident_label) { flooded = item; break; }
  }
  assert.ok(flooded, "an item of the demo is linked to the flood");
  for (const width of [360, 1280]) {
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    await page.goto(base + "/");
    await page.getByLabel("Số hiệu bưu gửi").fill(flooded.tracking_number);
    await page.locator("#candidate").fill(flooded.recipient.candidate_number);
    await page.getByRole("button", { name: "Tra cứu" }).click();
    const incident = page.locator("#one-result .incident");
    await incident.waitFor();
    assert.equal(await incident.textContent(), "Chậm do lũ lụt");
    await page.screenshot({ path: join(tmpdir(), `exampost-lookup-flood-${width}.png`), fullPage: true });
    await page.close();
  }
});

test("wrong guesses end in a clear throttling message", async () => {
  const page = await openPage("/");
  await page.locator("#by-birth").check();
  await page.getByLabel("Số hiệu bưu gửi").fill(delivered.tracking_number);
  for (let day = 1; day <= 6; day++) {
    await page.locator("#birth").fill(`2001-01-0${day}`);
    await page.getByRole("button", { name: "Tra cứu" }).click();
    await page.locator("#one-result .error").waitFor();
  }
  const message = await page.locator("#one-result .error").textContent();
  assert.match(message, /Bạn đã thử quá nhiều lần\. Vui lòng thử lại sau \d+ giây\./);
  await page.close();
});
