#!/usr/bin/env bash
# Installs the system packages Closure Lab needs to build, test and open its window.
# Safe to run repeatedly; installs only what is missing. Needs root (or sudo).
set -euo pipefail

PKGS=(
  pkg-config libhdf5-dev                          # HDF5 datasets (closure-lab data/eval)
  xvfb xauth mesa-vulkan-drivers libvulkan1       # window + software Vulkan (tests, screenshots)
  libxkbcommon-x11-0 libx11-6 libxcursor1 libxrandr2 libxi6 libgl1 libegl1 # winit/eframe at run time
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found — install Rust (https://rustup.rs) first" >&2
  exit 1
fi
echo "setup: system packages present"
