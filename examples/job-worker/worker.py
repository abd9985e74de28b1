"""A job worker for the LocalBuilder custom action (examples/job-worker/action-type.json).

It polls codepipeline-local for jobs, acknowledges each, "builds" it and reports success with an
output variable. Point it at the emulator and leave it running:

    python3 worker.py --endpoint http://localhost:4566            # forever
    python3 worker.py --endpoint http://localhost:4566 --jobs 1   # stop after one job
"""
import argparse
import sys
import time

import boto3

ACTION_TYPE = {"category": "Build", "owner": "Custom", "provider": "LocalBuilder", "version": "1"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", default="http://localhost:4566")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--project", default="my-app", help="the ProjectName this worker builds")
    parser.add_argument("--jobs", type=int, default=0, help="stop after this many jobs (0: never)")
    parser.add_argument("--timeout", type=float, default=0, help="give up after this many seconds (0: never)")
    args = parser.parse_args()

    codepipeline = boto3.client(
        "codepipeline",
        endpoint_url=args.endpoint,
        region_name=args.region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    done = 0
    started = time.monotonic()
    while args.jobs == 0 or done < args.jobs:
        if args.timeout and time.monotonic() - started > args.timeout:
            sys.exit(f"worker: no job for {args.project} within {args.timeout} s")
        jobs = codepipeline.poll_for_jobs(
            actionTypeId=ACTION_TYPE, maxBatchSize=1, queryParam={"ProjectName": args.project}
        )["jobs"]
        if not jobs:
            time.sleep(0.2)
            continue
        job = jobs[0]
        codepipeline.acknowledge_job(jobId=job["id"], nonce=job["nonce"])
        config = job["data"]["actionConfiguration"]["configuration"]
        pipeline = job["data"]["pipelineContext"]["pipelineName"]
        print(f"worker: building {config['ProjectName']} for pipeline {pipeline} (job {job['id']})", flush=True)
        codepipeline.put_job_success_result(
            jobId=job["id"],
            executionDetails={"summary": f"Built {config['ProjectName']}", "externalExecutionId": f"build-{done + 1}", "percentComplete": 100},
            outputVariables={"BUILD_NUMBER": str(done + 1)},
        )
        done += 1


if __name__ == "__main__":
    main()
