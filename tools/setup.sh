#!/usr/bin/env bash
# Installs the Debian packages subq needs, only those that are missing.
# Idempotent, non-interactive, quiet; does nothing when everything is present.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config git
  libopenmpi-dev openmpi-bin
  libopenblas-openmp-dev liblapacke-dev
  libscalapack-openmpi-dev
  libfftw3-dev
  petsc-dev slepc-dev
  libigraph-dev
  libinih-dev zlib1g-dev libcjson-dev libssl-dev
  dataset-fashion-mnist python3-sklearn
  gnuplot-nox
  clang libclang-rt-14-dev
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "subq setup: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
