// The staff console as its users work in it: the real server on a seeded
// demo database, driven in headless Chromium at 360 and 1280 px. The demo's
// people and passwords are in fixtures/demo.json. Screenshots land in the
// temp directory as exampost-console-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { seededServer, launchChromium } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.EXAMPOST_BIN;
assert.ok(bin, "set EXAMPOST_BIN to the built exampost binary");
const demo = JSON.parse(readFileSync(join(here, "../../fixtures/demo.json"), "utf8"));
const person = (role) => demo.users.find((u) => u.role === role);
const WIDTHS = [360, 1280];
let server, browser, base, dir;

/** An S10 tracking number with its check digit (UPU S10). */
function s10(serial) {
  const digits = String(serial).padStart(8, "0").split("").map(Number);
  const sum = digits.reduce((n, d, i) => n + d * [8, 6, 4, 2, 3, 5, 9, 7][i], 0);
  const check = 11 - (sum % 11);
  return `RR${String(serial).padStart(8, "0")}${check === 10 ? 0 : check === 11 ? 5 : check}VN`;
}

before(async () => {
  ({ dir, base, server } = await seededServer(bin, "exampost-console-"));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill();
});

async function signIn(who, width) {
  const context = await browser.newContext({ viewport: { width, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(`${base}/console`);
  await page.locator("#login-form").getByLabel("E-mail").fill(who.email);
  await page.locator("#login-form").getByLabel("Mật khẩu", { exact: true }).fill(who.password);
  await page.getByRole("button", { name: "Đăng nhập" }).click();
  await page.locator("#tabs a").first().waitFor();
  return page;
}

/** Tomorrow at this hour, Vietnam time, as a datetime-local input takes it. */
function tomorrowInVietnam() {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    .formatToParts(new Date(Date.now() + 86400000)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

const shot = (page, name) => page.screenshot({ path: join(tmpdir(), `exampost-console-${name}.png`), fullPage: true });

test("sign-in errors are in Vietnamese under the fields", async () => {
  const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
  await page.goto(`${base}/console`);
  await page.getByRole("button", { name: "Đăng nhập" }).click();
  assert.equal(await page.locator("#login-email-error").textContent(), "không được để trống");
  assert.equal(await page.locator("#login-email").getAttribute("aria-invalid"), "true");
  await page.locator("#login-form").getByLabel("E-mail").fill(person("education").email);
  await page.locator("#login-form").getByLabel("Mật khẩu", { exact: true }).fill("not the password");
  await page.getByRole("button", { name: "Đăng nhập" }).click();
  await page.locator("#login-error").filter({ hasText: "sai e-mail hoặc mật khẩu" }).waitFor();
  await shot(page, "login-error-360");
  await page.close();
});

test("a department clerk searches items, opens one, uploads a sheet and downloads the rejected rows", async () => {
  const clerk = person("education");
  for (const width of WIDTHS) {
    const page = await signIn(clerk, width);
    // The clerk lands on the items of her organization's scope.
    await page.locator("#items-table tbody tr").first().waitFor();
    assert.equal(await page.locator("nav a[aria-current=page]").textContent(), "Bưu gửi");
    assert.ok(!(await page.locator("nav").textContent()).includes("Tổng quan"), "a clerk has no committee view");
    const everything = await page.locator("#items-table tbody tr").count();
    await page.getByLabel("Chỉ bưu gửi quá hạn").check();
    await Promise.all([page.waitForResponse((r) => r.url().includes("overdue=true")), page.getByRole("button", { name: "Tìm" }).click()]);
    await page.locator("#items-table tbody tr").first().waitFor();
    const overdueRows = await page.locator("#items-table tbody tr").count();
    assert.ok(overdueRows > 0 && overdueRows < everything, `the demo has some overdue items: ${overdueRows} of ${everything}`);
    await shot(page, `items-${width}`);
    // Provinces by name, chosen from a list, never the API's codes.
    const table = await page.locator("#items-table tbody").textContent();
    assert.ok(!table.includes("phu-tho"), "the province is named, not coded");
    await page.getByLabel("Chỉ bưu gửi quá hạn").uncheck();
    await page.locator("#f-province").selectOption({ label: "Phú Thọ" });
    await Promise.all([page.waitForResponse((r) => r.url().includes("province=phu-tho")), page.getByRole("button", { name: "Tìm" }).click()]);
    await page.locator("#items-table tbody tr").first().waitFor();
    const destinations = await page.locator("#items-table tbody td:nth-child(5)").allTextContents();
    assert.ok(destinations.length > 0 && destinations.every((d) => d.endsWith("Phú Thọ")), `every listed item goes to Phú Thọ: ${destinations}`);
    await page.locator("#f-province").selectOption("");

    // One item with its journey and cases, by its tracking number.
    const item = demo.items.find((i) => i.sender_org === "SGDDT-PT" && i.events.length >= 4 && i.recipient.type === "candidate");
    await page.getByLabel("Số hiệu hoặc số báo danh").fill(item.tracking_number);
    await page.getByRole("button", { name: "Tìm" }).click();
    await page.locator("#item-timeline li").first().waitFor();
    assert.equal(await page.locator("#item-body h2").textContent(), item.tracking_number);
    assert.equal(await page.locator("#item-timeline li").count(), item.events.length);
    assert.match(await page.locator("#item-timeline time").first().textContent(), /^\d\d\/\d\d\/\d{4} \d\d:\d\d$/, "Vietnam time as dd/mm/yyyy HH:mm");
    await shot(page, `item-${width}`);

    // A sheet as clerks have it: STT, Vietnamese headers and values, one good row, one bad date.
    const good = s10(91000000 + width), bad = s10(92000000 + width);
    const sheet = join(dir, `danh-sach-${width}.csv`);
    writeFileSync(sheet, "\ufeffSTT,Số hiệu,Kỳ thi,Loại,Độ khẩn,Doanh nghiệp bưu chính,SBD,Họ tên thí sinh,Ngày tháng năm sinh,Tỉnh,Phường/xã,Địa chỉ\n"
      + `1,${good},${demo.season},Giấy báo dự thi,Khẩn,VNPOST,15009001,Nguyễn Văn An,14/03/2008,Tỉnh Phú Thọ,Phường Việt Trì,12 Trần Phú\n`
      + `2,${bad},${demo.season},Giấy báo dự thi,Khẩn,VNPOST,15009002,Trần Thị Bình,31/02/2008,Phú Thọ,Phường Việt Trì,3 Hùng Vương\n`);
    await page.getByRole("link", { name: "Nhập danh sách bưu gửi" }).click();
    await page.getByLabel("Tệp").setInputFiles(sheet);
    await page.getByRole("button", { name: "Tải lên và kiểm tra" }).click();
    await page.locator("#upload-summary").waitFor();
    const summary = await page.locator("#upload-summary").textContent();
    assert.ok(summary.includes("Đã tạo 1") && summary.includes("Bị từ chối 1"), summary);
    const line = await page.locator("#upload-lines tbody tr").first().textContent();
    assert.ok(line.includes(bad) && line.includes("phải là ngày dạng dd/mm/yyyy"), line);
    assert.ok((await page.locator("#upload-result").textContent()).includes("STT"), "the ignored column is listed");
    await shot(page, `upload-${width}`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: /Tải các dòng bị từ chối/ }).click()]);
    const rejected = readFileSync(await download.path(), "utf8");
    assert.ok(rejected.includes(bad) && !rejected.includes(good), rejected);
    // The good row is registered: the API shows it.
    await page.getByRole("link", { name: "Bưu gửi", exact: true }).click();
    await page.getByLabel("Số hiệu hoặc số báo danh").fill(good);
    await page.getByRole("button", { name: "Tìm" }).click();
    await page.locator("#item-body h2").filter({ hasText: good }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  }
});

test("a carrier supervisor acknowledges, comments on and resolves a case", async () => {
  const supervisor = person("carrier");
  for (const width of WIDTHS) {
    const page = await signIn(supervisor, width);
    // A slow answer to an earlier search must not overwrite the latest one.
    let delayed;
    await page.route((url) => url.pathname === "/api/v1/cases" && !url.searchParams.has("state"), async (route) => {
      delayed = new Promise((resolve) => setTimeout(resolve, 1500)).then(() => route.continue());
      await delayed;
    });
    await page.getByRole("button", { name: "Tìm" }).click();
    // The supervisor lands on the cases; open ones of the carrier only.
    await page.getByLabel("Tình trạng").selectOption("open");
    await Promise.all([page.waitForResponse((r) => r.url().includes("state=open")), page.getByRole("button", { name: "Tìm" }).click()]);
    await page.waitForFunction(() => {
      const states = [...document.querySelectorAll("#cases-table td[data-label='Tình trạng']")].map((td) => td.textContent);
      return states.length > 0 && states.every((state) => state === "Đang mở");
    });
    await delayed;
    await page.waitForTimeout(300);
    await page.unroute(() => true);
    const states = await page.locator("#cases-table td[data-label='Tình trạng']").allTextContents();
    assert.ok(states.length > 0 && states.every((state) => state === "Đang mở"), `the late unfiltered answer was dropped: ${states}`);
    const owners = await page.locator("#cases-table td[data-label='Đơn vị xử lý']").allTextContents();
    assert.ok(owners.length > 0 && owners.every((o) => o === "VNPOST"), owners.join(","));
    await shot(page, `cases-${width}`);
    await page.locator("#cases-table tbody tr a").first().click();
    await page.locator("#ack-form").waitFor();

    // Nothing filled in: the server names both fields, in Vietnamese, under them.
    await page.locator("#ack-form button").click();
    await page.locator("#ack-form .field-error").first().waitFor();
    assert.equal(await page.locator("#ack-form [aria-invalid=true]").count(), 2);

    await page.locator("#ack-plan").fill("Kiểm tra túi thư tại TTKT Hà Nội, phát trong ngày");
    await page.locator("#ack-expected").fill(tomorrowInVietnam());
    await page.locator("#ack-form button").click();
    await page.locator("#case-body dd", { hasText: "Đã tiếp nhận" }).waitFor();
    await page.locator("#com-note").fill("Đã gọi bưu cục Việt Trì");
    await page.locator("#comment-form button").click();
    await page.locator("#case-timeline li", { hasText: "Đã gọi bưu cục Việt Trì" }).waitFor();
    await shot(page, `case-${width}`);
    await page.locator("#res-note").fill("Đã phát cho thí sinh");
    await page.locator("#resolve-form button").click();
    await page.locator("#case-body dd", { hasText: "Đã xử lý xong" }).waitFor();
    assert.equal(await page.locator("#ack-form").count(), 0, "a resolved case takes no acknowledgement");
    const history = await page.locator("#case-timeline").textContent();
    for (const step of ["Tiếp nhận", "Ghi chú", "Kết thúc"]) assert.ok(history.includes(step), history);
    assert.ok(history.includes("· bạn"), "the supervisor's own steps say so, not a client id");
    assert.deepEqual(page.errors, []);
    await page.context().close();
  }
});

test("a committee member sees overdue items, open cases by level and the printable report", async () => {
  const member = person("overseer");
  for (const width of WIDTHS) {
    const page = await signIn(member, width);
    await page.locator("#cases-by-level").waitFor();
    assert.equal(await page.locator("nav a[aria-current=page]").textContent(), "Tổng quan của tỉnh");
    const heads = await page.locator("#cases-by-level th").allTextContents();
    assert.deepEqual(heads.slice(1), ["Cấp 1", "Cấp 2", "Cấp 3", "Tổng"]);
    assert.ok(await page.locator("#view-overview #items-table tbody tr").count() > 0, "overdue items are listed");
    assert.ok(!(await page.locator("nav").textContent()).includes("Nhập danh sách"), "a committee member does not upload");
    await shot(page, `overview-${width}`);
    const [report] = await Promise.all([page.context().waitForEvent("page"), page.getByRole("button", { name: "Báo cáo Ban chỉ đạo (bản in)" }).click()]);
    await report.waitForLoadState();
    await report.waitForFunction(() => document.body && document.body.innerText.length > 200);
    const text = await report.locator("body").innerText();
    assert.ok(/báo cáo/i.test(text), text.slice(0, 300));
    await report.screenshot({ path: join(tmpdir(), `exampost-console-report-${width}.png`), fullPage: true });
    // A case at level 3: the committee directs an organization to act.
    await page.getByRole("link", { name: "Sự vụ" }).click();
    await page.getByLabel("Cấp", { exact: true }).selectOption("3");
    await Promise.all([page.waitForResponse((r) => r.url().includes("level=3")), page.locator("#cases-form").getByRole("button", { name: "Tìm" }).click()]);
    await page.waitForFunction(() => {
      const levels = [...document.querySelectorAll("#cases-table td[data-label='Cấp']")].map((td) => td.textContent);
      return levels.length > 0 && levels.every((level) => level === "Cấp 3");
    });
    await page.locator("#cases-table tbody tr a").first().click();
    await page.locator("#direct-form").waitFor();
    await page.locator("#direct-form button").click();
    await page.locator("#direct-form .field-error").first().waitFor();
    const instruction = `Bưu điện tỉnh kiểm tra ngay túi thư, báo cáo trước 17 giờ (${width})`;
    await page.locator("#dir-instruction").fill(instruction);
    await page.locator("#dir-org").fill("vnpost");
    await page.locator("#dir-respond").fill(tomorrowInVietnam());
    await page.locator("#direct-form button").click();
    await page.locator("#case-timeline li", { hasText: instruction }).waitFor();
    const directed = await page.locator("#case-timeline li", { hasText: instruction }).textContent();
    assert.ok(directed.includes("Ban chỉ đạo chỉ đạo") && /VNPOST \(.*\) phải xử lý trước \d\d:\d\d \d\d\/\d\d\/\d{4}: /.test(directed), directed);
    // The service's own notes are said in Vietnamese too.
    const history = await page.locator("#case-timeline").textContent();
    assert.ok(history.includes("không được tiếp nhận đúng hạn") && !history.includes("not acknowledged in time"), history);
    await shot(page, `direct-${width}`);
    await page.getByRole("link", { name: "Tổng quan của tỉnh" }).click();
    // The same view in English, on request.
    await page.getByRole("button", { name: "English" }).click();
    assert.equal(await page.locator("nav a[aria-current=page]").textContent(), "Province overview");
    await page.locator("#cases-by-level th", { hasText: "Level 3" }).waitFor({ state: "attached" });
    await page.getByRole("button", { name: "Tiếng Việt" }).click();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  }
});

test("an admin creates a user who signs in with the generated password and changes it", async () => {
  const admin = person("admin");
  const page = await signIn(admin, 1280);
  await page.getByRole("link", { name: "Người dùng" }).click();
  await page.locator("#users-table tbody tr").first().waitFor();
  await page.locator("#u-email").fill("thuky@thpt-chv.demo.vn");
  await page.locator("#u-name").fill("Phạm Văn Thư");
  await page.locator("#u-role").selectOption("education");
  await page.locator("#u-org").fill("THPT-CHV");
  await page.getByRole("button", { name: "Tạo" }).click();
  const generated = await page.locator("#generated-password").textContent();
  assert.match(generated, /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
  await page.locator("#users-table td", { hasText: "thuky@thpt-chv.demo.vn" }).waitFor();
  // The same e-mail again: a conflict, said in Vietnamese.
  await page.locator("#u-email").fill("THUKY@thpt-chv.demo.vn");
  await page.locator("#u-name").fill("Lần hai");
  await page.locator("#u-org").fill("THPT-CHV");
  await page.getByRole("button", { name: "Tạo" }).click();
  await page.locator("#user-error").filter({ hasText: "Trùng với dữ liệu đã có" }).waitFor();
  await shot(page, "users-1280");
  await page.context().close();

  const newcomer = await signIn({ email: "thuky@thpt-chv.demo.vn", password: generated }, 360);
  assert.ok(!(await newcomer.locator("nav").textContent()).includes("Người dùng"), "a plain user manages no users");
  await newcomer.getByRole("button", { name: "Đổi mật khẩu" }).click();
  await newcomer.getByLabel("Mật khẩu hiện tại").fill(generated);
  await newcomer.getByLabel("Mật khẩu mới (ít nhất 10 ký tự)").fill("ngắn");
  await newcomer.getByLabel("Nhập lại mật khẩu mới").fill("ngắn");
  await newcomer.getByRole("button", { name: "Lưu" }).click();
  assert.equal(await newcomer.locator("#p-new-error").textContent(), "tối thiểu 10 ký tự");
  await shot(newcomer, "password-360");
  await newcomer.getByLabel("Mật khẩu mới (ít nhất 10 ký tự)").fill("mật khẩu mới đủ dài");
  await newcomer.getByLabel("Nhập lại mật khẩu mới").fill("mật khẩu mới đủ dài");
  await newcomer.getByRole("button", { name: "Lưu" }).click();
  await newcomer.locator("#flash").filter({ hasText: "Đã đổi mật khẩu" }).waitFor();
  // The console keeps working with the new token; the old password no longer signs in.
  await newcomer.locator("#items-table, #items-result p").first().waitFor();
  const old = await fetch(`${base}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "thuky@thpt-chv.demo.vn", password: generated }) });
  assert.equal(old.status, 401);
  assert.deepEqual(newcomer.errors, []);
  await newcomer.context().close();
});
