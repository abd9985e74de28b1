//! Issue 12: what a pipeline definition reads, simulated actions produce; outputs look like
//! real AWS's (the aws CLI's documented examples). All through the AWS SDK for Rust.

mod common;

use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use codepipeline_local::engine::behavior::ActionRule;
use common::engine::*;
use common::*;
use std::collections::BTreeMap;

fn aws_type(category: ActionCategory, provider: &str) -> ActionTypeId {
    type_id(category, ActionOwner::Aws, provider)
}

async fn create(c: &Client, declaration: PipelineDeclaration) {
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
}

/// Creates the pipeline, starts an execution and waits until it finishes.
async fn run(c: &Client, declaration: PipelineDeclaration) -> (String, PipelineExecution) {
    let name = declaration.name().to_string();
    create(c, declaration).await;
    let id = start_execution(c, &name).await;
    let done = wait_finished(c, &name, &id).await;
    (id, done)
}

async fn detail(c: &Client, pipeline: &str, id: &str, action: &str) -> ActionExecutionDetail {
    action_executions(c, pipeline, id)
        .await
        .into_iter()
        .find(|a| a.action_name() == Some(action))
        .unwrap_or_else(|| panic!("no execution of {action}"))
}

fn resolved(detail: &ActionExecutionDetail, key: &str) -> String {
    detail
        .input()
        .and_then(|i| i.resolved_configuration())
        .and_then(|c| c.get(key))
        .cloned()
        .unwrap_or_default()
}

fn outputs(detail: &ActionExecutionDetail) -> BTreeMap<String, String> {
    detail
        .output()
        .and_then(|o| o.output_variables())
        .map(|v| v.clone().into_iter().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn simulated_actions_export_the_variables_the_pipeline_reads() {
    let mut config = manual_config();
    // An [[actions]] rule's output_variables replace the placeholder.
    config.actions = vec![ActionRule {
        action: Some("Stack".into()),
        output_variables: BTreeMap::from([(
            "FunctionUrl".to_string(),
            "https://abc.lambda-url.us-east-1.on.aws/".to_string(),
        )]),
        ..ActionRule::default()
    }];
    let t = start_with(config).await;
    let c = &t.client;
    let build = action(
        "Build",
        aws_type(ActionCategory::Build, "CodeBuild"),
        &["Src"],
        &[],
    )
    .configuration("ProjectName", "app")
    .namespace("BuildVariables")
    .build()
    .unwrap();
    let stack = action(
        "Stack",
        aws_type(ActionCategory::Deploy, "CloudFormation"),
        &[],
        &[],
    )
    .configuration("ActionMode", "CHANGE_SET_EXECUTE")
    .configuration("StackName", "app")
    .configuration("ChangeSetName", "pipeline")
    .namespace("MyStack")
    .build()
    .unwrap();
    let commands = action(
        "Version",
        aws_type(ActionCategory::Compute, "Commands"),
        &["Src"],
        &[],
    )
    .commands("exit 1")
    .output_variables("VERSION")
    .namespace("Cmd")
    .build()
    .unwrap();
    let reader = action(
        "Smoke",
        aws_type(ActionCategory::Invoke, "Lambda"),
        &[],
        &[],
    )
    .configuration("FunctionName", "smoke")
    .configuration(
        "UserParameters",
        "#{MyStack.FunctionUrl}|#{MyStack.ApiId}|#{BuildVariables.ARTIFACT_VERSION}|#{Cmd.VERSION}",
    )
    .run_order(2)
    .build()
    .unwrap();
    let (id, done) = run(
        c,
        pipeline("reads")
            .pipeline_type(PipelineType::V2)
            .stages(stage("Source", vec![s3_source("Source", "Src")]))
            .stages(stage("Build", vec![build, commands]))
            .stages(stage("Deploy", vec![stack, reader]))
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Succeeded));
    let smoke = detail(c, "reads", &id, "Smoke").await;
    assert_eq!(
        resolved(&smoke, "UserParameters"),
        "https://abc.lambda-url.us-east-1.on.aws/|simulated-ApiId|simulated-ARTIFACT_VERSION|simulated-VERSION"
    );
    let build = detail(c, "reads", &id, "Build").await;
    assert_eq!(
        outputs(&build),
        BTreeMap::from([(
            "ARTIFACT_VERSION".to_string(),
            "simulated-ARTIFACT_VERSION".to_string()
        )])
    );
    // Commands is simulated (its command would fail): it sets its declared outputVariables.
    let version = detail(c, "reads", &id, "Version").await;
    assert_eq!(version.status(), Some(&ActionExecutionStatus::Succeeded));
    assert_eq!(outputs(&version)["VERSION"], "simulated-VERSION");
}

#[tokio::test]
async fn a_reference_to_a_namespace_no_action_declares_still_fails() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let build = action(
        "Build",
        aws_type(ActionCategory::Build, "CodeBuild"),
        &["Src"],
        &[],
    )
    .configuration("ProjectName", "#{Nowhere.Version}")
    .build()
    .unwrap();
    let (id, done) = run(
        c,
        pipeline("unresolved")
            .stages(stage("Source", vec![s3_source("Source", "Src")]))
            .stages(stage("Build", vec![build]))
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Failed));
    let build = detail(c, "unresolved", &id, "Build").await;
    let message = error_message(&build);
    assert_eq!(message, "Unable to resolve variable '#{Nowhere.Version}'");
}

fn invoke(
    name: &str,
    target: &str,
) -> aws_sdk_codepipeline::types::builders::ActionDeclarationBuilder {
    action(
        name,
        aws_type(ActionCategory::Invoke, "CodePipeline"),
        &[],
        &[],
    )
    .configuration("PipelineName", target)
}

#[tokio::test]
async fn the_codepipeline_invoke_action_starts_its_target() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let publish = action(
        "Publish",
        aws_type(ActionCategory::Build, "CodeBuild"),
        &["Src"],
        &[],
    )
    .configuration("ProjectName", "#{variables.Tag}")
    .build()
    .unwrap();
    create(
        c,
        pipeline("target")
            .pipeline_type(PipelineType::V2)
            .variables(
                PipelineVariableDeclaration::builder()
                    .name("Tag")
                    .default_value("none")
                    .build()
                    .unwrap(),
            )
            .stages(stage("Source", vec![s3_source("Source", "Src")]))
            .stages(stage("Publish", vec![publish]))
            .build()
            .unwrap(),
    )
    .await;
    let release = invoke("Release", "target")
        .configuration("Variables", r#"[{"name":"Tag","value":"v1.2.3"}]"#)
        .configuration(
            "SourceRevisions",
            r#"[{"actionName":"Source","revisionType":"S3_OBJECT_VERSION_ID","revisionValue":"version-7"}]"#,
        )
        .build()
        .unwrap();
    let missing = invoke("Missing", "no-such-pipeline")
        .run_order(2)
        .build()
        .unwrap();
    let (id, done) = run(
        c,
        pipeline("invoker")
            .pipeline_type(PipelineType::V2)
            .stages(stage("Source", vec![s3_source("Source", "Src")]))
            .stages(stage("Release", vec![release, missing]))
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Failed));

    let release = detail(c, "invoker", &id, "Release").await;
    assert_eq!(release.status(), Some(&ActionExecutionStatus::Succeeded));
    let started = external_execution_id(&release);
    let target = wait_finished(c, "target", &started).await;
    assert_eq!(target.status(), Some(&PipelineExecutionStatus::Succeeded));
    assert_eq!(target.variables()[0].resolved_value(), Some("v1.2.3"));
    assert_eq!(
        target.artifact_revisions()[0].revision_id(),
        Some("version-7")
    );
    let publish = detail(c, "target", &started, "Publish").await;
    assert_eq!(resolved(&publish, "ProjectName"), "v1.2.3");

    let missing = detail(c, "invoker", &id, "Missing").await;
    assert_eq!(missing.status(), Some(&ActionExecutionStatus::Failed));
    let message = error_message(&missing);
    assert_eq!(
        message,
        "Account '000000000000' does not have a pipeline with name 'no-such-pipeline'"
    );
}

#[tokio::test]
async fn identifiers_use_the_callers_account_and_region() {
    let t = start_with(manual_config()).await;
    let c = t.client_for("111111111111", "eu-west-1");
    let image = action(
        "Image",
        aws_type(ActionCategory::Source, "ECR"),
        &[],
        &["Img"],
    )
    .configuration("RepositoryName", "web")
    .configuration("ImageTag", "release")
    .namespace("ImageVars")
    .build()
    .unwrap();
    let machine = "arn:aws:states:eu-west-1:111111111111:stateMachine:Migrations";
    let migrate = action(
        "Migrate",
        aws_type(ActionCategory::Invoke, "StepFunctions"),
        &[],
        &[],
    )
    .configuration("StateMachineArn", machine)
    .configuration("ExecutionNamePrefix", "deploy")
    .build()
    .unwrap();
    let (id, done) = run(
        &c,
        pipeline("ids")
            .stages(stage("Source", vec![image]))
            .stages(stage("Migrate", vec![migrate]))
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Succeeded));
    let image = outputs(&detail(&c, "ids", &id, "Image").await);
    assert_eq!(image["RegistryId"], "111111111111");
    assert_eq!(
        image["ImageURI"],
        "111111111111.dkr.ecr.eu-west-1.amazonaws.com/web:release"
    );
    let migrate = detail(&c, "ids", &id, "Migrate").await;
    let vars = outputs(&migrate);
    assert_eq!(vars["StateMachineArn"], machine);
    assert_eq!(
        vars["ExecutionArn"],
        format!(
            "arn:aws:states:eu-west-1:111111111111:execution:Migrations:deploy-{}",
            migrate.action_execution_id().unwrap()
        )
    );
}

#[tokio::test]
async fn states_and_action_executions_look_like_the_cli_examples() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_custom_action_type()
        .category(ActionCategory::Test)
        .provider("Jenkins")
        .version("1")
        .configuration_properties(
            ActionConfigurationProperty::builder()
                .name("ProjectName")
                .required(true)
                .key(true)
                .secret(false)
                .build()
                .unwrap(),
        )
        .settings(
            ActionTypeSettings::builder()
                .entity_url_template("https://jenkins.example.com/job/{Config:ProjectName}/")
                .build(),
        )
        .input_artifact_details(common::artifacts(1, 1))
        .output_artifact_details(common::artifacts(0, 0))
        .send()
        .await
        .unwrap();
    let commit = action(
        "Code",
        aws_type(ActionCategory::Source, "CodeCommit"),
        &[],
        &["Code"],
    )
    .configuration("RepositoryName", "my-repo")
    .configuration("BranchName", "main")
    .build()
    .unwrap();
    let jenkins_id = type_id(ActionCategory::Test, ActionOwner::Custom, "Jenkins");
    let jenkins = action("Jenkins", jenkins_id.clone(), &["Src"], &[])
        .configuration("ProjectName", "app-tests")
        .build()
        .unwrap();
    create(
        c,
        pipeline("cli-shapes")
            .stages(stage("Source", vec![s3_source("Source", "Src"), commit]))
            .stages(stage("Beta", vec![codedeploy("Fleet", "Src")]))
            .stages(stage("Test", vec![jenkins]))
            .build()
            .unwrap(),
    )
    .await;
    let id = start_execution(c, "cli-shapes").await;
    let job = wait_for("the Jenkins job", || async {
        c.poll_for_jobs()
            .action_type_id(jenkins_id.clone())
            .send()
            .await
            .unwrap()
            .jobs
            .and_then(|mut j| j.pop())
    })
    .await;
    // AWS documents "a system-generated random number" and shows "3".
    let nonce: u32 = job.nonce().unwrap().parse().expect("a numeric nonce");
    assert!(nonce < 1000, "{nonce}");

    let state = c
        .get_pipeline_state()
        .name("cli-shapes")
        .send()
        .await
        .unwrap();
    let action_state = |name: &str| {
        state
            .stage_states()
            .iter()
            .flat_map(|s| s.action_states())
            .find(|a| a.action_name() == Some(name))
            .unwrap()
            .clone()
    };
    assert_eq!(
        action_state("Source").entity_url(),
        Some("https://console.aws.amazon.com/s3/home?#")
    );
    let fleet = action_state("Fleet");
    assert_eq!(
        fleet.entity_url(),
        Some("https://console.aws.amazon.com/codedeploy/home?#/applications/app/deployment-groups/group")
    );
    assert_eq!(
        fleet.latest_execution().and_then(|e| e.summary()),
        Some("Deployment Succeeded")
    );
    assert_eq!(
        action_state("Jenkins").entity_url(),
        Some("https://jenkins.example.com/job/app-tests/")
    );

    let code = detail(c, "cli-shapes", &id, "Code").await;
    let result = code.output().and_then(|o| o.execution_result()).unwrap();
    assert_eq!(
        result.external_execution_id(),
        Some(outputs(&code)["CommitId"].as_str())
    );
    assert!(result.external_execution_url().unwrap().contains("my-repo"));
    let fleet = detail(c, "cli-shapes", &id, "Fleet").await;
    let output = fleet.output().unwrap();
    assert_eq!(
        output
            .execution_result()
            .and_then(|r| r.external_execution_summary()),
        Some("Deployment Succeeded")
    );
    // AWS prints `"outputVariables": {}` for an action without variables.
    assert_eq!(output.output_variables().map(|v| v.len()), Some(0));
}

#[tokio::test]
async fn third_party_jobs_carry_no_pipeline_arn_or_execution_id() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let scanner = type_id(ActionCategory::Test, ActionOwner::ThirdParty, "Scanner");
    let scan = action("Scan", scanner.clone(), &["Src"], &[])
        .configuration("Target", "app")
        .build()
        .unwrap();
    create(
        c,
        pipeline("partner")
            .stages(stage("Source", vec![s3_source("Source", "Src")]))
            .stages(stage("Test", vec![scan]))
            .build()
            .unwrap(),
    )
    .await;
    start_execution(c, "partner").await;
    let job = wait_for("a third-party job", || async {
        c.poll_for_third_party_jobs()
            .action_type_id(scanner.clone())
            .send()
            .await
            .unwrap()
            .jobs
            .and_then(|mut j| j.pop())
    })
    .await;
    let details = c
        .get_third_party_job_details()
        .job_id(job.job_id().unwrap())
        .client_token(job.client_id().unwrap())
        .send()
        .await
        .unwrap();
    let details = details.job_details().unwrap();
    let context = details.data().and_then(|d| d.pipeline_context()).unwrap();
    assert_eq!(context.pipeline_name(), Some("partner"));
    assert_eq!(context.pipeline_arn(), None);
    assert_eq!(context.pipeline_execution_id(), None);
    let nonce: u32 = details.nonce().unwrap().parse().expect("a numeric nonce");
    assert!(nonce < 1000);
}

#[tokio::test]
async fn an_action_without_configuration_is_returned_as_declared() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    create(
        c,
        pipeline("bare")
            .stages(stage("Source", vec![s3_source("Source", "Src")]))
            .stages(stage("Approve", vec![manual_approval("Approve")]))
            .build()
            .unwrap(),
    )
    .await;
    let got = c.get_pipeline().name("bare").send().await.unwrap();
    let approve = &got.pipeline().unwrap().stages()[1].actions()[0];
    assert_eq!(approve.configuration(), None);
    let id = start_execution(c, "bare").await;
    wait_approval_token(c, "bare", "Approve", "Approve").await;
    let input = detail(c, "bare", &id, "Approve").await.input.unwrap();
    assert_eq!(input.configuration().map(|m| m.len()), Some(0));
    assert_eq!(input.resolved_configuration().map(|m| m.len()), Some(0));
}
