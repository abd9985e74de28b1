// codepipeline-local dashboard: plain JavaScript, no build step.
// Talks to the emulator the way the AWS SDKs do (POST / with X-Amz-Target, AWS JSON 1.1) and
// follows the state-change stream (/_codepipeline-local/events) to refresh what is shown.
// This file: helpers, API calls, routing and live updates; pipeline.js draws a pipeline,
// execution.js one execution (and follows local logs).
"use strict";

const ADMIN = "/_codepipeline-local";
const TARGET_PREFIX = "CodePipeline_20150709.";

const ui = {
  scope: { account: "", region: "" },
  pipeline: null, // the pipeline shown, from the URL hash #/pipelines/NAME
  execution: null, // the execution shown, from #/pipelines/NAME/executions/ID
  comments: {}, // approval comments being typed, by "stage/action"
  refreshing: false,
  refreshAgain: false,
};

// ---- helpers ----

const $ = (id) => document.getElementById(id);

// Builds an element: h("div", {class: "x", onclick: f}, child, "text", ...).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function when(seconds) {
  if (seconds === undefined || seconds === null) return "";
  return new Date(seconds * 1000).toLocaleString();
}

// "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min".
function duration(fromSeconds, toSeconds) {
  if (fromSeconds === undefined || fromSeconds === null) return "";
  if (toSeconds === undefined || toSeconds === null) return "";
  const ms = Math.max(0, (toSeconds - fromSeconds) * 1000);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const pad = (n) => String(n).padStart(2, "0");
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${pad(Math.floor(s % 60))} s`;
  return `${Math.floor(m / 60)} h ${pad(m % 60)} min`;
}

function statusBadge(status, extraClass) {
  return h("span", { class: `badge s-${status || "none"} ${extraClass || ""}` }, status || "Didn't run");
}

function pipelineHref(name) {
  return `#/pipelines/${encodeURIComponent(name)}`;
}

function executionHref(name, id) {
  return `${pipelineHref(name)}/executions/${encodeURIComponent(id)}`;
}

// Labelled values side by side, as the console's summary panels show them; null when empty.
function fields(entries) {
  const shown = entries.filter(([, value]) => value !== undefined && value !== null && value !== "");
  if (!shown.length) return null;
  return h(
    "div",
    { class: "fields" },
    shown.map(([label, value]) =>
      h("div", { class: "field" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value)),
    ),
  );
}

// A two-column table of names and values ({} or [[name, value]]); null when empty.
function keyValues(entries, className) {
  const rows = (Array.isArray(entries) ? entries : Object.entries(entries || {})).filter(
    ([, value]) => value !== undefined && value !== null && value !== "",
  );
  if (!rows.length) return null;
  return h(
    "table",
    { class: `kv ${className || ""}` },
    h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))),
  );
}

function showError(error) {
  const box = $("error");
  if (!error) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.hidden = false;
  box.textContent = String(error.message || error);
}

// One JSON 1.1 call. The SigV4-shaped Authorization header only carries the scope: an access
// key of 12 digits is the account, the credential scope's region is the region.
async function api(operation, input) {
  const { account, region } = ui.scope;
  const response = await fetch("/", {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": TARGET_PREFIX + operation,
      Authorization:
        `AWS4-HMAC-SHA256 Credential=${account}/20240101/${region}/codepipeline/aws4_request, ` +
        "SignedHeaders=host, Signature=0",
    },
    body: JSON.stringify(input || {}),
  });
  const text = await response.text();
  const body = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const type = String(body.__type || response.status).split("#").pop();
    throw new Error(`${operation}: ${type}: ${body.message || body.Message || ""}`);
  }
  return body;
}

// Runs a user's action, shows its error if any, and refreshes.
async function act(operation, input) {
  try {
    showError(null);
    const out = await api(operation, input);
    await refresh();
    return out;
  } catch (e) {
    showError(e);
    return null;
  }
}

// ---- loading ----

async function listPipelines() {
  const pipelines = [];
  let nextToken;
  do {
    const page = await api("ListPipelines", nextToken ? { nextToken } : {});
    pipelines.push(...(page.pipelines || []));
    nextToken = page.nextToken;
  } while (nextToken);
  return pipelines.sort((a, b) => a.name.localeCompare(b.name));
}

// Every page of a paginated list operation.
async function listAll(operation, input, key) {
  const items = [];
  let nextToken;
  do {
    const page = await api(operation, nextToken ? { ...input, nextToken } : input);
    items.push(...(page[key] || []));
    nextToken = page.nextToken;
  } while (nextToken);
  return items;
}

async function loadPipeline(name) {
  const [pipeline, state, executions] = await Promise.all([
    api("GetPipeline", { name }),
    api("GetPipelineState", { name }),
    api("ListPipelineExecutions", { pipelineName: name, maxResults: 25 }),
  ]);
  return { pipeline, state, executions: executions.pipelineExecutionSummaries || [] };
}

// Refreshes everything shown; calls made while one runs are folded into one more run.
async function refresh() {
  if (ui.refreshing) {
    ui.refreshAgain = true;
    return;
  }
  ui.refreshing = true;
  try {
    do {
      ui.refreshAgain = false;
      const pipelines = await listPipelines();
      renderList(pipelines);
      const known = ui.pipeline && pipelines.some((p) => p.name === ui.pipeline);
      if (known && ui.execution) {
        renderPipeline(null);
        $("welcome").hidden = true;
        // An execution that does not exist (any more) shows the error alone.
        const execution = await loadExecution(ui.pipeline, ui.execution).catch((e) => {
          renderExecution(null);
          throw e;
        });
        renderExecution(execution);
      } else {
        renderExecution(null);
        renderPipeline(known ? await loadPipeline(ui.pipeline) : null);
      }
    } while (ui.refreshAgain);
  } catch (e) {
    showError(e);
  } finally {
    ui.refreshing = false;
  }
}

let refreshTimer = null;
function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refresh();
  }, 50);
}

// ---- rendering ----

function renderList(pipelines) {
  const list = $("pipelines");
  list.replaceChildren(
    ...pipelines.map((p) =>
      h(
        "li",
        {},
        h(
          "a",
          {
            href: pipelineHref(p.name),
            class: p.name === ui.pipeline ? "selected" : "",
            "data-pipeline": p.name,
          },
          p.name,
        ),
      ),
    ),
  );
  $("no-pipelines").hidden = pipelines.length > 0;
}

// ---- live updates ----

function connectEvents() {
  const live = $("live");
  const params = new URLSearchParams({ account: ui.scope.account, region: ui.scope.region });
  const source = new EventSource(`${ADMIN}/events?${params}`);
  source.onopen = () => {
    live.textContent = "live";
    live.classList.remove("off");
    refreshSoon(); // catch up on anything missed while disconnected
  };
  source.onerror = () => {
    live.textContent = "reconnecting";
    live.classList.add("off");
  };
  source.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    const pipeline = event.detail && event.detail.pipeline;
    // Pipeline-level changes move the list too; anything of the shown pipeline moves the view.
    if (!ui.pipeline || pipeline === ui.pipeline || event["detail-type"].includes("Pipeline Execution")) {
      refreshSoon();
    }
  };
}

// ---- start ----

// #/pipelines/NAME shows a pipeline, #/pipelines/NAME/executions/ID one of its executions.
function route() {
  const match = location.hash.match(/^#\/pipelines\/([^/]+)(?:\/executions\/([^/]+))?\/?$/);
  ui.pipeline = match ? decodeURIComponent(match[1]) : null;
  ui.execution = match && match[2] ? decodeURIComponent(match[2]) : null;
  showError(null);
  refresh();
}

// A GET of the admin API (PATH under /_codepipeline-local), with the admin token when the
// dashboard was opened with one: with --admin-token, open it once as .../ui/?token=TOKEN.
function adminGet(path) {
  const token = sessionStorage.getItem("adminToken");
  const headers = token ? { "X-Codepipeline-Local-Admin-Token": token } : {};
  return fetch(`${ADMIN}${path}`, { headers });
}

async function main() {
  for (const el of document.querySelectorAll(".origin")) el.textContent = location.origin;
  const params = new URLSearchParams(location.search);
  if (params.get("token")) sessionStorage.setItem("adminToken", params.get("token"));
  let config = {};
  try {
    const response = await adminGet("/config");
    if (response.ok) config = await response.json();
  } catch (e) {
    showError(e);
  }
  ui.scope.account = params.get("account") || config.account_id || "000000000000";
  ui.scope.region = params.get("region") || config.region || "us-east-1";
  $("account").value = ui.scope.account;
  $("region").value = ui.scope.region;
  $("scope").addEventListener("submit", (e) => {
    e.preventDefault();
    const next = new URLSearchParams({ account: $("account").value, region: $("region").value });
    location.search = next.toString();
  });
  $("start").addEventListener("click", () => act("StartPipelineExecution", { name: ui.pipeline }));
  window.addEventListener("hashchange", route);
  connectEvents();
  route();
}

// After pipeline.js and execution.js have loaded.
window.addEventListener("DOMContentLoaded", main);
