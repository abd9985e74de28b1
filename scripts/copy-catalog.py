#!/usr/bin/env python3
"""Copy the AWS action/rule type catalog into model/catalog/.

Usage: scripts/copy-catalog.py path/to/aws-catalog model/catalog

Drops provenance keys (x_source, x_verifiedAgainst, x_notes); keeps the structure and the
x_* hints the emulator uses (output variables, allowed values, V2-only, SKIP support).
"""
import json
import os
import sys

DROP = {"x_source", "x_verifiedAgainst", "x_notes"}
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for name, key in (("action-types.json", "actionTypes"), ("rule-types.json", "ruleTypes")):
    data = json.load(open(os.path.join(src, name)))
    entries = [{k: v for k, v in e.items() if k not in DROP} for e in data[key]]
    with open(os.path.join(dst, name), "w") as f:
        json.dump({key: entries}, f, indent=1)
        f.write("\n")
