//! Waiting for CloudFormation: a stack operation or a change set is polled with a growing
//! delay until it settles (the action's timeout, enforced by `running`, bounds the wait), and
//! a failed stack is described as AWS describes it: its status reason and the first resource
//! that failed (`DescribeStackEvents`).

use super::client::CfnError;
use aws_sdk_cloudformation::types::StackEvent;
use aws_sdk_cloudformation::Client;
use std::collections::BTreeMap;
use std::time::Duration;

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// A stack as the action needs it.
#[derive(Debug, Clone)]
pub struct StackView {
    pub id: String,
    pub name: String,
    pub status: String,
    pub reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
}

/// The states REPLACE_ON_FAILURE replaces the stack in (AWS's list).
pub fn failed_state(status: &str) -> bool {
    matches!(
        status,
        "ROLLBACK_COMPLETE"
            | "ROLLBACK_FAILED"
            | "CREATE_FAILED"
            | "DELETE_FAILED"
            | "UPDATE_ROLLBACK_FAILED"
    )
}

/// Whether a settled stack operation succeeded.
pub fn succeeded(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" | "DELETE_COMPLETE"
    )
}

/// Whether a stack is still being worked on (`REVIEW_IN_PROGRESS`, a stack that only has a
/// change set, is at rest).
fn in_progress(status: &str) -> bool {
    status.ends_with("_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS"
}

/// The stack named (or with the id) `stack`; `None` when it does not exist.
pub async fn describe(client: &Client, stack: &str) -> Result<Option<StackView>, CfnError> {
    let out = match client.describe_stacks().stack_name(stack).send().await {
        Ok(out) => out,
        Err(e) => {
            let e = CfnError::from_sdk(e);
            return if e.no_stack() { Ok(None) } else { Err(e) };
        }
    };
    Ok(out.stacks().first().map(|s| StackView {
        id: s.stack_id().unwrap_or(stack).to_string(),
        name: s.stack_name().unwrap_or(stack).to_string(),
        status: s
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        reason: s.stack_status_reason().map(str::to_string),
        outputs: s
            .outputs()
            .iter()
            .filter_map(|o| {
                Some((
                    o.output_key()?.to_string(),
                    o.output_value().unwrap_or_default().to_string(),
                ))
            })
            .collect(),
    }))
}

/// Polls the stack until no operation is in progress; `None` when it is gone (deleted).
pub async fn settled(client: &Client, stack: &str) -> Result<Option<StackView>, CfnError> {
    let mut delay = FIRST_DELAY;
    loop {
        match describe(client, stack).await? {
            Some(view) if in_progress(&view.status) => {}
            other => return Ok(other),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(MAX_DELAY);
    }
}

/// A change set once CloudFormation has finished computing it.
#[derive(Debug, Clone)]
pub struct ChangeSetView {
    pub status: String,
    pub execution_status: String,
    pub reason: Option<String>,
}

impl ChangeSetView {
    /// A change set that failed only because nothing changes (AWS: the action succeeds).
    pub fn has_no_changes(&self) -> bool {
        self.status == "FAILED"
            && self.reason.as_deref().is_some_and(|r| {
                r.contains("didn't contain changes") || r.contains("No updates are to be performed")
            })
    }
}

/// Polls a change set until it is no longer being created.
pub async fn change_set(
    client: &Client,
    stack: &str,
    name: &str,
) -> Result<ChangeSetView, CfnError> {
    let mut delay = FIRST_DELAY;
    loop {
        let out = client
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(name)
            .send()
            .await
            .map_err(CfnError::from_sdk)?;
        let view = ChangeSetView {
            status: out
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            execution_status: out
                .execution_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason: out.status_reason().map(str::to_string),
        };
        if !matches!(
            view.status.as_str(),
            "CREATE_PENDING" | "CREATE_IN_PROGRESS"
        ) {
            return Ok(view);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(MAX_DELAY);
    }
}

/// Why a settled stack operation failed: the stack's status and status reason, and the first
/// resource that failed with its reason (when the stack's events tell).
pub async fn failure_message(client: &Client, stack: &StackView) -> String {
    let events = client
        .describe_stack_events()
        .stack_name(&stack.id)
        .send()
        .await
        .map(|out| out.stack_events().to_vec())
        .unwrap_or_default();
    describe_failure(stack, &events)
}

/// `Stack NAME is in STATUS state: REASON. The following resource failed: ID (TYPE): REASON`.
fn describe_failure(stack: &StackView, events: &[StackEvent]) -> String {
    let mut message = format!("Stack {} is in {} state", stack.name, stack.status);
    if let Some(reason) = stack.reason.as_deref().filter(|r| !r.is_empty()) {
        message.push_str(&format!(": {reason}"));
    }
    if let Some(resource) = first_failed_resource(events) {
        message.push_str(if message.ends_with('.') { " " } else { ". " });
        message.push_str(&resource);
    }
    message
}

/// `LOGICAL_ID (TYPE): REASON` of the oldest failed resource event (events come newest first;
/// the stack's own events are not resources).
fn first_failed_resource(events: &[StackEvent]) -> Option<String> {
    events.iter().rev().find_map(|event| {
        let status = event.resource_status()?.as_str();
        let reason = event.resource_status_reason()?;
        let logical = event.logical_resource_id()?;
        let is_stack = event.resource_type() == Some("AWS::CloudFormation::Stack")
            && event.stack_name() == Some(logical);
        (status.ends_with("_FAILED") && !is_stack).then(|| {
            format!(
                "The following resource failed: {logical} ({}): {reason}",
                event.resource_type().unwrap_or("unknown type")
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::ResourceStatus;

    #[test]
    fn states() {
        assert!(failed_state("ROLLBACK_COMPLETE"));
        assert!(!failed_state("UPDATE_ROLLBACK_COMPLETE"));
        assert!(succeeded("UPDATE_COMPLETE"));
        assert!(!succeeded("UPDATE_ROLLBACK_COMPLETE"));
        assert!(in_progress("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"));
        assert!(!in_progress("REVIEW_IN_PROGRESS"));
    }

    fn event(logical: &str, kind: &str, status: &str, reason: &str) -> StackEvent {
        StackEvent::builder()
            .stack_name("app")
            .logical_resource_id(logical)
            .resource_type(kind)
            .resource_status(ResourceStatus::from(status))
            .resource_status_reason(reason)
            .build()
    }

    #[test]
    fn a_failure_names_the_status_reason_and_the_first_failed_resource() {
        let stack = StackView {
            id: "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1".into(),
            name: "app".into(),
            status: "ROLLBACK_COMPLETE".into(),
            reason: Some("The following resource(s) failed to create: [Queue, Bucket]. Rollback requested by user.".into()),
            outputs: BTreeMap::new(),
        };
        // Newest first, as DescribeStackEvents answers.
        let events = [
            event("app", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", ""),
            event(
                "app",
                "AWS::CloudFormation::Stack",
                "CREATE_FAILED",
                "stack failed",
            ),
            event(
                "Queue",
                "AWS::SQS::Queue",
                "CREATE_FAILED",
                "Resource creation cancelled",
            ),
            event(
                "Bucket",
                "AWS::S3::Bucket",
                "CREATE_FAILED",
                "bucket-x already exists",
            ),
            event("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS", ""),
        ];
        assert_eq!(
            describe_failure(&stack, &events),
            "Stack app is in ROLLBACK_COMPLETE state: The following resource(s) failed to create: [Queue, Bucket]. Rollback requested by user. The following resource failed: Bucket (AWS::S3::Bucket): bucket-x already exists"
        );
        assert_eq!(
            describe_failure(
                &StackView {
                    reason: None,
                    ..stack
                },
                &[]
            ),
            "Stack app is in ROLLBACK_COMPLETE state"
        );
    }
}
