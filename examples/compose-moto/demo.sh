#!/usr/bin/env bash
# Runs examples/compose-moto/pipeline.json against codepipeline-local with real S3,
# CloudFormation and EventBridge in moto: buckets, a source zip holding the site and a template,
# an EventBridge rule on aws.codepipeline with an SQS target, one execution to Succeeded (the
# stack creates the site bucket, whose name the deploy reads from the stack's output), the
# deployed page read back from moto and the pipeline's events read from the queue.
# Needs the aws CLI, python3 (for the zip) and the endpoints in CODEPIPELINE_ENDPOINT and
# S3_ENDPOINT (moto serves everything on it).
set -euo pipefail
cp_() { aws --endpoint-url "$CODEPIPELINE_ENDPOINT" codepipeline "$@"; }
s3_() { aws --endpoint-url "$S3_ENDPOINT" s3api "$@"; }
moto_() { aws --endpoint-url "$S3_ENDPOINT" "$@"; }
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"

for bucket in codepipeline-artifacts site-source; do
    s3_ create-bucket --bucket "$bucket" >/dev/null
done
s3_ put-bucket-versioning --bucket site-source --versioning-configuration Status=Enabled
python3 - "$work/site.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("index.html", "<h1>deployed by codepipeline-local</h1>\n")
    z.writestr("infra/template.json", """{
  "Parameters": {"BucketName": {"Type": "String"}},
  "Resources": {"Site": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "BucketName"}}}},
  "Outputs": {"SiteBucket": {"Value": {"Ref": "Site"}}}
}
""")
PY
s3_ put-object --bucket site-source --key site.zip --body "$work/site.zip" >/dev/null

# The pipeline's state changes go to EventBridge: a rule sends them to a queue.
queue=$(moto_ sqs create-queue --queue-name pipeline-events --query QueueUrl --output text)
queue_arn=$(moto_ sqs get-queue-attributes --queue-url "$queue" --attribute-names QueueArn \
    --query Attributes.QueueArn --output text)
moto_ events put-rule --name codepipeline-events \
    --event-pattern '{"source":["aws.codepipeline"]}' >/dev/null
moto_ events put-targets --rule codepipeline-events \
    --targets "[{\"Id\":\"queue\",\"Arn\":\"$queue_arn\"}]" >/dev/null

cp_ create-pipeline --cli-input-json "file://$here/pipeline.json" >/dev/null
id=$(cp_ start-pipeline-execution --name deploy-site --query pipelineExecutionId --output text)
echo "demo: started execution $id"
status=InProgress
for _ in $(seq 1 120); do
    status=$(cp_ get-pipeline-execution --pipeline-name deploy-site --pipeline-execution-id "$id" \
        --query pipelineExecution.status --output text)
    [[ $status == InProgress ]] || break
    sleep 0.5
done
echo "demo: execution $id is $status"
[[ $status == Succeeded ]] || { cp_ get-pipeline-state --name deploy-site; exit 1; }
s3_ get-object --bucket site-live --key index.html "$work/index.html" >/dev/null
grep -q "deployed by codepipeline-local" "$work/index.html"
echo "demo: site-live/index.html is deployed"
stack=$(moto_ cloudformation describe-stacks --stack-name site-infra \
    --query 'Stacks[0].StackStatus' --output text)
echo "demo: stack site-infra is $stack"
[[ $stack == CREATE_COMPLETE ]]
succeeded=0
for _ in $(seq 1 20); do
    # The execution's SUCCEEDED event (received messages stay invisible: none is read twice).
    if moto_ sqs receive-message --queue-url "$queue" --max-number-of-messages 10 \
        --wait-time-seconds 1 --output json | python3 -c '
import json, sys
messages = (json.loads(sys.stdin.read() or "{}")).get("Messages", [])
events = [json.loads(m["Body"]) for m in messages]
sys.exit(0 if any(e["source"] == "aws.codepipeline"
                  and e["detail-type"] == "CodePipeline Pipeline Execution State Change"
                  and e["detail"]["state"] == "SUCCEEDED" for e in events) else 1)'; then
        succeeded=1
        break
    fi
done
[[ $succeeded == 1 ]]
echo "demo: the pipeline's state changes reached EventBridge"
