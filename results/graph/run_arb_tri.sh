#!/bin/bash
# Arboricity and weighted-triangle runs (issue 8, exact draw probabilities), one job at a
# time, 2 ranks x 1 thread, Gaussian kernel, seed 42; arboricity with eps = 0.5 and
# oversample C = 0.25 (T = 0.25 n ln n / eps^2 edge samples), triangles with the defaults
# (s = 400).  Resumable: a run whose summary.json exists is skipped.
# Usage: results/graph/run_arb_tri.sh [BUILD] [OUTDIR] ; then copy OUTDIR/<tag>/summary.json
# here as <tag>.json.  Cost on the shared 2-core machine: about 10 minutes (fmnist 10k:
# 3.5 min; the exact arboricity of fmnist:test:3000: 1 min).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build}/subq
out=${2:-$here/arb-tri-out}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
run() {
  local tag=$1; shift
  [ -f "$out/$tag/summary.json" ] && return 0
  echo "$(date -u +%H:%M:%S) start $tag: $*" >>"$out/log.txt"
  mpiexec --oversubscribe -n 2 "$bin" "$@" --seed=42 --out="$out/$tag" >"$out/$tag.log" 2>&1
  echo "$(date -u +%H:%M:%S) end $tag rc=$?" >>"$out/log.txt"
}
A=(arboricity --eps=0.5 --oversample=0.25)
run digits-arboricity "${A[@]}" --data=digits
run digits-arboricity-m64 "${A[@]}" --data=digits --kde-samples=64
run digits-h7-arboricity-sampling "${A[@]}" --data=digits --bandwidth=7
run digits-h7-arboricity-sampling-m64 "${A[@]}" --data=digits --bandwidth=7 --kde-samples=64
run digits-h7-arboricity-sampling-m256 "${A[@]}" --data=digits --bandwidth=7 --kde-samples=256
run digits-h7-arboricity-exact-oracle "${A[@]}" --data=digits --bandwidth=7 --estimator=exact
run fm3k-arboricity "${A[@]}" --data=fmnist:test:3000
run fm3k-arboricity-m16 "${A[@]}" --data=fmnist:test:3000 --kde-samples=16 --exact-max=0
run fm10k-arboricity "${A[@]}" --data=fmnist:train:10000 --exact-max=0
run digits-triangles triangles --data=digits
run digits-triangles-m64 triangles --data=digits --kde-samples=64
run digits-h7-triangles-sampling triangles --data=digits --bandwidth=7
run digits-h7-triangles-exact-oracle triangles --data=digits --bandwidth=7 --estimator=exact
run fm3k-triangles triangles --data=fmnist:test:3000
# Small bandwidth, issue 8 follow-up (graph4): DEANN oracles in the tree nodes, the defensive
# mixing weight of the descent (--tree-mix), the probe count (--kde-probe).
run digits-h7-arboricity-deann "${A[@]}" --data=digits --bandwidth=7 --estimator=deann
run digits-h7-arboricity-deann-probe2 "${A[@]}" --data=digits --bandwidth=7 --estimator=deann --kde-probe=2
run digits-h7-arboricity-deann-probe3 "${A[@]}" --data=digits --bandwidth=7 --estimator=deann --kde-probe=3
run digits-h7-arboricity-deann-mix05 "${A[@]}" --data=digits --bandwidth=7 --estimator=deann --tree-mix=0.5
run digits-h7-arboricity-deann-probe2-mix05 "${A[@]}" --data=digits --bandwidth=7 --estimator=deann --kde-probe=2 --tree-mix=0.5
run digits-h7-arboricity-deann-leaf128-mix05 "${A[@]}" --data=digits --bandwidth=7 --estimator=deann --leaf=128 --tree-mix=0.5
run digits-h7-arboricity-sampling-mix01 "${A[@]}" --data=digits --bandwidth=7 --tree-mix=0.1
run digits-h7-arboricity-sampling-mix03 "${A[@]}" --data=digits --bandwidth=7 --tree-mix=0.3
run digits-h7-arboricity-sampling-mix05 "${A[@]}" --data=digits --bandwidth=7 --tree-mix=0.5
run digits-h7-arboricity-sampling-m64-mix05 "${A[@]}" --data=digits --bandwidth=7 --kde-samples=64 --tree-mix=0.5
run digits-h7-arboricity-sampling-leaf128-mix05 "${A[@]}" --data=digits --bandwidth=7 --leaf=128 --tree-mix=0.5
run digits-arboricity-deann-mix05 "${A[@]}" --data=digits --estimator=deann --tree-mix=0.5
run digits-arboricity-deann "${A[@]}" --data=digits --estimator=deann
run digits-arboricity-mix05 "${A[@]}" --data=digits --tree-mix=0.5
run digits-h7-triangles-deann-mix05 triangles --data=digits --bandwidth=7 --estimator=deann --tree-mix=0.5
run digits-triangles-deann-mix05 triangles --data=digits --estimator=deann --tree-mix=0.5
