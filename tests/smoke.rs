mod common;

#[tokio::test]
async fn create_then_get_a_pipeline_through_the_sdk() {
    let t = common::start().await;
    t.client
        .create_pipeline()
        .pipeline(common::two_stage_pipeline("smoke"))
        .send()
        .await
        .expect("create");
    let got = t
        .client
        .get_pipeline()
        .name("smoke")
        .send()
        .await
        .expect("get");
    assert_eq!(got.pipeline().unwrap().version(), Some(1));
    assert_eq!(
        got.metadata().unwrap().pipeline_arn(),
        Some("arn:aws:codepipeline:us-east-1:000000000000:smoke")
    );
}
