#!/usr/bin/env bash
# Runs examples/compose-moto/pipeline.json against codepipeline-local with real S3 in moto:
# buckets, a source zip, one execution to Succeeded, the deployed page read back from moto.
# Needs the aws CLI, python3 (for the zip) and the endpoints in CODEPIPELINE_ENDPOINT and
# S3_ENDPOINT.
set -euo pipefail
cp_() { aws --endpoint-url "$CODEPIPELINE_ENDPOINT" codepipeline "$@"; }
s3_() { aws --endpoint-url "$S3_ENDPOINT" s3api "$@"; }
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"

for bucket in codepipeline-artifacts site-source site-live; do
    s3_ create-bucket --bucket "$bucket" >/dev/null
done
s3_ put-bucket-versioning --bucket site-source --versioning-configuration Status=Enabled
python3 - "$work/site.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("index.html", "<h1>deployed by codepipeline-local</h1>\n")
PY
s3_ put-object --bucket site-source --key site.zip --body "$work/site.zip" >/dev/null

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
