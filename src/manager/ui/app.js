// airlock manager web UI: a single page over /api/v1, written as a plain ES module (nothing to
// fetch from the internet). Pages are chosen by the URL hash: #/login, #/models, #/create,
// #/models/<id>. The access key lives in sessionStorage for this tab only. Every value from the
// server is put into the page as text (textContent), never as HTML.

const app = document.getElementById("app");
const KEY_STORAGE = "airlock.accessKey";
const SIZES = {
  small: { label: "Small: 2 CPU, 4 GiB", cpu: "2", memory: "4Gi" },
  medium: { label: "Medium: 8 CPU, 32 GiB", cpu: "8", memory: "32Gi" },
  large: { label: "Large: 16 CPU, 64 GiB", cpu: "16", memory: "64Gi" },
  xlarge: { label: "X-Large: 32 CPU, 128 GiB", cpu: "32", memory: "128Gi" },
};
const SCHEMES = [
  ["s3://", "s3://bucket/prefix"],
  ["gs://", "gs://bucket/prefix"],
  ["hdfs://", "hdfs://namenode:8020/path"],
  ["webhdfs://", "webhdfs://namenode:9870/path"],
  ["Azure Blob", "https://account.blob.core.windows.net/container/prefix"],
  ["https://", "https://host/path"],
  ["file://", "file:///absolute/path"],
];

let refreshTimer = null;
let info = null;
// A key just created is shown once, on the next page, then forgotten.
let freshSecret = null;

// ---------- small helpers ----------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function formatBytes(bytes) {
  if (!bytes) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function badge(status) {
  return h("span", { class: `badge ${status}`, "data-status": status }, status);
}

function accessKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = { "x-access-key": accessKey() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const error = payload && payload.error ? payload.error : { code: `http_${response.status}`, message: response.statusText };
    if (response.status === 401) {
      sessionStorage.removeItem(KEY_STORAGE);
      go("#/login", error.message);
    }
    throw new ApiError(response.status, error.code, error.message);
  }
  return payload ? payload.data : null;
}

function errorBox(error) {
  return h("div", { class: "error", role: "alert" }, error instanceof Error ? error.message : String(error));
}

let loginMessage = "";
function go(hash, message) {
  if (message) loginMessage = message;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function setActiveNav(name) {
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === name);
  }
}

function copyButton(text) {
  return h("button", {
    type: "button",
    class: "secondary",
    onclick: async (event) => {
      try {
        await navigator.clipboard.writeText(text);
        event.target.textContent = "Copied";
      } catch {
        event.target.textContent = "Select and copy";
      }
    },
  }, "Copy");
}

// ---------- pages ----------

function loginPage() {
  setActiveNav("");
  const input = h("input", { id: "access-key", type: "password", autocomplete: "off", placeholder: "alk_…", required: true });
  const status = h("div");
  if (loginMessage) status.append(errorBox(loginMessage));
  loginMessage = "";
  const form = h("form", {
    class: "panel login",
    onsubmit: async (event) => {
      event.preventDefault();
      status.replaceChildren();
      sessionStorage.setItem(KEY_STORAGE, input.value.trim());
      try {
        info = await api("GET", "/api/v1/info");
        showWho();
        go("#/models");
      } catch (error) {
        if (error.status !== 401) status.append(errorBox(error));
      }
    },
  },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Enter an access key. An administrator creates one with ",
      h("code", {}, "airlock manager access-key create --name <you>"), "."),
    h("label", { for: "access-key" }, "Access key"),
    input,
    status,
    h("div", { class: "row" }, h("span", { class: "spacer" }), h("button", { type: "submit", id: "sign-in" }, "Sign in")));
  app.replaceChildren(form);
  input.focus();
}

async function modelsPage() {
  setActiveNav("models");
  const kindFilter = h("select", { id: "kind-filter", onchange: () => load() },
    h("option", { value: "" }, "All kinds"),
    ...["embedding", "reranker", "llm", "clip", "ocr"].map((k) => h("option", { value: k }, k)));
  const body = h("tbody", { id: "models-body" });
  const problem = h("div");
  const table = h("table", { id: "models-table" },
    h("thead", {}, h("tr", {}, ...["Name", "Kind", "Status", "Endpoint", "Compute", "Replicas", "Updated"].map((t) => h("th", {}, t)))),
    body);
  app.replaceChildren(
    h("div", { class: "row" }, h("h1", {}, "Models"), h("span", { class: "spacer" }), kindFilter,
      h("a", { class: "button", href: "#/create", id: "create-model" }, "Create Model")),
    problem,
    h("div", { class: "panel" }, table));

  async function load() {
    try {
      const query = kindFilter.value ? `?kind=${encodeURIComponent(kindFilter.value)}` : "";
      const models = await api("GET", `/api/v1/ai-models${query}`);
      problem.replaceChildren();
      body.replaceChildren(...models.map((m) => h("tr", {
        class: "clickable",
        "data-model": m.name,
        onclick: () => go(`#/models/${m.id}`),
      },
        h("td", {}, h("a", { href: `#/models/${m.id}` }, m.name), " ", m.isDefault ? h("span", { class: "default-tag" }, "default") : null),
        h("td", {}, h("span", { class: "kind" }, m.kind)),
        h("td", { title: m.statusMessage }, badge(m.status)),
        h("td", { class: "endpoint mono" }, m.endpoint || "—"),
        h("td", {}, computeText(m.compute)),
        h("td", {}, String(m.replicas)),
        h("td", { class: "small muted" }, new Date(m.updatedAt).toLocaleString()))));
      if (models.length === 0) body.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No models. Create one.")));
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  }
  await load();
  refreshTimer = setInterval(load, 3000);
}

function computeText(compute) {
  const gpu = compute.gpuCount > 0 ? `${compute.gpuCount} × ${compute.gpuType || "GPU"}, ` : "CPU, ";
  return `${gpu}${compute.cpu} CPU, ${compute.memory}`;
}

async function createPage() {
  setActiveNav("create");
  if (!info) info = await api("GET", "/api/v1/info");
  const defaults = await api("GET", "/api/v1/ai-models?isDefault=true");
  const problem = h("div");

  const source = h("select", { id: "source" },
    h("option", { value: "" }, "Custom image"),
    ...defaults.map((m) => h("option", { value: m.id }, `${m.name} (${m.kind})`)));
  const name = h("input", { id: "name", required: true, placeholder: "my-embedder", pattern: "[a-z0-9]([a-z0-9.\\-]*[a-z0-9])?" });
  const kind = h("select", { id: "kind" }, ...info.kinds.map((k) => h("option", { value: k }, k)));
  const image = h("input", { id: "image-url", placeholder: info.runtimeImage, value: info.runtimeImage });
  const path = h("input", { id: "model-profiles-path", placeholder: "s3://bucket/models/my-model", autocomplete: "off" });
  const profile = h("select", { id: "profile" }, h("option", { value: "" }, "Automatic (for the hardware found)"));
  const gpuType = h("select", { id: "gpu-type" }, h("option", { value: "" }, "None (CPU)"),
    ...info.gpuTypes.map((g) => h("option", { value: g }, g)));
  const gpuCount = h("input", { id: "gpu-count", type: "number", min: 0, max: 8, value: 0 });
  const size = h("select", { id: "size" }, ...Object.entries(SIZES).map(([k, s]) => h("option", { value: k }, s.label)));
  const replicas = h("input", { id: "replicas", type: "number", min: 0, max: 64, value: 1 });
  const description = h("input", { id: "description", placeholder: "What it is for (optional)" });
  const checkResult = h("div", { id: "check-result" });

  source.addEventListener("change", () => {
    const chosen = defaults.find((m) => m.id === source.value);
    if (!chosen) return;
    kind.value = chosen.kind;
    image.value = chosen.imageUrl;
    gpuType.value = chosen.compute.gpuType;
    gpuCount.value = chosen.compute.gpuCount;
    const match = Object.entries(SIZES).find(([, s]) => s.cpu === chosen.compute.cpu && s.memory === chosen.compute.memory);
    if (match) size.value = match[0];
    description.value = chosen.description;
    if (!name.value) name.value = `${chosen.name}-1`.replace(/\.+/g, "-");
  });
  gpuType.addEventListener("change", () => {
    if (gpuType.value && Number(gpuCount.value) === 0) gpuCount.value = 1;
    if (!gpuType.value) gpuCount.value = 0;
  });

  const checkButton = h("button", {
    type: "button",
    id: "check-path",
    class: "secondary",
    onclick: async () => {
      checkResult.replaceChildren(h("p", { class: "muted" }, "Reading the store index…"));
      try {
        const check = await api("POST", "/api/v1/check-path", { modelProfilesPath: path.value.trim() });
        checkResult.replaceChildren(renderCheck(check));
        profile.replaceChildren(h("option", { value: "" }, "Automatic (for the hardware found)"),
          ...check.profiles.map((p) => h("option", { value: p.id }, `${p.description || p.id} — ${formatBytes(p.bytes)}`)));
      } catch (error) {
        checkResult.replaceChildren(errorBox(error));
      }
    },
  }, "Check path");

  const form = h("form", {
    class: "panel",
    id: "create-form",
    onsubmit: async (event) => {
      event.preventDefault();
      problem.replaceChildren();
      const chosenSize = SIZES[size.value];
      const body = {
        name: name.value.trim(),
        kind: kind.value,
        imageUrl: image.value.trim(),
        modelProfilesPath: path.value.trim(),
        compute: { gpuType: gpuType.value, gpuCount: Number(gpuCount.value), cpu: chosenSize.cpu, memory: chosenSize.memory },
        replicas: Number(replicas.value),
      };
      if (profile.value) body.profile = profile.value;
      if (description.value.trim()) body.description = description.value.trim();
      try {
        const created = await api("POST", "/api/v1/ai-models", body);
        freshSecret = { title: "Model API key", key: created.apiKey, modelId: created.id };
        go(`#/models/${created.id}`);
      } catch (error) {
        problem.replaceChildren(errorBox(error));
        problem.scrollIntoView();
      }
    },
  },
    h("div", { class: "grid2" },
      h("div", {}, h("label", { for: "source" }, "Model", h("span", { class: "hint" }, "a default model or a custom image")), source),
      h("div", {}, h("label", { for: "name" }, "Name", h("span", { class: "hint" }, "lowercase letters, digits, '-' and '.'")), name)),
    h("div", { class: "grid2" },
      h("div", {}, h("label", { for: "kind" }, "Kind"), kind),
      h("div", {}, h("label", { for: "image-url" }, "Image URL", h("span", { class: "hint" }, "your private registry's copy")), image)),
    h("label", { for: "model-profiles-path" }, "Model Profiles Path on Object Storage",
      h("span", { class: "hint" }, "where `airlock push` put the model cache")),
    h("div", { class: "inline" }, path, checkButton),
    h("div", { class: "schemes" }, ...SCHEMES.map(([label, example]) => h("button", {
      type: "button",
      title: example,
      onclick: () => {
        path.value = example;
        path.focus();
      },
    }, label))),
    checkResult,
    h("label", { for: "profile" }, "Profile"),
    profile,
    h("h2", {}, "Compute"),
    h("div", { class: "grid4" },
      h("div", {}, h("label", { for: "gpu-type" }, "GPU type"), gpuType),
      h("div", {}, h("label", { for: "gpu-count" }, "GPU count"), gpuCount),
      h("div", {}, h("label", { for: "size" }, "Size"), size),
      h("div", {}, h("label", { for: "replicas" }, "Replicas"), replicas)),
    h("label", { for: "description" }, "Description"),
    description,
    problem,
    h("div", { class: "row" }, h("span", { class: "spacer" }),
      h("a", { href: "#/models", class: "button secondary" }, "Cancel"),
      h("button", { type: "submit", id: "create-submit" }, "Create")));

  app.replaceChildren(h("h1", {}, "Create Model"), form);
}

function renderCheck(check) {
  if (!check.ok) return h("div", { class: "error", role: "alert", id: "check-message" }, check.message);
  const rows = check.profiles.map((p) => h("tr", {},
    h("td", { class: "mono" }, p.id),
    h("td", {}, p.description),
    h("td", {}, String(p.files)),
    h("td", {}, formatBytes(p.bytes)),
    h("td", {}, p.complete ? "complete" : `${p.missingFiles} files missing`)));
  return h("div", { class: "notice", id: "check-message" },
    h("div", {}, `${check.uri}: ${check.message}`),
    check.profiles.length ? h("table", { class: "small" },
      h("thead", {}, h("tr", {}, ...["Profile", "Description", "Files", "Size", "State"].map((t) => h("th", {}, t)))),
      h("tbody", {}, ...rows)) : null,
    ...check.problems.map((p) => h("div", { class: "error" }, p)));
}

async function detailPage(id) {
  setActiveNav("models");
  const secretBox = h("div");
  if (freshSecret && freshSecret.modelId === id) {
    secretBox.append(h("div", { class: "secret", id: "new-api-key" },
      h("strong", {}, `${freshSecret.title}: shown only this once; store it now.`),
      h("code", {}, freshSecret.key), copyButton(freshSecret.key)));
  }
  freshSecret = null;
  const problem = h("div");
  const header = h("div", { class: "row" });
  const facts = h("dl", { class: "facts", id: "model-facts" });
  const cacheFacts = h("dl", { class: "facts", id: "cache-facts" });
  const keysList = h("ul", { id: "api-keys" });
  const imageInput = h("input", { id: "edit-image-url" });
  const smokeInput = h("input", { id: "smoke-input", value: "hello from the air gap" });
  const smokeResult = h("div", { id: "smoke-result" });
  const snippet = h("pre", { class: "snippet", id: "curl-snippet" });
  let model = null;
  let editing = false;

  async function load() {
    try {
      model = await api("GET", `/api/v1/ai-models/${encodeURIComponent(id)}`);
    } catch (error) {
      problem.replaceChildren(errorBox(error));
      return;
    }
    problem.replaceChildren();
    header.replaceChildren(...[h("h1", {}, model.name), badge(model.status), h("span", { class: "kind" }, model.kind),
      model.isDefault ? h("span", { class: "default-tag" }, "default") : null].filter(Boolean));
    facts.replaceChildren(
      h("dt", {}, "Status"), h("dd", { id: "status-message" }, `${model.status}: ${model.statusMessage}`),
      h("dt", {}, "Endpoint URL"), h("dd", { class: "mono", id: "endpoint" }, model.endpoint || "not deployed"),
      h("dt", {}, "Image URL"), h("dd", { class: "mono" }, model.imageUrl),
      h("dt", {}, "Model profiles path"), h("dd", { class: "mono" }, model.modelProfilesPath || "—"),
      h("dt", {}, "Profile"), h("dd", {}, model.profile || "automatic"),
      h("dt", {}, "Compute"), h("dd", {}, computeText(model.compute)),
      h("dt", {}, "Replicas"), h("dd", {}, String(model.replicas)),
      h("dt", {}, "Runtime"), h("dd", {}, model.runtime),
      h("dt", {}, "Created / updated"), h("dd", { class: "small" }, `${model.createdAt} / ${model.updatedAt}`));
    const c = model.cache;
    cacheFacts.replaceChildren(
      h("dt", {}, "Path"), h("dd", { class: "mono" }, c.path || "—"),
      h("dt", {}, "Profile in use"), h("dd", { class: "mono", id: "cache-profile" }, c.profile || "—"),
      h("dt", {}, "Files verified"), h("dd", { id: "cache-verified" }, `${c.verifiedFiles} of ${c.files} files (${formatBytes(c.verifiedBytes)} of ${formatBytes(c.bytes)})`));
    keysList.replaceChildren(...model.apiKeys.map((k) => h("li", { class: "mono" }, `${k.keyPrefix}  (${k.id}, created ${k.createdAt})`)));
    if (!editing) imageInput.value = model.imageUrl;
    const endpoint = model.endpoint || `${location.origin}/inferenceservices/${model.id}`;
    snippet.textContent = model.kind === "reranker"
      ? `curl -sS -X POST "${endpoint}/v1/ranking" -H "Authorization: Bearer $API_KEY" -H "Content-Type: application/json" \\\n  -d '{"model":"${model.name}","query":{"text":"which is about the air gap?"},"passages":[{"text":"hello from the air gap"},{"text":"something else"}]}'`
      : `curl -sS -X POST "${endpoint}/v1/embeddings" -H "Authorization: Bearer $API_KEY" -H "Content-Type: application/json" \\\n  -d '{"input":["hello from the air gap"],"model":"${model.name}"}' | jq '.data[0].embedding | length'`;
  }

  imageInput.addEventListener("focus", () => { editing = true; });
  const saveImage = h("button", {
    type: "button",
    id: "save-image-url",
    onclick: async () => {
      try {
        await api("PATCH", `/api/v1/ai-models/${encodeURIComponent(id)}`, { imageUrl: imageInput.value.trim() });
        editing = false;
        problem.replaceChildren(h("div", { class: "notice" }, "Image URL saved."));
        await load();
      } catch (error) {
        problem.replaceChildren(errorBox(error));
      }
    },
  }, "Save image URL");

  const newKey = h("button", {
    type: "button",
    class: "secondary",
    id: "new-key",
    onclick: async () => {
      try {
        const created = await api("POST", `/api/v1/ai-models/${encodeURIComponent(id)}/api-keys`);
        secretBox.replaceChildren(h("div", { class: "secret", id: "new-api-key" },
          h("strong", {}, "New API key: shown only this once; store it now."), h("code", {}, created.key), copyButton(created.key)));
        await load();
      } catch (error) {
        problem.replaceChildren(errorBox(error));
      }
    },
  }, "Create another API key");

  const smokeButton = h("button", {
    type: "button",
    id: "smoke-test",
    onclick: async () => {
      smokeResult.replaceChildren(h("p", { class: "muted" }, "Sending…"));
      const ranking = model && model.kind === "reranker";
      const body = ranking
        ? { model: model.name, query: { text: smokeInput.value }, passages: [{ text: smokeInput.value }, { text: "an unrelated passage" }] }
        : { model: model ? model.name : undefined, input: [smokeInput.value] };
      const started = performance.now();
      try {
        const response = await fetch(`/inferenceservices/${encodeURIComponent(id)}/v1/${ranking ? "ranking" : "embeddings"}`, {
          method: "POST",
          headers: { "x-access-key": accessKey(), "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
        const payload = await response.json().catch(() => null);
        const ms = Math.round(performance.now() - started);
        if (!response.ok) {
          const message = payload && payload.error ? (payload.error.message || JSON.stringify(payload.error)) : response.statusText;
          smokeResult.replaceChildren(errorBox(`HTTP ${response.status}: ${message}`));
          return;
        }
        if (ranking) {
          smokeResult.replaceChildren(h("div", { class: "notice", id: "smoke-ok" },
            `OK in ${ms} ms: ${payload.rankings.length} passages ranked; best index ${payload.rankings[0].index} (logit ${payload.rankings[0].logit.toFixed(4)})`));
        } else {
          const vector = payload.data[0].embedding;
          smokeResult.replaceChildren(h("div", { class: "notice", id: "smoke-ok" },
            `OK in ${ms} ms: vector length ${vector.length}; first values ${vector.slice(0, 4).map((v) => v.toFixed(4)).join(", ")}`));
        }
      } catch (error) {
        smokeResult.replaceChildren(errorBox(error));
      }
    },
  }, "Run smoke test");

  let confirming = false;
  const deleteButton = h("button", {
    type: "button",
    class: "danger",
    id: "delete-model",
    onclick: async () => {
      if (!confirming) {
        confirming = true;
        deleteButton.textContent = "Click again to delete";
        setTimeout(() => {
          confirming = false;
          deleteButton.textContent = "Delete model";
        }, 5000);
        return;
      }
      deleteButton.disabled = true;
      deleteButton.textContent = "Deleting…";
      try {
        await api("DELETE", `/api/v1/ai-models/${encodeURIComponent(id)}`);
        go("#/models");
      } catch (error) {
        deleteButton.disabled = false;
        problem.replaceChildren(errorBox(error));
      }
    },
  }, "Delete model");

  app.replaceChildren(
    header, secretBox, problem,
    h("div", { class: "panel" }, h("h2", {}, "Deployment"), facts),
    h("div", { class: "panel" }, h("h2", {}, "Cache in use"), cacheFacts),
    h("div", { class: "panel" }, h("h2", {}, "API keys"),
      h("p", { class: "muted small" }, "Applications send one of these as 'Authorization: Bearer <key>' to the endpoint URL. Keys are shown only when created."),
      keysList, newKey),
    h("div", { class: "panel" }, h("h2", {}, "Smoke test"),
      h("div", { class: "inline" }, smokeInput, smokeButton), smokeResult,
      h("p", { class: "muted small" }, "From a shell:"), snippet),
    h("div", { class: "panel" }, h("h2", {}, "Edit"),
      h("label", { for: "edit-image-url" }, "Image URL", h("span", { class: "hint" }, "point it at your private registry")),
      h("div", { class: "inline" }, imageInput, saveImage)),
    h("div", { class: "row" }, h("a", { href: "#/models" }, "← All models"), h("span", { class: "spacer" }), deleteButton));
  await load();
  refreshTimer = setInterval(load, 2000);
}

// ---------- routing ----------

function showWho() {
  const signedIn = Boolean(accessKey()) && info;
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("who").hidden = !signedIn;
  if (signedIn && info.accessKey) {
    document.getElementById("who-name").textContent = `${info.accessKey.name} (${info.accessKey.role}) · ${info.deployer} deployer`;
  }
}

async function route() {
  if (refreshTimer) clearInterval(refreshTimer);
  refreshTimer = null;
  const hash = location.hash || "#/models";
  if (!accessKey() && hash !== "#/login") {
    go("#/login");
    return;
  }
  try {
    if (hash === "#/login") {
      info = null;
      showWho();
      loginPage();
      return;
    }
    if (!info) info = await api("GET", "/api/v1/info");
    showWho();
    if (hash === "#/models") await modelsPage();
    else if (hash === "#/create") await createPage();
    else if (hash.startsWith("#/models/")) await detailPage(decodeURIComponent(hash.slice("#/models/".length)));
    else go("#/models");
  } catch (error) {
    if (error.status !== 401) app.replaceChildren(errorBox(error));
  }
}

document.getElementById("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  info = null;
  go("#/login");
});
window.addEventListener("hashchange", route);
route();
