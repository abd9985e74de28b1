//! What loaded stacks leave for the simulation: their outputs and CodeBuild projects, read by the
//! simulated actions.

use super::*;

#[tokio::test]
async fn loaded_outputs_and_codebuild_projects_are_kept_for_the_simulation() {
    let config = codepipeline_local::Config {
        auto_start: false,
        load: vec![fixture("templates/shared.yaml"), fixture("cdk/classic.out")],
        ..test_config()
    };
    let server = start_with(config).await;
    let app = &server.server.app;
    let scope = Scope {
        account: "000000000000".into(),
        region: "us-east-1".into(),
    };
    let outputs = app
        .stacks
        .outputs(&scope, "shared")
        .expect("the shared stack's outputs");
    assert!(outputs["ArtifactBucketName"].starts_with("shared-artifactbucket-"));
    assert_eq!(outputs["UnitTestsProject"], "payments-unit-tests");
    let project = app
        .stacks
        .codebuild_project(&scope, "payments-unit-tests")
        .expect("the project");
    assert_eq!(project.env.exported_variables, ["TEST_REPORT", "COVERAGE"]);
    assert_eq!(project.env.variables["TEAM"], "payments");
    assert_eq!(project.env.variables["CI"], "true");
    assert_eq!(
        project.phases.build,
        ["export TEST_REPORT=report.xml", "export COVERAGE=87"]
    );
    // Loaded at startup: also a [[codebuild_projects]] entry for the local executor.
    assert!(app
        .config
        .codebuild_projects
        .iter()
        .any(|p| p.name == "payments-unit-tests"));
    // The CDK classic stack: its generated project name is an output.
    let classic = app
        .stacks
        .outputs(&scope, "ClassicPipeline")
        .expect("the CDK stack's outputs");
    let cdk_project = app
        .stacks
        .codebuild_project(&scope, &classic["ProjectName"])
        .expect("the CDK project");
    assert_eq!(cdk_project.env.exported_variables, ["IMAGE_TAG", "COMMIT"]);
    assert_eq!(
        app.stacks.exports()[&("000000000000".to_string(), "us-east-1".to_string())]
            ["ClassicPipelineName"],
        classic["PipelineName"]
    );
}

/// A pipeline of a loaded stack deploys that stack and builds with its project: the simulated
/// CloudFormation action exports the stack's `Outputs` (their template values) and the simulated
/// CodeBuild action exactly the project's `exported-variables`, which a later action reads.
const SELF_DEPLOYING: &str = r##"
Resources:
  Build:
    Type: AWS::CodeBuild::Project
    Properties:
      Name: site-build
      ServiceRole: arn:aws:iam::000000000000:role/build
      Artifacts: {Type: CODEPIPELINE}
      Environment: {Type: LINUX_CONTAINER, ComputeType: BUILD_GENERAL1_SMALL, Image: aws/codebuild/standard:7.0}
      Source:
        Type: CODEPIPELINE
        BuildSpec: |
          version: 0.2
          env:
            exported-variables: [IMAGE_TAG]
          phases:
            build:
              commands: ["export IMAGE_TAG=1.2.3"]
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: site
      RoleArn: arn:aws:iam::000000000000:role/pipeline
      ArtifactStore: {Type: S3, Location: artifacts}
      Stages:
        - Name: Source
          Actions:
            - Name: Source
              ActionTypeId: {Category: Source, Owner: AWS, Provider: S3, Version: "1"}
              Configuration: {S3Bucket: src, S3ObjectKey: app.zip, PollForSourceChanges: false}
              OutputArtifacts: [{Name: Src}]
        - Name: Build
          Actions:
            - Name: Build
              Namespace: BuildVars
              ActionTypeId: {Category: Build, Owner: AWS, Provider: CodeBuild, Version: "1"}
              Configuration: {ProjectName: !Ref Build}
              InputArtifacts: [{Name: Src}]
        - Name: Deploy
          Actions:
            - Name: Stack
              Namespace: StackOut
              ActionTypeId: {Category: Deploy, Owner: AWS, Provider: CloudFormation, Version: "1"}
              Configuration:
                ActionMode: CREATE_UPDATE
                StackName: !Ref AWS::StackName
                TemplatePath: Src::template.yaml
                RoleArn: arn:aws:iam::000000000000:role/cfn
              InputArtifacts: [{Name: Src}]
              RunOrder: 1
            - Name: Smoke
              ActionTypeId: {Category: Build, Owner: AWS, Provider: CodeBuild, Version: "1"}
              Configuration:
                ProjectName: smoke
                EnvironmentVariables: '[{"name":"URL","value":"#{StackOut.SiteUrl}","type":"PLAINTEXT"},{"name":"TAG","value":"#{BuildVars.IMAGE_TAG}","type":"PLAINTEXT"}]'
              InputArtifacts: [{Name: Src}]
              RunOrder: 2
Outputs:
  SiteUrl:
    Value: !Sub "https://${AWS::StackName}.${AWS::Region}.example.com/"
"##;

#[tokio::test]
async fn a_loaded_stacks_outputs_and_projects_feed_the_simulated_actions() {
    let server = start_with(codepipeline_local::Config {
        auto_start: false,
        ..test_config()
    })
    .await;
    let (status, body) =
        post_load(&server.url, "stack-name=site-stack", SELF_DEPLOYING.into()).await;
    assert_eq!(status, 200, "{body}");
    let c = &server.client;
    let id = c
        .start_pipeline_execution()
        .name("site")
        .send()
        .await
        .unwrap()
        .pipeline_execution_id
        .unwrap();
    let status = wait_for("the site execution to finish", || async {
        let execution = c
            .get_pipeline_execution()
            .pipeline_name("site")
            .pipeline_execution_id(&id)
            .send()
            .await
            .unwrap()
            .pipeline_execution
            .unwrap();
        let status = execution.status.unwrap();
        (status.as_str() != "InProgress").then_some(status)
    })
    .await;
    assert_eq!(status.as_str(), "Succeeded");
    let actions = c
        .list_action_executions()
        .pipeline_name("site")
        .send()
        .await
        .unwrap()
        .action_execution_details
        .unwrap_or_default();
    let detail = |name: &str| {
        actions
            .iter()
            .find(|a| a.action_name() == Some(name))
            .unwrap_or_else(|| panic!("{name} ran"))
    };
    let variables = |name: &str| {
        detail(name)
            .output()
            .and_then(|o| o.output_variables())
            .cloned()
            .unwrap_or_default()
    };
    let stack = variables("Stack");
    assert_eq!(
        stack.get("SiteUrl").map(String::as_str),
        Some("https://site-stack.us-east-1.example.com/")
    );
    let build = variables("Build");
    assert_eq!(build.keys().collect::<Vec<_>>(), ["IMAGE_TAG"]);
    let smoke = detail("Smoke")
        .input()
        .and_then(|i| i.resolved_configuration())
        .and_then(|c| c.get("EnvironmentVariables"))
        .cloned()
        .unwrap_or_default();
    assert!(
        smoke.contains("https://site-stack.us-east-1.example.com/"),
        "{smoke}"
    );
    assert!(smoke.contains("simulated-IMAGE_TAG"), "{smoke}");
}
