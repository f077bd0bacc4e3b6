# Shared by scripts/run.sh and scripts/test.sh: install missing Debian packages, configure
# and build freehead in ./build. Safe to rerun: installed packages are skipped and the
# build is incremental.

FH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FH_BUILD_DIR=${FH_BUILD_DIR:-$FH_ROOT/build}

# Packages a CPU build needs, and those the test suite and benchmarks add. Open MPI builds
# data-parallel training (docs/distributed.md) and runs its 2-rank tests.
FH_BUILD_PACKAGES=(g++ cmake ninja-build git libeigen3-dev libstb-dev nlohmann-json3-dev libcli11-dev libopenmpi-dev openmpi-bin)
# Optional: video files (FFmpeg's libraries) and face detection (dlib) for real photographs
# and videos; freehead builds without them and says at run time what is missing.
# dlib's pkg-config file links BLAS, LAPACK and libjpeg by their development names.
FH_MEDIA_PACKAGES=(libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libdlib-dev libblas-dev liblapack-dev
                   libjpeg-dev)
FH_TEST_PACKAGES=(doctest-dev libbenchmark-dev python3-torch python3-pil python3-skimage pkgconf)

fh_ensure_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "freehead: not a Debian system; make sure these are installed: $*" >&2
    return 0
  fi
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "freehead: installing missing Debian packages: ${missing[*]}"
  local apt=(apt-get)
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      apt=(sudo apt-get)
    else
      echo "freehead: missing Debian packages: ${missing[*]}" >&2
      echo "freehead: run as root:  apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
}

# Extra CMake options pass through, e.g. FH_CMAKE_ARGS="-DFH_CUDA=OFF".
fh_build() {
  local generator=()
  [ -f "$FH_BUILD_DIR/CMakeCache.txt" ] || generator=(-G Ninja)
  # shellcheck disable=SC2086
  cmake -S "$FH_ROOT" -B "$FH_BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release ${FH_CMAKE_ARGS:-} "$@"
  cmake --build "$FH_BUILD_DIR" --parallel "$(nproc)"
}
