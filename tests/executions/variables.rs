//! Variables: namespaces, pipeline variables and the execution id, and what cannot resolve.

use super::*;

#[tokio::test]
async fn variables_resolve_from_namespaces_pipeline_variables_and_the_execution_id() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let source = action(
        "Source",
        type_id(ActionCategory::Source, ActionOwner::Aws, "CodeCommit"),
        &[],
        &["Src"],
    )
    .configuration("RepositoryName", "repo")
    .configuration("BranchName", "main")
    .namespace("SourceVariables")
    .build()
    .unwrap();
    let build = action("Build", type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"), &["Src"], &[])
        .configuration("ProjectName", "p-#{variables.Env}")
        .configuration(
            "EnvironmentVariables",
            "#{SourceVariables.CommitId}/#{SourceVariables.BranchName}/#{codepipeline.PipelineExecutionId}",
        )
        .build()
        .unwrap();
    let declaration = pipeline("vars")
        .pipeline_type(PipelineType::V2)
        .variables(
            PipelineVariableDeclaration::builder()
                .name("Env")
                .default_value("dev")
                .build()
                .unwrap(),
        )
        .stages(stage("Source", vec![source]))
        .stages(stage("Build", vec![build]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = c
        .start_pipeline_execution()
        .name("vars")
        .variables(
            PipelineVariable::builder()
                .name("Env")
                .value("prod")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .pipeline_execution_id
        .unwrap();
    let execution = wait_status(c, "vars", &id, PipelineExecutionStatus::Succeeded).await;
    let variables = execution.variables();
    assert_eq!(variables[0].name(), Some("Env"));
    assert_eq!(variables[0].resolved_value(), Some("prod"));

    let actions = action_executions(c, "vars", &id).await;
    let source = actions
        .iter()
        .find(|a| a.action_name() == Some("Source"))
        .unwrap();
    let commit = source.output().unwrap().output_variables().unwrap()["CommitId"].clone();
    assert_eq!(commit.len(), 40);
    let build = actions
        .iter()
        .find(|a| a.action_name() == Some("Build"))
        .unwrap();
    let resolved = build.input().unwrap().resolved_configuration().unwrap();
    assert_eq!(resolved["ProjectName"], "p-prod");
    assert_eq!(
        resolved["EnvironmentVariables"],
        format!("{commit}/main/{id}")
    );
    // The unresolved configuration is kept as declared.
    assert_eq!(
        build.input().unwrap().configuration().unwrap()["ProjectName"],
        "p-#{variables.Env}"
    );
}

#[tokio::test]
async fn an_unresolvable_variable_fails_the_action_with_a_clear_message() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let build = action(
        "Build",
        type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
        &["Src"],
        &[],
    )
    .configuration("ProjectName", "#{Missing.Thing}")
    .build()
    .unwrap();
    let declaration = pipeline("unresolved")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Build", vec![build]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "unresolved").await;
    wait_status(c, "unresolved", &id, PipelineExecutionStatus::Failed).await;
    let build = stage_state(c, "unresolved", "Build").await;
    let latest = build.action_states()[0].latest_execution().unwrap();
    assert_eq!(
        latest.error_details().unwrap().message(),
        Some("Unable to resolve variable '#{Missing.Thing}'")
    );
}

#[tokio::test]
async fn pipeline_variables_need_a_value_and_a_declaration() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let declaration = pipeline("strict")
        .pipeline_type(PipelineType::V2)
        .variables(
            PipelineVariableDeclaration::builder()
                .name("Required")
                .build()
                .unwrap(),
        )
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Build", vec![codebuild("Build", "Src", &[])]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let err = c
        .start_pipeline_execution()
        .name("strict")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = c
        .start_pipeline_execution()
        .name("strict")
        .variables(
            PipelineVariable::builder()
                .name("Undeclared")
                .value("x")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = c
        .start_pipeline_execution()
        .name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PipelineNotFoundException"));
}
