// The pipeline view (#/pipelines/NAME): stages as columns of actions with their latest status,
// stage conditions, declared variables, and the execution history. Uses app.js's helpers.
"use strict";

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
  renderDeclaredVariables(declaration.variables || []);
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
          h("a", { href: executionHref(pipeline, latest.pipelineExecutionId) }, h("code", {}, latest.pipelineExecutionId)),
        )
      : null,
    waiting.length
      ? h("div", { class: "stage-execution muted" }, `Waiting to enter: ${waiting.join(", ")}`)
      : null,
    renderConditionState("Entry conditions", state.beforeEntryConditionState, "beforeEntry"),
    orders.map((order) =>
      h(
        "div",
        { class: "group", "data-run-order": order },
        groups.get(order).map((action) => renderAction(pipeline, stage.name, action, actionStates.get(action.name))),
      ),
    ),
    renderConditionState("Success conditions", state.onSuccessConditionState, "onSuccess"),
    renderConditionState("Failure conditions", state.onFailureConditionState, "onFailure"),
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
      h("td", {}, h("a", { href: executionHref(pipeline, e.pipelineExecutionId) }, h("code", {}, e.pipelineExecutionId))),
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

// A stage's condition state (GetPipelineState): the condition's status and each rule's result.
function renderConditionState(title, conditionState, kind) {
  if (!conditionState) return null;
  const latest = conditionState.latestExecution || {};
  const rules = (conditionState.conditionStates || []).flatMap((c) => c.ruleStates || []);
  return h(
    "div",
    { class: "condition", "data-condition": kind },
    h("div", { class: "condition-title" }, h("span", {}, title), statusBadge(latest.status, "condition-status")),
    latest.summary ? h("div", { class: "summary" }, latest.summary) : null,
    rules.map((rule) => {
      const run = rule.latestExecution || {};
      return h(
        "div",
        { class: "rule", "data-rule": rule.ruleName },
        h("span", { class: "name" }, rule.ruleName),
        statusBadge(run.status, "rule-status"),
        run.summary ? h("div", { class: "summary" }, run.summary) : null,
      );
    }),
  );
}

// A V2 pipeline's declared variables.
function renderDeclaredVariables(variables) {
  $("variables-panel").hidden = variables.length === 0;
  $("variables")
    .querySelector("tbody")
    .replaceChildren(
      ...variables.map((v) =>
        h(
          "tr",
          { "data-variable": v.name },
          h("td", {}, h("code", {}, v.name)),
          h("td", {}, v.defaultValue === undefined ? h("span", { class: "muted" }, "none") : h("code", {}, v.defaultValue)),
          h("td", {}, v.description || ""),
        ),
      ),
    );
}
