#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job on real data:
#   mpirun -np 2 subq suite --config=configs/default.ini
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/build.sh
. tools/env.sh
mpirun -np "${NP:-2}" build/subq suite --config=configs/default.ini --out="${OUT:-out/suite}" --progress
