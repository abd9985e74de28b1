"""The emulator in a throwaway container for a test, with Testcontainers for Python (the README's
"Testcontainers" example, run by the GitHub workflow's docker job).

    python3 docker/testcontainers_example.py [IMAGE]
"""
import sys
import time
import urllib.request

import boto3
from testcontainers.core.container import DockerContainer

image = sys.argv[1] if len(sys.argv) > 1 else "codepipeline-local:latest"

with DockerContainer(image).with_exposed_ports(4566) as container:
    url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(4566)}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"{image} did not become healthy at {url}/health")
        time.sleep(0.5)

    codepipeline = boto3.client(
        "codepipeline",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    assert codepipeline.list_pipelines()["pipelines"] == []
    print(f"testcontainers: {image} answers ListPipelines at {url}")
