// Drives the shoppers' page in Debian's headless Chromium (playwright-core, no downloaded browser)
// and prints one JSON document of what it saw; tests/e2e/test_web.py asserts on it.
//
//   node tests/e2e/drive.mjs --base http://127.0.0.1:8000 --photo samples/photos/ccp_1065.jpg \
//        --screenshot out/e2e/screenshot.png [--phone-screenshot out/e2e/phone.png]
//
// Run 1: upload the photo, wait for the results, read the reading table, the cards per region
// (category, name, whether the picture loaded) and the record the page received.
// Run 2: "Try another photo" with the keyboard, then a file named .jpg that is not an image.
// Run 3: a plain grey picture (nobody in it). Run 4: a corrupt JPEG (the workflow's FAILED).
// Run 5: a file over 10 MB. Run 6: the API unreachable. Each: the error message shown.
import { chromium } from "playwright-core";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    base: { type: "string" },
    photo: { type: "string" },
    screenshot: { type: "string" },
    "phone-screenshot": { type: "string" },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
    timeout: { type: "string", default: "120000" },
  },
});
for (const name of ["base", "photo", "screenshot"]) {
  if (!opt[name]) throw new Error(`--${name} is required`);
}
const timeout = Number(opt.timeout);

const browser = await chromium.launch({
  executablePath: opt.chromium,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const out = { console_errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on("console", (msg) => { if (msg.type() === "error") out.console_errors.push(msg.text()); });
  page.on("pageerror", (err) => out.console_errors.push(String(err)));
  page.on("response", async (response) => {
    if (/\/recommendations\//.test(response.url()) && response.ok()) {
      try { out.record = await response.json(); } catch { /* a later poll overwrites */ }
    }
  });

  // --- run 1: a real photo ---
  await page.goto(`${opt.base}/`);
  const started = Date.now();
  await page.setInputFiles("#file", opt.photo);
  out.steps_seen = [];
  // Record the progress steps the page showed while waiting (polled, so quick stages may be missed).
  const watcher = setInterval(async () => {
    try {
      const step = await page.$eval(".steps li.active", (li) => li.dataset.step);
      if (step && out.steps_seen.at(-1) !== step) out.steps_seen.push(step);
    } catch { /* no active step at this moment */ }
  }, 200);
  await page.waitForSelector("#results:not([hidden]), #error:not([hidden])", { timeout });
  clearInterval(watcher);
  out.seconds = (Date.now() - started) / 1000;
  out.error = await page.$eval("#error", (e) => (e.hidden ? null : e.textContent));
  if (!out.error) {
    // Let the pictures finish loading before reading their sizes and taking the screenshot.
    await page.waitForFunction(() => [...document.querySelectorAll("#results img")]
      .every((img) => img.complete), null, { timeout: 15000 });
    Object.assign(out, await page.evaluate(() => ({
      annotated_loaded: document.getElementById("annotated").naturalWidth > 0,
      reading: Object.fromEntries([...document.querySelectorAll("#reading tbody tr")].map((tr) =>
        [tr.cells[0].textContent, [...tr.cells].slice(1).map((c) => c.textContent.trim())])),
      regions: [...document.querySelectorAll("#recommendations section.region")].map((s) => ({
        title: s.querySelector("h3").textContent,
        cards: [...s.querySelectorAll(".card")].map((c) => ({
          name: c.querySelector("h4").textContent,
          meta: c.querySelector(".meta").textContent,
          price: c.querySelector(".price").textContent,
          match: c.querySelector(".match").textContent,
          image_loaded: (c.querySelector("img")?.naturalWidth || 0) > 0,
          alt: c.querySelector("img")?.alt || null,
        })),
      })),
      focused: document.activeElement?.id || null,
    })));
  }
  out.console_errors_run1 = [...out.console_errors];
  out.record_run1 = out.record; // later runs overwrite out.record
  await page.screenshot({ path: opt.screenshot, fullPage: true });

  if (opt["phone-screenshot"]) {
    await page.setViewportSize({ width: 390, height: 844 });
    out.phone_overflow = await page.evaluate(
      () => document.documentElement.scrollWidth > window.innerWidth);
    await page.screenshot({ path: opt["phone-screenshot"], fullPage: true });
    await page.setViewportSize({ width: 1100, height: 900 });
  }

  // --- run 2: not an image (named .jpg, declared image/jpeg) ---
  await page.focus("#again-button");
  await page.keyboard.press("Enter");
  out.again_focus = await page.evaluate(() => document.activeElement?.id || null);
  await page.setInputFiles("#file", {
    name: "holiday.jpg", mimeType: "image/jpeg", buffer: Buffer.from("this is a text file, not a photo\n"),
  });
  await page.waitForSelector("#error:not([hidden])", { timeout: 10000 });
  out.bad_file_error = await page.$eval("#error", (e) => e.textContent);

  // --- run 3: a real image with nobody in it (a plain grey PNG drawn by the browser) ---
  const grey = await page.evaluate(() => {
    const canvas = Object.assign(document.createElement("canvas"), { width: 480, height: 640 });
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#8a8f96";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/png").split(",")[1];
  });
  await page.setInputFiles("#file", {
    name: "empty-room.png", mimeType: "image/png", buffer: Buffer.from(grey, "base64"),
  });
  await page.waitForSelector("#error:not([hidden]), #results:not([hidden])", { timeout });
  out.nobody_error = await page.$eval("#error", (e) => (e.hidden ? null : e.textContent));

  // --- run 4: a JPEG header then garbage: passes the page's check, the workflow says FAILED ---
  await page.setInputFiles("#file", {
    name: "broken.jpg", mimeType: "image/jpeg",
    buffer: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 0x41)]),
  });
  await page.waitForSelector("#error:not([hidden]), #results:not([hidden])", { timeout });
  out.failed_error = await page.$eval("#error", (e) => (e.hidden ? null : e.textContent));

  // --- run 5: over 10 MB: refused on the page before any upload ---
  const big = Buffer.alloc(10 * 1024 * 1024 + 1, 0);
  big.set([0xff, 0xd8, 0xff, 0xe0]);
  await page.setInputFiles("#file", { name: "huge.jpg", mimeType: "image/jpeg", buffer: big });
  await page.waitForSelector("#error:not([hidden])", { timeout: 10000 });
  out.too_large_error = await page.$eval("#error", (e) => e.textContent);

  // --- run 6: the API unreachable (requests to it fail at the network level) ---
  await page.route(/\/uploads$/, (route) => route.abort("connectionrefused"));
  await page.setInputFiles("#file", opt.photo);
  await page.waitForSelector("#error:not([hidden])", { timeout: 10000 });
  out.unreachable_error = await page.$eval("#error", (e) => e.textContent);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
