//! Execution history: listing pipeline and action executions, and its cap.

use super::*;

#[tokio::test]
async fn list_pipeline_executions_is_newest_first_paginated_and_filterable() {
    let mut config = manual_config();
    let mut fail = rule("CodeBuild", Behavior::Fail);
    fail.pipeline = Some("hist".into());
    config.actions.push(fail);
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("hist"))
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = start_execution(c, "hist").await;
        wait_finished(c, "hist", &id).await;
        ids.push(id);
    }
    let page1 = c
        .list_pipeline_executions()
        .pipeline_name("hist")
        .max_results(2)
        .send()
        .await
        .unwrap();
    let page2 = c
        .list_pipeline_executions()
        .pipeline_name("hist")
        .max_results(2)
        .next_token(page1.next_token().unwrap())
        .send()
        .await
        .unwrap();
    let page3 = c
        .list_pipeline_executions()
        .pipeline_name("hist")
        .max_results(2)
        .next_token(page2.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert!(page3.next_token().is_none());
    let listed: Vec<String> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| p.pipeline_execution_summaries().iter())
        .map(|s| s.pipeline_execution_id().unwrap().to_string())
        .collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);

    // Every execution failed in Build, so none succeeded in it; all succeeded in Source.
    let filtered = |stage: &str| {
        c.list_pipeline_executions()
            .pipeline_name("hist")
            .filter(
                PipelineExecutionFilter::builder()
                    .succeeded_in_stage(SucceededInStageFilter::builder().stage_name(stage).build())
                    .build(),
            )
            .send()
    };
    assert!(filtered("Build")
        .await
        .unwrap()
        .pipeline_execution_summaries()
        .is_empty());
    assert_eq!(
        filtered("Source")
            .await
            .unwrap()
            .pipeline_execution_summaries()
            .len(),
        5
    );

    let err = c
        .list_pipeline_executions()
        .pipeline_name("hist")
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidNextTokenException"));
    let err = c
        .get_pipeline_execution()
        .pipeline_name("hist")
        .pipeline_execution_id("00000000-0000-0000-0000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PipelineExecutionNotFoundException"));
}

#[tokio::test]
async fn executions_history_is_capped() {
    let mut config = manual_config();
    config.max_executions_per_pipeline = 3;
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("capped"))
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = start_execution(c, "capped").await;
        wait_finished(c, "capped", &id).await;
        ids.push(id);
    }
    let list = c
        .list_pipeline_executions()
        .pipeline_name("capped")
        .send()
        .await
        .unwrap();
    let listed: Vec<_> = list
        .pipeline_execution_summaries()
        .iter()
        .map(|s| s.pipeline_execution_id().unwrap())
        .collect();
    assert_eq!(listed, [ids[4].as_str(), ids[3].as_str(), ids[2].as_str()]);
    let err = c
        .get_pipeline_execution()
        .pipeline_name("capped")
        .pipeline_execution_id(&ids[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PipelineExecutionNotFoundException"));
}

#[tokio::test]
async fn list_action_executions_filters_by_execution_and_checks_it_exists() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("acts"))
        .send()
        .await
        .unwrap();
    let first = start_execution(c, "acts").await;
    wait_finished(c, "acts", &first).await;
    let second = start_execution(c, "acts").await;
    wait_finished(c, "acts", &second).await;
    let all = c
        .list_action_executions()
        .pipeline_name("acts")
        .send()
        .await
        .unwrap();
    assert_eq!(all.action_execution_details().len(), 4);
    let only = action_executions(c, "acts", &first).await;
    assert_eq!(only.len(), 2);
    assert!(only
        .iter()
        .all(|a| a.pipeline_execution_id() == Some(first.as_str())));
    let page = c
        .list_action_executions()
        .pipeline_name("acts")
        .max_results(3)
        .send()
        .await
        .unwrap();
    assert_eq!(page.action_execution_details().len(), 3);
    let rest = c
        .list_action_executions()
        .pipeline_name("acts")
        .max_results(3)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.action_execution_details().len(), 1);
    let err = c
        .list_action_executions()
        .pipeline_name("acts")
        .filter(
            ActionExecutionFilter::builder()
                .pipeline_execution_id("00000000-0000-0000-0000-000000000000")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PipelineExecutionNotFoundException"));
}
