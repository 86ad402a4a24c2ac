#!/usr/bin/env bash
# Unit tests in C (tests/unit/), built by `make test`.
set -u
cd "$(dirname "$0")/.."
build/test_ir
build/test_runtime
build/test_text
