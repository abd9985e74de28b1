#!/usr/bin/env bash
# Smoke test of a running codepipeline-local with the AWS CLI: create a pipeline with a manual
# approval, start it, approve it, and wait until the execution has Succeeded.
#
#   ENDPOINT=http://127.0.0.1:4566 bash docker/smoke.sh
#
# Settings (environment): ENDPOINT (default http://localhost:4566), PIPELINE (default
# smoke-<random>), TIMEOUT_SECONDS (default 60), KEEP_PIPELINE=1 to leave the pipeline behind.
# Needs bash and the aws CLI (v1 or v2) only: JSON is read with --query, not jq.
set -euo pipefail

ENDPOINT="${ENDPOINT:-http://localhost:4566}"
PIPELINE="${PIPELINE:-smoke-$$-$RANDOM}"
TIMEOUT_SECONDS="${TIMEOUT_SECONDS:-60}"

# Any credentials work; keep the caller's AWS configuration out of the way.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_PAGER=""
export AWS_MAX_ATTEMPTS="${AWS_MAX_ATTEMPTS:-2}"
unset AWS_PROFILE AWS_ENDPOINT_URL

log() { printf 'smoke: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

cp_() { aws --endpoint-url "$ENDPOINT" --output text codepipeline "$@"; }

deadline=$((SECONDS + TIMEOUT_SECONDS))
# Runs "$@" every half second until it succeeds, or fails after the deadline.
until_ok() {
    local what="$1"
    shift
    until "$@"; do
        ((SECONDS < deadline)) || fail "timed out after ${TIMEOUT_SECONDS}s waiting for $what"
        sleep 0.5
    done
}

log "endpoint $ENDPOINT, pipeline $PIPELINE"
until_ok "the endpoint to answer" cp_ list-pipelines --query 'pipelines[0].name' >/dev/null 2>&1

declaration=$(cat <<JSON
{
  "name": "$PIPELINE",
  "roleArn": "arn:aws:iam::123456789012:role/codepipeline-service",
  "artifactStore": {"type": "S3", "location": "artifact-bucket"},
  "stages": [
    {"name": "Source", "actions": [{
      "name": "Source",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
      "configuration": {"S3Bucket": "source-bucket", "S3ObjectKey": "app.zip"},
      "outputArtifacts": [{"name": "SourceOutput"}]
    }]},
    {"name": "Approve", "actions": [{
      "name": "Approval",
      "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
    }]},
    {"name": "Build", "actions": [{
      "name": "Build",
      "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
      "configuration": {"ProjectName": "smoke"},
      "inputArtifacts": [{"name": "SourceOutput"}]
    }]}
  ]
}
JSON
)

version=$(cp_ create-pipeline --pipeline "$declaration" --query 'pipeline.version')
[[ "$version" == "1" ]] || fail "create-pipeline answered version '$version'"
log "created $PIPELINE"

execution=$(cp_ start-pipeline-execution --name "$PIPELINE" --query 'pipelineExecutionId')
[[ -n "$execution" && "$execution" != "None" ]] || fail "start-pipeline-execution gave no id"
log "started execution $execution"

status() {
    cp_ get-pipeline-execution --pipeline-name "$PIPELINE" --pipeline-execution-id "$execution" \
        --query 'pipelineExecution.status'
}

# The pending approval's token, if the Approve stage has one. An emulator that starts an
# execution on create (as AWS does) has an earlier execution ahead of ours at the approval:
# every pending approval is approved until ours has run.
pending_token() {
    cp_ get-pipeline-state --name "$PIPELINE" \
        --query "stageStates[?stageName=='Approve'] | [0].actionStates[?actionName=='Approval'] | [0].latestExecution.token"
}

approved=0
while :; do
    current=$(status)
    case "$current" in
        Succeeded) break ;;
        InProgress | Stopping) ;;
        *) fail "execution $execution ended $current" ;;
    esac
    token=$(pending_token)
    if [[ -n "$token" && "$token" != "None" ]]; then
        cp_ put-approval-result --pipeline-name "$PIPELINE" --stage-name Approve \
            --action-name Approval --token "$token" \
            --result 'summary=Approved by the smoke test,status=Approved' >/dev/null
        approved=$((approved + 1))
        log "approved (token $token)"
        continue
    fi
    ((SECONDS < deadline)) || fail "timed out after ${TIMEOUT_SECONDS}s; execution $execution is $current"
    sleep 0.5
done
((approved > 0)) || fail "execution $execution succeeded without an approval"
log "execution $execution Succeeded"

if [[ "${KEEP_PIPELINE:-0}" != "1" ]]; then
    cp_ delete-pipeline --name "$PIPELINE"
    log "deleted $PIPELINE"
fi
echo "smoke test passed"
