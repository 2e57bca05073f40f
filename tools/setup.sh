#!/usr/bin/env bash
# Installs what editcaption needs to build and run, idempotently; a fast no-op when all is present.
#
#   tools/setup.sh           Debian -dev packages + LibTorch (the torch==2.11.0 wheel in a venv)
#   tools/setup.sh --test    also the Python packages the tests use as numerical references
#                            (transformers, tokenizers, ...): never needed by the product itself
#
# Sources: Debian packages (apt) and PyPI only. The venv lives outside the repository at
# $EDITCAPTION_HOME/venv (default ${XDG_CACHE_HOME:-$HOME/.cache}/editcaption/venv).
# Users with a LibTorch archive can skip the venv: tools/build.sh -DCMAKE_PREFIX_PATH=/path/to/libtorch.
set -euo pipefail

WITH_TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

EC_HOME="${EDITCAPTION_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/editcaption}"
VENV="$EC_HOME/venv"
TORCH_VERSION="2.11.0"

APT_PACKAGES=(
  cmake ninja-build g++ pkg-config ccache git
  libopencv-dev libyaml-cpp-dev libsentencepiece-dev sentencepiece
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libpcre2-dev libssl-dev libgloo-dev libicu-dev libcurl4-openssl-dev
)
# Only for the tests: headless Chromium renders the HTML report (tests/evaltools).
APT_TEST_PACKAGES=(chromium)
# Reference implementations for the parity tests (pinned so that fixtures are reproducible).
PY_TEST_PACKAGES=(
  "transformers==5.17.0" "numpy<3" "pillow" "scikit-image" "safetensors" "sentencepiece" "protobuf"
  "tensorboard"
)
PY_TEST_NODEPS=("torchvision==0.26.0")

stamp_of() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }

# --- Debian packages ------------------------------------------------------------------------
missing=()
wanted=("${APT_PACKAGES[@]}")
if [ "$WITH_TEST" = 1 ]; then wanted+=("${APT_TEST_PACKAGES[@]}"); fi
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- LibTorch from the torch wheel ------------------------------------------------------------
mkdir -p "$EC_HOME"
PY="$VENV/bin/python"
torch_ok() {
  local f
  f=$(ls -d "$VENV"/lib/python3*/site-packages/torch/version.py 2>/dev/null | head -1)
  [ -n "$f" ] && grep -q "__version__ = '${TORCH_VERSION}" "$f"
}
if ! torch_ok; then
  echo "setup: creating $VENV with torch==${TORCH_VERSION} (LibTorch for C++; about 4 GB)"
  python3 -m venv "$VENV"
  "$PY" -m pip install -q --disable-pip-version-check "torch==${TORCH_VERSION}"
fi

if [ "$WITH_TEST" = 1 ]; then
  want=$(stamp_of "${PY_TEST_PACKAGES[@]}" "${PY_TEST_NODEPS[@]}")
  if [ "$(cat "$EC_HOME/test-packages.stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing the reference packages for the tests: ${PY_TEST_PACKAGES[*]} ${PY_TEST_NODEPS[*]}"
    "$PY" -m pip install -q --disable-pip-version-check "${PY_TEST_PACKAGES[@]}"
    "$PY" -m pip install -q --disable-pip-version-check --no-deps "${PY_TEST_NODEPS[@]}"
    echo "$want" > "$EC_HOME/test-packages.stamp"
  fi
fi
echo "setup: dependencies present (venv $VENV)"
