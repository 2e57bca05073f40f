#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the test suite.
#   tools/test.sh                 every label except `slow` (unit, dist, fault; gpu tests skip without a GPU)
#   tools/test.sh -L unit         any ctest selection (arguments go to ctest)
#   EDITCAPTION_TEST_ALL=1 tools/test.sh   include the `slow` label
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh --test
BUILD_DIR="${EDITCAPTION_BUILD_DIR:-build}"
cd "$BUILD_DIR"
args=("$@")
if [ ${#args[@]} -eq 0 ] && [ "${EDITCAPTION_TEST_ALL:-0}" != 1 ]; then
  args=(--label-exclude slow)
fi
ctest --output-on-failure --timeout 900 -j "${EDITCAPTION_TEST_JOBS:-2}" "${args[@]}"
