# Shared by the scripts in this folder: install what is missing, find torch, configure and build.
# Sourced, not run.

# Debian 12 packages the build, the tests and the examples need (CPU libtorch 1.13, its Python,
# Catch2 2, pytest). Installed only when missing, so a warm machine skips apt entirely.
TCONV_DEBIAN_PACKAGES=(libtorch-dev python3-torch catch2 python3-pytest cmake ninja-build g++)

tconv_install_packages() {
  local missing=()
  for p in "${TCONV_DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "== installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# The Python that has torch: Debian's /usr/bin/python3 here (the first python3 on PATH may be a
# pyenv one without torch), the GPU machine's python3 there. TCONV_PYTHON overrides.
tconv_python() {
  if [ -n "${TCONV_PYTHON:-}" ]; then echo "$TCONV_PYTHON"; return; fi
  for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null && "$py" -c "import torch" 2>/dev/null; then echo "$py"; return; fi
  done
  echo "no python3 with torch found (set TCONV_PYTHON)" >&2
  return 1
}

# The C++ compiler to build with: $CXX or c++, unless it has no shared libstdc++ (it would link the
# C++ runtime statically into libtconv.so, beside torch's: see CMakeLists.txt); then the system g++.
tconv_cxx() {
  local cxx=${CXX:-c++}
  case "$("$cxx" -print-file-name=libstdc++.so 2>/dev/null)" in
    /*) echo "$cxx" ;;
    *) echo "== $cxx has no shared libstdc++; building with /usr/bin/g++" >&2; echo /usr/bin/g++ ;;
  esac
}

# tconv_build BUILD_DIR [cmake args...]: configure (once) and build against the torch that
# tconv_python finds.
tconv_build() {
  local dir=$1; shift
  local py; py=$(tconv_python)
  local prefix; prefix=$("$py" -c "import torch.utils; print(torch.utils.cmake_prefix_path)")
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    local cxx; cxx=$(command -v "$(tconv_cxx)")
    cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CUDA_HOST_COMPILER="$cxx" \
      -DPython3_EXECUTABLE="$py" -DTCONV_PYTHON="$py" "$@"
  fi
  cmake --build "$dir" --parallel "$(nproc)"
}
