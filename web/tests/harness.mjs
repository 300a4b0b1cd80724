// What the browser tests share: the real server on a freshly seeded demo
// database, and Debian's Chromium driven by playwright-core.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { chromium } from "playwright-core";

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Seeds a demo database in a new temp directory and serves it; resolves once /readyz answers. */
export async function seededServer(bin, prefix, env = {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const common = { ...process.env, EXAMPOST_DATABASE_URL: `sqlite://${dir}/exampost.db`, EXAMPOST_LOG: "warn" };
  execFileSync(bin, ["seed"], { env: common, stdio: "ignore" });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(bin, ["serve"], { env: { ...common, EXAMPOST_BIND: `127.0.0.1:${port}`, EXAMPOST_WORKERS: "1", ...env }, stdio: "ignore" });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return { dir, base, server };
}

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
