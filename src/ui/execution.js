// The execution view (#/pipelines/NAME/executions/ID), what the console's execution page shows:
// the summary, source revisions, resolved variables, and a timeline of stages with their
// condition rule results and action executions (times, resolved configuration, artifacts,
// output variables, errors, and the log of a locally executed action, followed while it runs).
"use strict";

const CONDITION_KINDS = [
  ["beforeEntry", "Entry conditions", "beforeEntryConditionState"],
  ["onSuccess", "Success conditions", "onSuccessConditionState"],
  ["onFailure", "Failure conditions", "onFailureConditionState"],
];

// ---- loading ----

// The execution's summary (start and update times, trigger): GetPipelineExecution has no times.
async function findExecutionSummary(pipelineName, id) {
  let nextToken;
  for (let page = 0; page < 10; page++) {
    const out = await api("ListPipelineExecutions", { pipelineName, maxResults: 100, nextToken });
    const found = (out.pipelineExecutionSummaries || []).find((e) => e.pipelineExecutionId === id);
    if (found || !out.nextToken) return found || null;
    nextToken = out.nextToken;
  }
  return null;
}

async function loadExecution(name, id) {
  const filter = { pipelineExecutionId: id };
  const { pipelineExecution: execution } = await api("GetPipelineExecution", {
    pipelineName: name,
    pipelineExecutionId: id,
  });
  const [pipeline, state, actions, rules, summary] = await Promise.all([
    api("GetPipeline", { name, version: execution.pipelineVersion }),
    api("GetPipelineState", { name }),
    listAll("ListActionExecutions", { pipelineName: name, filter }, "actionExecutionDetails"),
    // V1 pipelines have no conditions: nothing to list.
    listAll("ListRuleExecutions", { pipelineName: name, filter }, "ruleExecutionDetails").catch(() => []),
    findExecutionSummary(name, id),
  ]);
  return { execution, declaration: pipeline.pipeline, state, actions, rules, summary };
}

// ---- rendering ----

function renderExecution(data) {
  $("execution").hidden = !data;
  if (!data) return;
  const { execution, declaration, summary } = data;
  const name = declaration.name;
  $("execution-back").textContent = name;
  $("execution-back").href = pipelineHref(name);
  $("execution-id").textContent = execution.pipelineExecutionId;
  $("execution-status").replaceChildren(statusBadge(execution.status, "execution-status"));

  const trigger = (summary && summary.trigger) || execution.trigger || {};
  const started = summary && summary.startTime;
  const updated = summary && summary.lastUpdateTime;
  const finished = execution.status !== "InProgress" && execution.status !== "Stopping";
  const summaryParts = [
    fields([
      ["Pipeline", h("a", { href: pipelineHref(name) }, name)],
      ["Pipeline version", execution.pipelineVersion],
      ["Execution mode", execution.executionMode],
      ["Execution type", execution.executionType],
      ["Started", when(started)],
      [finished ? "Ended" : "Last updated", when(updated)],
      ["Duration", finished ? h("span", { class: "duration" }, duration(started, updated)) : null],
      ["Trigger", [trigger.triggerType, trigger.triggerDetail].filter(Boolean).join(": ")],
      [
        "Rollback of",
        execution.rollbackMetadata && execution.rollbackMetadata.rollbackTargetPipelineExecutionId,
      ],
    ]),
    execution.statusSummary
      ? h("div", { class: `status-summary s-${execution.status}` }, execution.statusSummary)
      : null,
  ];
  $("execution-summary").replaceChildren(...summaryParts.filter(Boolean));
  renderRevisions(execution.artifactRevisions || []);
  renderResolvedVariables(execution.variables || [], declaration.variables || []);
  renderTimeline(data);
  followLogs();
}

function renderRevisions(revisions) {
  $("execution-revisions-panel").hidden = revisions.length === 0;
  $("execution-revisions")
    .querySelector("tbody")
    .replaceChildren(
      ...revisions.map((r) =>
        h(
          "tr",
          { "data-artifact": r.name },
          h("td", {}, r.name),
          h("td", {}, r.revisionUrl ? h("a", { href: r.revisionUrl }, h("code", {}, r.revisionId)) : h("code", {}, r.revisionId || "")),
          h("td", {}, r.revisionSummary || ""),
          h("td", {}, when(r.created)),
        ),
      ),
    );
}

// The execution's resolved variables next to the pipeline's declared ones.
function renderResolvedVariables(resolved, declared) {
  const names = [...new Set([...declared.map((v) => v.name), ...resolved.map((v) => v.name)])];
  $("execution-variables-panel").hidden = names.length === 0;
  const value = new Map(resolved.map((v) => [v.name, v.resolvedValue]));
  const fallback = new Map(declared.map((v) => [v.name, v.defaultValue]));
  $("execution-variables")
    .querySelector("tbody")
    .replaceChildren(
      ...names.map((n) =>
        h(
          "tr",
          { "data-variable": n },
          h("td", {}, h("code", {}, n)),
          h("td", { class: "resolved" }, value.has(n) ? h("code", {}, value.get(n)) : ""),
          h("td", {}, fallback.get(n) === undefined ? "" : h("code", {}, fallback.get(n))),
        ),
      ),
    );
}

function byStart(a, b) {
  return (a.startTime || 0) - (b.startTime || 0);
}

function renderTimeline(data) {
  const { declaration, state, actions, rules, execution } = data;
  const stateByName = new Map((state.stageStates || []).map((s) => [s.stageName, s]));
  $("timeline").replaceChildren(
    ...declaration.stages.map((stage) => {
      const stageState = stateByName.get(stage.name) || {};
      const latest = stageState.latestExecution;
      // GetPipelineState only knows the stage's latest execution.
      const current = latest && latest.pipelineExecutionId === execution.pipelineExecutionId ? stageState : null;
      return renderTimelineStage(
        stage,
        actions.filter((a) => a.stageName === stage.name).sort(byStart),
        rules.filter((r) => r.stageName === stage.name).sort(byStart),
        current,
      );
    }),
  );
}

// A stage's status in this execution: GetPipelineState's when it is the stage's latest
// execution, else from its actions' last attempts.
function stageStatus(stage, runs, current) {
  if (current) return current.latestExecution.status;
  if (!runs.length) return "";
  const last = new Map();
  for (const run of runs) last.set(run.actionName, run.status);
  const statuses = [...last.values()];
  for (const status of ["InProgress", "Failed", "Stopped", "Abandoned"]) {
    if (statuses.includes(status)) return status;
  }
  return last.size === stage.actions.length ? "Succeeded" : "InProgress";
}

function lastUpdate(runs) {
  return runs.reduce((latest, r) => Math.max(latest, r.lastUpdateTime || 0), 0) || null;
}

function renderTimelineStage(stage, runs, ruleRuns, current) {
  const status = stageStatus(stage, runs, current);
  const ran = [...runs, ...ruleRuns];
  const start = ran.length ? Math.min(...ran.map((r) => r.startTime)) : null;
  const actions = [...stage.actions].sort((a, b) => (a.runOrder || 1) - (b.runOrder || 1));
  const conditions = CONDITION_KINDS.map(([kind, title, stateKey]) =>
    renderConditionRuns(stage, kind, title, ruleRuns, current && current[stateKey]),
  );
  return h(
    "div",
    { class: `tl-stage s-${status || "none"}`, "data-stage": stage.name },
    h(
      "div",
      { class: "tl-head" },
      h("h4", {}, stage.name),
      statusBadge(status, "stage-status"),
      h("span", { class: "spacer" }),
      start && status !== "InProgress" ? h("span", { class: "muted duration" }, duration(start, lastUpdate(ran))) : null,
    ),
    // As the console: entry conditions, the actions, then success and failure conditions.
    conditions.slice(0, 1),
    actions.map((action) => {
      const attempts = runs.filter((r) => r.actionName === action.name);
      if (!attempts.length) return renderNotRun(action);
      return attempts.map((run) => renderActionRun(action, run));
    }),
    conditions.slice(1),
  );
}

// The rule results of one of a stage's conditions in this execution.
function renderConditionRuns(stage, kind, title, ruleRuns, conditionState) {
  const declared = (stage[kind] && stage[kind].conditions) || [];
  if (!declared.length) return null;
  const names = new Set(declared.flatMap((c) => (c.rules || []).map((r) => r.name)));
  const runs = ruleRuns.filter((r) => names.has(r.ruleName));
  const results = [...new Set(declared.map((c) => c.result).filter(Boolean))];
  let status = conditionState && conditionState.latestExecution && conditionState.latestExecution.status;
  if (!status && runs.length) {
    const statuses = runs.map((r) => r.status);
    status = ["InProgress", "Failed", "Abandoned"].find((s) => statuses.includes(s)) || "Succeeded";
  }
  return h(
    "div",
    { class: "condition", "data-condition": kind },
    h(
      "div",
      { class: "condition-title" },
      h("span", {}, title),
      results.length ? h("span", { class: "muted" }, `result ${results.join(", ")}`) : null,
      statusBadge(status, "condition-status"),
    ),
    runs.length
      ? runs.map((run) => renderRuleRun(run))
      : h("div", { class: "muted" }, "Not evaluated in this execution"),
  );
}

function renderRuleRun(run) {
  const input = run.input || {};
  const result = (run.output && run.output.executionResult) || {};
  const error = result.errorDetails;
  return h(
    "div",
    { class: "rule", "data-rule": run.ruleName },
    h(
      "div",
      { class: "rule-head" },
      h("span", { class: "name" }, run.ruleName),
      h("span", { class: "muted" }, input.ruleTypeId ? input.ruleTypeId.provider : ""),
      statusBadge(run.status, "rule-status"),
      h("span", { class: "spacer" }),
      h("span", { class: "muted" }, duration(run.startTime, run.lastUpdateTime)),
    ),
    result.externalExecutionSummary && !(error && error.message === result.externalExecutionSummary)
      ? h("div", { class: "summary" }, result.externalExecutionSummary)
      : null,
    error ? h("div", { class: "action-error" }, `${error.code || "Error"}: ${error.message || ""}`) : null,
    keyValues(input.resolvedConfiguration || input.configuration, "configuration"),
  );
}

function renderNotRun(action) {
  const type = action.actionTypeId;
  return h(
    "div",
    { class: "tl-action s-none", "data-action": action.name },
    h(
      "div",
      { class: "tl-head" },
      h("span", { class: "name" }, action.name),
      h("span", { class: "muted" }, type.provider),
      statusBadge("", "action-status"),
    ),
  );
}

function artifactList(artifacts) {
  if (!artifacts || !artifacts.length) return null;
  return h(
    "ul",
    { class: "artifacts" },
    artifacts.map((a) =>
      h(
        "li",
        { "data-artifact": a.name },
        h("span", { class: "artifact-name" }, a.name),
        a.s3location ? h("code", {}, ` s3://${a.s3location.bucket}/${a.s3location.key}`) : null,
      ),
    ),
  );
}

function section(title, content) {
  if (!content) return null;
  return h("div", { class: "section" }, h("div", { class: "section-title" }, title), content);
}

function renderActionRun(action, run) {
  const input = run.input || {};
  const output = run.output || {};
  const result = output.executionResult || {};
  const error = result.errorDetails;
  const type = input.actionTypeId || action.actionTypeId;
  const finished = run.status !== "InProgress";
  const url = result.externalExecutionUrl;
  const local = url && url.startsWith("file://");
  return h(
    "div",
    {
      class: `tl-action s-${run.status}`,
      "data-action": action.name,
      "data-action-execution": run.actionExecutionId,
    },
    h(
      "div",
      { class: "tl-head" },
      h("span", { class: "name" }, action.name),
      h("span", { class: "muted" }, `${type.provider} · ${type.category}`),
      statusBadge(run.status, "action-status"),
      h("span", { class: "spacer" }),
      h(
        "span",
        { class: "times muted" },
        `Started ${when(run.startTime)}`,
        finished ? ` · Ended ${when(run.lastUpdateTime)}` : " · running",
      ),
      finished ? h("span", { class: "duration" }, duration(run.startTime, run.lastUpdateTime)) : null,
    ),
    error ? h("div", { class: "action-error" }, `${error.code || "Error"}: ${error.message || ""}`) : null,
    h(
      "div",
      { class: "tl-body" },
      section("Configuration", keyValues(input.resolvedConfiguration || input.configuration, "configuration")),
      section("Input artifacts", artifactList(input.inputArtifacts)),
      section("Output artifacts", artifactList(output.outputArtifacts)),
      section("Output variables", keyValues(output.outputVariables, "output-variables")),
      section(
        "Execution",
        keyValues(
          [
            ["Namespace", input.namespace],
            ["External id", result.externalExecutionId ? h("code", {}, result.externalExecutionId) : null],
            ["Link", url && !local ? h("a", { href: url, target: "_blank", rel: "noreferrer" }, url) : null],
            ["Summary", result.externalExecutionSummary && !local ? result.externalExecutionSummary : null],
            ["Updated by", run.updatedBy],
          ],
          "execution-details",
        ),
      ),
    ),
    local ? renderLog(run) : null,
  );
}

// ---- local executor logs ----

// Per action execution id: the text read so far, the offset to read from, and whether the
// whole log is in (the action finished and nothing more came).
const logs = new Map();

function renderLog(run) {
  const id = run.actionExecutionId;
  if (!logs.has(id)) logs.set(id, { text: "", offset: 0, done: false, missing: false, busy: false });
  const entry = logs.get(id);
  return h(
    "div",
    { class: "section log-section" },
    h("div", { class: "section-title" }, "Log", h("span", { class: "muted log-state" }, entry.done ? "" : " (following)")),
    h("pre", { class: "log", "data-log": id }, entry.missing ? "No log available." : entry.text),
  );
}

async function readLog(id, entry) {
  entry.busy = true;
  try {
    const response = await adminGet(`/logs/${encodeURIComponent(id)}?offset=${entry.offset}`);
    if (response.status === 404) {
      entry.done = entry.missing = true;
      return;
    }
    if (!response.ok) return;
    const chunk = await response.json();
    const grew = chunk.offset !== entry.offset;
    entry.text += chunk.text;
    entry.offset = chunk.offset;
    // A finished action's log is complete once a read brings nothing new.
    if (chunk.status !== "InProgress" && !grew) entry.done = true;
    const pre = document.querySelector(`pre[data-log="${CSS.escape(id)}"]`);
    if (pre) {
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      if (grew) pre.textContent = entry.text;
      if (entry.missing) pre.textContent = "No log available.";
      if (atEnd) pre.scrollTop = pre.scrollHeight;
      const label = pre.parentElement.querySelector(".log-state");
      if (label && entry.done) label.textContent = "";
    }
  } catch {
    // The server may be restarting: try again on the next tick.
  } finally {
    entry.busy = false;
  }
}

// Reads the shown logs that are not complete; false when there are none.
function readShownLogs() {
  const shown = [...document.querySelectorAll("#execution:not([hidden]) pre[data-log]")].map(
    (pre) => pre.dataset.log,
  );
  const pending = shown.filter((id) => logs.has(id) && !logs.get(id).done);
  for (const id of pending) {
    const entry = logs.get(id);
    if (!entry.busy) readLog(id, entry);
  }
  return pending.length > 0;
}

let logTimer = null;
// Follows the shown logs every half second until all are complete.
function followLogs() {
  if (logTimer || !readShownLogs()) return;
  logTimer = setInterval(() => {
    if (!readShownLogs()) {
      clearInterval(logTimer);
      logTimer = null;
    }
  }, 500);
}
