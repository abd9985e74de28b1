"""A mix of API requests for scripts/order-functions.sh: every pipeline is created (with a
tag), started, read in each way, updated or deleted in part, and some requests fail as
clients' mistakes do. Usage: request-mix.py PORT PIPELINES"""
import http.client
import json
import sys
import threading

PORT, COUNT = int(sys.argv[1]), int(sys.argv[2])
ROLE = "arn:aws:iam::123456789012:role/CodePipelineRole"
ACCOUNT = "000000000000"


def action(name, category, provider, configuration, inputs, outputs):
    return {
        "name": name,
        "actionTypeId": {"category": category, "owner": "AWS", "provider": provider, "version": "1"},
        "configuration": configuration,
        "inputArtifacts": [{"name": a} for a in inputs],
        "outputArtifacts": [{"name": a} for a in outputs],
        "runOrder": 1,
    }


def pipeline(name):
    return {
        "name": name,
        "roleArn": ROLE,
        "artifactStore": {"type": "S3", "location": "artifact-bucket"},
        "stages": [
            {"name": "Source", "actions": [action("Source", "Source", "S3",
                {"S3Bucket": "source-bucket", "S3ObjectKey": "app.zip"}, [], ["SourceOutput"])]},
            {"name": "Build", "actions": [action("Build", "Build", "CodeBuild",
                {"ProjectName": "my-project"}, ["SourceOutput"], ["BuildOutput"])]},
            {"name": "Deploy", "actions": [action("Deploy", "Deploy", "CodeDeploy",
                {"ApplicationName": "app", "DeploymentGroupName": "group"}, ["BuildOutput"], [])]},
        ],
        "version": 1,
    }


def call(conn, operation, body, ok=True):
    conn.request("POST", "/", json.dumps(body), {
        "X-Amz-Target": "CodePipeline_20150709." + operation,
        "Content-Type": "application/x-amz-json-1.1",
    })
    response = conn.getresponse()
    data = response.read()
    if ok and response.status != 200:
        raise SystemExit(f"{operation}: {response.status} {data!r}")
    return json.loads(data or b"{}")


def work(first):
    conn = http.client.HTTPConnection("127.0.0.1", PORT)
    for i in range(first, COUNT, 2):
        name = f"mix-{i:05d}"
        call(conn, "CreatePipeline", {"pipeline": pipeline(name), "tags": [{"key": "team", "value": "bench"}]})
        execution = call(conn, "StartPipelineExecution", {"name": name})["pipelineExecutionId"]
        call(conn, "GetPipeline", {"name": name})
        call(conn, "GetPipelineState", {"name": name})
        call(conn, "ListPipelineExecutions", {"pipelineName": name})
        call(conn, "GetPipelineExecution", {"pipelineName": name, "pipelineExecutionId": execution})
        call(conn, "ListActionExecutions", {"pipelineName": name})
        call(conn, "ListPipelines", {})
        call(conn, "ListTagsForResource", {"resourceArn": f"arn:aws:codepipeline:us-east-1:{ACCOUNT}:{name}"})
        call(conn, "GetPipeline", {"name": "missing-" + name}, ok=False)
        call(conn, "CreatePipeline", {"pipeline": {"name": name}}, ok=False)
        if i % 3 == 0:
            call(conn, "UpdatePipeline", {"pipeline": pipeline(name)})
        if i % 4 == 0:
            call(conn, "DeletePipeline", {"name": name})


threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
