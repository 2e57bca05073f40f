#!/usr/bin/env bash
# Carry editcaption's Debian C++ dependencies to an offline GPU host that already has PyTorch.
#
#   tools/offline_deps.sh gather DIR [--no-opencv]
#       On a Debian 12 machine with apt (and network to its mirror): downloads the .deb files of the
#       -dev packages editcaption builds against, plus the runtime libraries they need, into DIR
#       (about 75 MB; --no-opencv leaves out OpenCV and its image-codec closure, about 10 MB, for a
#       host that trains from `editcaption data pack` shards). LibTorch is NOT included: the GPU
#       host's own torch 2.11 provides it.
#   tools/offline_deps.sh unpack DIR PREFIX
#       On the GPU host (no network, no root needed): unpacks every .deb in DIR into PREFIX and
#       rewrites the absolute /usr paths in CMake and pkg-config files so they point into PREFIX.
#
# Then build on the host with:
#   EDITCAPTION_DEPS_PREFIX=PREFIX tools/build.sh -DCMAKE_PREFIX_PATH="$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')"
# (see docs/gpu.md). The host's own toolchain (g++, cmake, ninja, glibc) is used; nothing here
# replaces system files.
set -euo pipefail

# Packages whose headers/CMake files we compile against. Only these -dev packages are carried
# (not their own -dev dependency trees); the runtime libraries are resolved by apt below.
DEV_PACKAGES=(
  libyaml-cpp-dev libsentencepiece-dev libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libpcre2-dev libgloo-dev libssl-dev libicu-dev
  libcurl4-openssl-dev
)
OPENCV_DEV=(libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev)
RUNTIME_ROOTS=(libyaml-cpp0.7 libsentencepiece0 libspdlog1.10 libfmt9 libpcre2-8-0 libbenchmark1debian libssl3 libicu72 libcurl4)
OPENCV_RUNTIME=(libopencv-core406 libopencv-imgproc406 libopencv-imgcodecs406)
# Never carried: the base system every Linux host has in a compatible or newer version, and the
# Mesa OpenGL vendor stack (OpenCV only needs libGLX.so.0 to load; the host's driver is the vendor).
EXCLUDE_REGEX='^(libc6|libc6-dev|libc-bin|libgcc-s1|libstdc\+\+6|gcc-.*-base|zlib1g|libcrypt1|libselinux1|libpcre3|debconf|dpkg|perl-base|tar|coreutils|base-files|bash|libacl1|libattr1|libaudit.*|libcap.*|libbz2-1.0|liblzma5|libzstd1|libgmp10|libtinfo6|libudev1|libsystemd0|libmd0|libgpg-error0|libgcrypt20|liblz4-1|libgl1-mesa-dri|libglx-mesa0|libgbm1|libllvm.*|libz3-.*|libdrm.*|libwayland.*|libxcb-dri.*|libxcb-present0|libxcb-sync1|libxshmfence1|libxxf86vm1|libsensors.*|libelf1|libedit2|libvulkan1|mesa-vulkan-drivers|libglapi-mesa)$'
usage() { sed -n '2,17p' "$0"; exit 2; }

gather() {
  local dir="$1" with_opencv="$2"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local dev=("${DEV_PACKAGES[@]}") roots=("${RUNTIME_ROOTS[@]}")
  if [ "$with_opencv" = 1 ]; then
    dev+=("${OPENCV_DEV[@]}")
    roots+=("${OPENCV_RUNTIME[@]}")
  fi
  # Resolve the runtime closure as apt would on an empty system (one provider per alternative),
  # then drop what every host already has.
  local work
  work=$(mktemp -d)
  mkdir -p "$work/archives/partial" && touch "$work/status"
  apt-get -q -o Dir::State::status="$work/status" -o Dir::Cache::archives="$work/archives" \
    -o APT::Install-Recommends=false --download-only -y install "${roots[@]}" >/dev/null 2>"$work/log" \
    || { cat "$work/log" >&2; exit 1; }
  local n=0
  for deb in "$work"/archives/*.deb; do
    local name
    name=$(dpkg-deb -f "$deb" Package)
    [[ "$name" =~ $EXCLUDE_REGEX ]] && continue
    mv "$deb" "$dir/"
    n=$((n + 1))
  done
  rm -rf "$work"
  (cd "$dir" && apt-get download "${dev[@]}" >/dev/null 2>&1)
  echo "offline_deps: $n runtime + ${#dev[@]} development packages in $dir ($(du -sh "$dir" | cut -f1))"
}

unpack() {
  local dir="$1" prefix="$2"
  mkdir -p "$prefix"
  prefix=$(cd "$prefix" && pwd)
  local n=0
  for deb in "$dir"/*.deb; do
    dpkg-deb -x "$deb" "$prefix"
    n=$((n + 1))
  done
  # CMake package files and pkg-config files name /usr absolutely in places; point them at PREFIX.
  # Symbolic links that point to absolute /usr or /lib paths are re-aimed inside PREFIX too.
  while IFS= read -r -d '' f; do
    sed -i -e "s|\"/usr/|\"$prefix/usr/|g" -e "s|^prefix=/usr$|prefix=$prefix/usr|" \
           -e "s| /usr/lib/| $prefix/usr/lib/|g" -e "s|=/usr/|=$prefix/usr/|g" "$f"
  done < <(find "$prefix" \( -name '*.cmake' -o -name '*.pc' \) -type f -print0)
  while IFS= read -r -d '' l; do
    local target
    target=$(readlink "$l")
    case "$target" in
      /usr/*|/lib/*) ln -sfn "$prefix$target" "$l" ;;
    esac
  done < <(find "$prefix" -type l -print0)
  echo "offline_deps: unpacked $n packages into $prefix"
}

[ $# -ge 2 ] || usage
case "$1" in
  gather)
    opencv=1
    [ "${3:-}" = "--no-opencv" ] && opencv=0
    gather "$2" "$opencv" ;;
  unpack) [ $# -eq 3 ] || usage; unpack "$2" "$3" ;;
  *) usage ;;
esac
