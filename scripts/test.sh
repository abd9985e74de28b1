#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need
# (scripts/test-prereqs.sh), then runs every test binary (a failing one does not stop the others).
# Extra arguments go to cargo test (e.g. `scripts/test.sh --test executions`).
set -euo pipefail
cd "$(dirname "$0")/.."
# Sourced, so that the PATH and CHROMIUM it sets reach the tests.
source scripts/test-prereqs.sh
cargo test --no-fail-fast "$@"
