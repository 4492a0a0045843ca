#!/usr/bin/env bash
# Installs the Debian packages flyvis-swift needs (idempotent; as root or through sudo) and
# builds the project in release mode. Safe to re-run: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  pkg-config
  openmpi-bin libopenmpi-dev          # MPI runtime (mpirun) and headers
  libhdf5-openmpi-dev                 # parallel HDF5 (MPI-IO)
  libpng-dev                          # PNG decoding for Sintel frames
  zlib1g-dev                          # zlib, for ZIPFoundation (torch checkpoint archives)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "error: missing packages ${missing[*]} and no root or sudo to install them." >&2
    echo "fix: ask an administrator to run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: system packages already installed"
fi

# Swift: use the toolchain on PATH, or the standard /opt/swift location.
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi
if ! command -v swift >/dev/null; then
  echo "error: no Swift toolchain found. fix: install Swift 6 from https://swift.org/install and put it on PATH" >&2
  exit 1
fi

echo "setup: building (release)"
swift build -c release
echo "setup: done; binary at $(swift build -c release --show-bin-path)/flyvis-ensemble"
