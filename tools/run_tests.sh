#!/usr/bin/env bash
# README command 2: install what is missing, build, and run the whole test suite (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/build.sh
. tools/env.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j 2 --timeout 600
