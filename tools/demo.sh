#!/usr/bin/env bash
# The main job on the built-in default: installs what is missing, builds, then runs the
# end-to-end demo (synthetic data -> tokenizer -> SFT -> preference pairs -> DPO -> ablation ->
# evaluation -> report) on CPU. Extra arguments go to `editcaption demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
BUILD_DIR="${EDITCAPTION_BUILD_DIR:-build}"
exec "$BUILD_DIR/bin/editcaption" demo "$@"
