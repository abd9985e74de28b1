// codepipeline-local dashboard: plain JavaScript, no build step.
// Talks to the emulator the way the AWS SDKs do (POST / with X-Amz-Target, AWS JSON 1.1) and
// follows the state-change stream (/_codepipeline-local/events) to refresh what is shown.
"use strict";

const ADMIN = "/_codepipeline-local";
const TARGET_PREFIX = "CodePipeline_20150709.";

const ui = {
  scope: { account: "", region: "" },
  pipeline: null, // the pipeline shown, from the URL hash #/pipelines/NAME
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
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function when(seconds) {
  if (seconds === undefined || seconds === null) return "";
  return new Date(seconds * 1000).toLocaleString();
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
      if (ui.pipeline && pipelines.some((p) => p.name === ui.pipeline)) {
        renderPipeline(await loadPipeline(ui.pipeline));
      } else {
        renderPipeline(null);
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
            href: `#/pipelines/${encodeURIComponent(p.name)}`,
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

function renderPipeline(data) {
  $("welcome").hidden = !!data;
  $("pipeline").hidden = !data;
  if (!data) return;
  const declaration = data.pipeline.pipeline;
  const metadata = data.pipeline.metadata || {};
  $("pipeline-name").textContent = declaration.name;
  $("pipeline-meta").textContent =
    `${declaration.pipelineType || "V1"} · version ${declaration.version} · ` +
    `${declaration.executionMode || "SUPERSEDED"}` +
    (metadata.pipelineArn ? ` · ${metadata.pipelineArn}` : "");
  const stateByName = new Map((data.state.stageStates || []).map((s) => [s.stageName, s]));
  const columns = [];
  declaration.stages.forEach((stage, index) => {
    const state = stateByName.get(stage.name) || {};
    if (index > 0) columns.push(renderTransition(declaration.name, stage.name, state));
    columns.push(renderStage(declaration.name, stage, state));
  });
  $("stages").replaceChildren(...columns);
  renderHistory(declaration.name, data.executions);
}

function renderTransition(pipeline, stageName, state) {
  const transition = state.inboundTransitionState || { enabled: true };
  const enabled = transition.enabled !== false;
  return h(
    "div",
    {
      class: `transition ${enabled ? "enabled" : "disabled"}`,
      "data-transition": stageName,
      title: enabled ? "Transition enabled" : `Disabled: ${transition.disabledReason || ""}`,
    },
    h("span", { class: "arrow" }, enabled ? "→" : "⊘"),
    enabled
      ? h(
          "button",
          {
            class: "disable-transition",
            onclick: () =>
              act("DisableStageTransition", {
                pipelineName: pipeline,
                stageName,
                transitionType: "Inbound",
                reason: "Disabled from the dashboard",
              }),
          },
          "Disable",
        )
      : h(
          "button",
          {
            class: "enable-transition",
            onclick: () =>
              act("EnableStageTransition", {
                pipelineName: pipeline,
                stageName,
                transitionType: "Inbound",
              }),
          },
          "Enable",
        ),
  );
}

function renderStage(pipeline, stage, state) {
  const latest = state.latestExecution;
  const status = latest ? latest.status : "";
  const actionStates = new Map((state.actionStates || []).map((a) => [a.actionName, a]));
  // Actions grouped by runOrder, as the console shows them.
  const groups = new Map();
  for (const action of stage.actions) {
    const order = action.runOrder || 1;
    if (!groups.has(order)) groups.set(order, []);
    groups.get(order).push(action);
  }
  const orders = [...groups.keys()].sort((a, b) => a - b);
  const waiting = (state.inboundExecutions || []).map((e) => e.pipelineExecutionId);
  return h(
    "div",
    { class: `stage ${status ? "s-" + status : ""}`, "data-stage": stage.name },
    h(
      "h4",
      {},
      h("span", {}, stage.name),
      h("span", { class: `status stage-status s-${status}` }, status || "Didn't run"),
    ),
    latest
      ? h(
          "div",
          { class: "stage-execution muted" },
          "Execution ",
          h("code", {}, latest.pipelineExecutionId),
        )
      : null,
    waiting.length
      ? h("div", { class: "stage-execution muted" }, `Waiting to enter: ${waiting.join(", ")}`)
      : null,
    orders.map((order) =>
      h(
        "div",
        { class: "group", "data-run-order": order },
        groups.get(order).map((action) => renderAction(pipeline, stage.name, action, actionStates.get(action.name))),
      ),
    ),
    status === "Failed" && latest
      ? h(
          "button",
          {
            class: "retry",
            onclick: () =>
              act("RetryStageExecution", {
                pipelineName: pipeline,
                stageName: stage.name,
                pipelineExecutionId: latest.pipelineExecutionId,
                retryMode: "FAILED_ACTIONS",
              }),
          },
          "Retry failed actions",
        )
      : null,
  );
}

function renderAction(pipeline, stageName, action, state) {
  const latest = (state && state.latestExecution) || null;
  const status = latest ? latest.status : "";
  const type = action.actionTypeId;
  const key = `${stageName}/${action.name}`;
  const pendingApproval =
    type.category === "Approval" && status === "InProgress" && latest && latest.token;
  const decide = (decision) => {
    const summary = (ui.comments[key] || "").trim() || `${decision} from the dashboard`;
    delete ui.comments[key];
    return act("PutApprovalResult", {
      pipelineName: pipeline,
      stageName,
      actionName: action.name,
      token: latest.token,
      result: { status: decision, summary },
    });
  };
  return h(
    "div",
    { class: `action ${status ? "s-" + status : ""}`, "data-action": action.name },
    h("div", { class: "name" }, action.name),
    h("div", { class: "provider" }, `${type.provider} (${type.category}, ${type.owner})`),
    h("div", { class: `status action-status s-${status}` }, status || "Didn't run"),
    latest && latest.summary ? h("div", { class: "summary" }, latest.summary) : null,
    latest && latest.errorDetails
      ? h("div", { class: "summary" }, `${latest.errorDetails.code || ""}: ${latest.errorDetails.message || ""}`)
      : null,
    latest && latest.lastStatusChange
      ? h("div", { class: "when" }, when(latest.lastStatusChange))
      : null,
    pendingApproval
      ? h("input", {
          class: "comment",
          placeholder: "Comment (optional)",
          value: ui.comments[key] || "",
          oninput: (e) => {
            ui.comments[key] = e.target.value;
          },
        })
      : null,
    pendingApproval
      ? h(
          "div",
          { class: "buttons" },
          h("button", { class: "approve", onclick: () => decide("Approved") }, "Approve"),
          h("button", { class: "reject", onclick: () => decide("Rejected") }, "Reject"),
        )
      : null,
  );
}

function renderHistory(pipeline, executions) {
  const rows = executions.map((e) => {
    const active = e.status === "InProgress";
    const stop = (abandon) =>
      act("StopPipelineExecution", {
        pipelineName: pipeline,
        pipelineExecutionId: e.pipelineExecutionId,
        abandon,
        reason: abandon ? "Abandoned from the dashboard" : "Stopped from the dashboard",
      });
    const trigger = e.trigger || {};
    return h(
      "tr",
      { "data-execution": e.pipelineExecutionId },
      h("td", {}, h("code", {}, e.pipelineExecutionId)),
      h("td", {}, h("span", { class: `status execution-status s-${e.status}` }, e.status)),
      h("td", {}, [trigger.triggerType, trigger.triggerDetail].filter(Boolean).join(": ")),
      h("td", {}, when(e.startTime)),
      h("td", {}, when(e.lastUpdateTime)),
      h(
        "td",
        {},
        active ? h("button", { class: "stop", onclick: () => stop(false) }, "Stop") : null,
        active || e.status === "Stopping"
          ? h("button", { class: "abandon", onclick: () => stop(true) }, "Abandon")
          : null,
      ),
    );
  });
  if (rows.length === 0) {
    rows.push(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No executions yet.")));
  }
  $("history").querySelector("tbody").replaceChildren(...rows);
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

function route() {
  const match = location.hash.match(/^#\/pipelines\/(.+)$/);
  ui.pipeline = match ? decodeURIComponent(match[1]) : null;
  refresh();
}

async function main() {
  for (const el of document.querySelectorAll(".origin")) el.textContent = location.origin;
  const params = new URLSearchParams(location.search);
  // With --admin-token, open the dashboard once as .../ui/?token=TOKEN: the admin API needs it.
  if (params.get("token")) sessionStorage.setItem("adminToken", params.get("token"));
  const token = sessionStorage.getItem("adminToken");
  let config = {};
  try {
    const headers = token ? { "X-Codepipeline-Local-Admin-Token": token } : {};
    const response = await fetch(`${ADMIN}/config`, { headers });
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

main();
