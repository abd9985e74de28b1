//! Quotas (LimitExceededException): stages per pipeline and actions per stage.

use super::*;

#[tokio::test]
async fn more_stages_than_the_limit() {
    let t = start_with(Config {
        max_stages: 3,
        ..test_config()
    })
    .await;
    let with_stages = |count: usize| {
        let mut builder = pipeline("long").stages(source_stage());
        for i in 1..count {
            builder = builder.stages(stage(
                &format!("Build{i}"),
                vec![codebuild("Build", "SourceOutput", &[])],
            ));
        }
        builder.build().unwrap()
    };
    rejected(&t, with_stages(4), "LimitExceededException", "4").await;
    create_ok(&t, with_stages(3)).await;
}

#[tokio::test]
async fn more_actions_in_a_stage_than_the_limit() {
    let t = start_with(Config {
        max_actions_per_stage: 2,
        ..test_config()
    })
    .await;
    let with_actions = |count: usize| {
        let actions = (0..count)
            .map(|i| codebuild(&format!("Build{i}"), "SourceOutput", &[]))
            .collect();
        pipeline("wide")
            .stages(source_stage())
            .stages(stage("Build", actions))
            .build()
            .unwrap()
    };
    rejected(&t, with_actions(3), "LimitExceededException", "3").await;
    create_ok(&t, with_actions(2)).await;
}
