#!/usr/bin/env python3
"""Copy the structure of the AWS CodePipeline service model into this repository.

Usage: scripts/trim-model.py path/to/service-2.json > model/codepipeline-2015-07-09.json

Keeps shapes, constraints and operations; drops every `documentation` text, so the
repository carries only the structure the emulator needs (see build.rs).
"""
import json
import sys


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in ("documentation", "documentationUrl")}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


model = json.load(open(sys.argv[1]))
out = {
    "metadata": strip(model["metadata"]),
    "operations": {
        name: {
            k: strip(v)
            for k, v in op.items()
            if k in ("name", "http", "input", "output", "errors", "idempotent")
        }
        for name, op in model["operations"].items()
    },
    "shapes": strip(model["shapes"]),
}
json.dump(out, sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
