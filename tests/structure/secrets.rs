//! Secret configuration is masked when a pipeline is read back.

use super::*;

#[tokio::test]
async fn secret_configuration_is_masked_when_read_back() {
    let t = start().await;
    let github = action(
        "Source",
        type_id(ActionCategory::Source, ActionOwner::ThirdParty, "GitHub"),
        &[],
        &["SourceOutput"],
    )
    .configuration("Owner", "octocat")
    .configuration("Repo", "hello-world")
    .configuration("Branch", "main")
    .configuration("OAuthToken", "ghp_supersecret")
    .build()
    .unwrap();
    let declaration = pipeline("github")
        .stages(stage("Source", vec![github]))
        .stages(build_stage())
        .build()
        .unwrap();
    let created = t
        .client
        .create_pipeline()
        .pipeline(declaration.clone())
        .send()
        .await
        .expect("create");
    let configuration =
        |p: &PipelineDeclaration| p.stages()[0].actions()[0].configuration().unwrap().clone();
    let shown = configuration(created.pipeline().unwrap());
    assert_eq!(shown["OAuthToken"], "****");
    assert_eq!(shown["Owner"], "octocat");

    let got = t
        .client
        .get_pipeline()
        .name("github")
        .send()
        .await
        .expect("get");
    let shown = configuration(got.pipeline().unwrap());
    assert_eq!(shown["OAuthToken"], "****");
    assert_eq!(shown["Repo"], "hello-world");
    assert_eq!(shown["Branch"], "main");

    let updated = t
        .client
        .update_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .expect("update");
    assert_eq!(
        configuration(updated.pipeline().unwrap())["OAuthToken"],
        "****"
    );
}
