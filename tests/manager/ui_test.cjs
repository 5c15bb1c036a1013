// Drives the manager's web UI in Debian's chromium (headless) with playwright-core, as an
// operator uses it: log in with an access key, see the models, create a model from a store
// pushed by the test (checking the path first), watch it become Ready, run the smoke test from
// the detail page, edit its image URL, delete it. Saves a screenshot of every page.
//   node ui_test.cjs <manager-url> <access-key> <model-profiles-path> <profile-id> <screenshot-dir>
// Prints one JSON line with what it saw; exits 1 on the first failed step.
const path = require("path");
const fs = require("fs");
const root = process.env.AIRLOCK_PROJECT_ROOT || path.resolve(__dirname, "..", "..");
const { chromium } = require(path.join(root, "node_modules", "playwright-core"));

const [url, accessKey, storePath, profileId, shots] = process.argv.slice(2);
const seen = { steps: [], screenshots: [] };

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const consoleErrors = [];
  page.on("console", (message) => { if (message.type() === "error") consoleErrors.push(message.text()); });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  // Nothing may be fetched from anywhere but the manager (an air-gapped cluster has no CDN).
  const outside = [];
  page.on("request", (request) => { if (!request.url().startsWith(url)) outside.push(request.url()); });
  const shot = async (name) => {
    const file = path.join(shots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    seen.screenshots.push(file);
  };
  const step = (name) => seen.steps.push(name);

  await page.goto(url + "/");
  await page.waitForSelector("#access-key");
  step("login page");
  await shot("01-login");
  await page.fill("#access-key", "alk_not-a-real-key-000000000000000000000000000000");
  await page.click("#sign-in");
  await page.waitForSelector(".error");
  seen.wrongKeyMessage = await page.textContent(".error");
  step("wrong key refused");
  await page.fill("#access-key", accessKey);
  await page.click("#sign-in");
  await page.waitForSelector("#models-table tbody tr[data-model='paddleocr']");
  seen.modelRows = await page.$$eval("#models-table tbody tr", (rows) => rows.length);
  seen.who = await page.textContent("#who-name");
  step("models page");
  await shot("02-models");

  await page.click("#create-model");
  await page.waitForSelector("#create-form");
  await page.selectOption("#source", { label: "airlock-embedding (embedding)" });
  await page.fill("#name", "ui-embedder");
  await page.fill("#model-profiles-path", "ftp://nowhere/x");
  await page.click("#check-path");
  await page.waitForSelector("#check-result .error");
  seen.badPathMessage = await page.textContent("#check-result .error");
  await page.fill("#model-profiles-path", storePath);
  await page.click("#check-path");
  await page.waitForSelector("#check-message.notice");
  seen.checkMessage = await page.textContent("#check-message");
  if (!seen.checkMessage.includes(profileId)) throw new Error(`check path did not list ${profileId}: ${seen.checkMessage}`);
  await page.selectOption("#profile", profileId);
  seen.profileOptions = await page.$$eval("#profile option", (options) => options.map((o) => o.value));
  await page.selectOption("#gpu-type", "");
  await page.selectOption("#size", "small");
  step("create page, path checked");
  await shot("03-create");
  await page.click("#create-submit");

  await page.waitForSelector("#new-api-key");
  seen.apiKeyShown = (await page.textContent("#new-api-key code")).startsWith("amk_");
  step("detail page with the API key shown once");
  await shot("04-detail-pending");
  await page.waitForSelector(".badge[data-status='Ready']", { timeout: 120000 });
  seen.endpoint = await page.textContent("#endpoint");
  seen.cacheProfile = await page.textContent("#cache-profile");
  seen.cacheVerified = await page.textContent("#cache-verified");
  step("model Ready");
  await shot("05-detail-ready");

  await page.click("#smoke-test");
  await page.waitForSelector("#smoke-ok", { timeout: 60000 });
  seen.smoke = await page.textContent("#smoke-ok");
  step("smoke test");
  await shot("06-smoke-test");

  await page.fill("#edit-image-url", "registry.local:5000/airlock:0.1.0");
  await page.click("#save-image-url");
  await page.waitForFunction(() => document.querySelector("#model-facts").textContent.includes("registry.local:5000/airlock:0.1.0"));
  step("image URL edited");

  await page.click("#delete-model");
  await page.click("#delete-model");
  await page.waitForSelector("#models-table");
  await page.waitForFunction(() => !document.querySelector("#models-table tbody tr[data-model='ui-embedder']"));
  step("deleted");
  await shot("07-models-after-delete");

  // Refused requests (the wrong key, the bad path) log "Failed to load resource": expected here.
  seen.consoleErrors = consoleErrors.filter((e) => !e.startsWith("Failed to load resource"));
  seen.outsideRequests = outside;
  await browser.close();
}

main().then(() => {
  console.log(JSON.stringify({ ok: true, ...seen }));
}).catch((error) => {
  console.log(JSON.stringify({ ok: false, error: String(error && error.stack || error), ...seen }));
  process.exit(1);
});
