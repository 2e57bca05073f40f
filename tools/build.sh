#!/usr/bin/env bash
# Configures and builds editcaption into build/ (Ninja, ccache, LibTorch precompiled header).
#   tools/build.sh [--test] [extra cmake -D options...]
# --test also installs the reference Python packages the test suite needs.
# Set EDITCAPTION_BUILD_DIR to build elsewhere; pass -DCMAKE_PREFIX_PATH=/path/to/libtorch to use
# a LibTorch archive instead of the torch wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

setup_args=()
cmake_args=()
for arg in "$@"; do
  case "$arg" in
    --test) setup_args+=(--test) ;;
    *) cmake_args+=("$arg") ;;
  esac
done

# An offline GPU host brings its Debian packages in a prefix (tools/offline_deps.sh) and its own
# torch (-DCMAKE_PREFIX_PATH=...): nothing to install there.
if [ -n "${EDITCAPTION_DEPS_PREFIX:-}" ]; then
  cmake_args+=("-DEDITCAPTION_DEPS_PREFIX=$(cd "$EDITCAPTION_DEPS_PREFIX" && pwd)")
else
  tools/setup.sh "${setup_args[@]}"
fi

EC_HOME="${EDITCAPTION_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/editcaption}"
BUILD_DIR="${EDITCAPTION_BUILD_DIR:-build}"
prefix_given=0
for a in "${cmake_args[@]}"; do [[ "$a" == -DCMAKE_PREFIX_PATH=* ]] && prefix_given=1; done
if [ "$prefix_given" = 0 ]; then
  torch_cmake=$(ls -d "$EC_HOME"/venv/lib/python3*/site-packages/torch/share/cmake | head -1)
  cmake_args+=("-DCMAKE_PREFIX_PATH=$torch_cmake")
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja "${cmake_args[@]}"
elif [ ${#cmake_args[@]} -gt 1 ] || [ "$prefix_given" = 1 ] || [ -n "${EDITCAPTION_DEPS_PREFIX:-}" ]; then
  cmake -S . -B "$BUILD_DIR" "${cmake_args[@]}"
fi
# Two jobs per core would thrash on LibTorch translation units; one per core is fastest here.
cmake --build "$BUILD_DIR" -j "${EDITCAPTION_JOBS:-$(nproc)}"
