#!/bin/bash
# Scale and benchmark runs for the KDE kernel-matrix jobs (2 ranks x 1 thread each):
# kernel-lra / kernel-eig on all 60,000 Fashion-MNIST training rows, the same against the
# dense ScaLAPACK reference at the largest n this shared 2-core machine finished (4,000 /
# 3,000; DENSE_BIG=1 adds n = 10,000 and 20,000, which need about 0.6 and 5 CPU hours for
# pdsyev alone), and the kernel-lra-bench sweeps.
# Writes results/kde/scale.csv, bench.csv and scale.md (report_scale.py).
# Usage: results/kde/run_scale.sh [BUILD] [OUTDIR]   (about 1-2 CPU hours; the dense
# ScaLAPACK runs dominate)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build}/subq
out=${2:-$(mktemp -d)}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
run() { local tag=$1; shift; [ -f "$out/$tag/summary.json" ] || mpiexec --oversubscribe -n 2 "$bin" "$@" --out="$out/$tag" >/dev/null; }
run lra_fm60k kernel-lra --data=fmnist:train --rank=10 --samples=500 --error-rows=1000
run eig_fm60k kernel-eig --data=fmnist:train --columns=100 --iters=10 --check-rows=500
run lra_fm4k_dense kernel-lra --data=fmnist:train:4000 --rank=10 --samples=400
run eig_fm3k_dense kernel-eig --data=fmnist:train:3000 --columns=100 --iters=10
if [ "${DENSE_BIG:-0}" = 1 ]; then
  run lra_fm10k_dense kernel-lra --data=fmnist:train:10000 --rank=10 --samples=500
  run eig_fm10k_dense kernel-eig --data=fmnist:train:10000 --columns=100 --iters=10
  run lra_fm20k_dense kernel-lra --data=fmnist:train:20000 --rank=10 --samples=500
fi
run bench_fm4k_h2.5 kernel-lra-bench --data=fmnist:train:4000 --bandwidth=2.5 --sweep=50,100,200,400,800 --reps=2
run bench_fm5k kernel-lra-bench --data=fmnist:train:5000 --sweep=50,100,200,400,800 --reps=2
python3 "$here/report_scale.py" "$out" "$here"
