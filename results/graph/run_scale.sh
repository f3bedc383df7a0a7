#!/bin/bash
# Scale runs of the kernel-graph jobs (issue 8) and of the dense ScaLAPACK comparisons of
# kernel-lra / kernel-eig at n = 10,000 (issue 7), one job at a time, 2 ranks x 1 thread,
# Fashion-MNIST train, Gaussian kernel, median-distance bandwidth.  Resumable: a run whose
# summary.json exists is skipped.  OPENBLAS_CORETYPE=SkylakeX: this VM's CPU is not
# recognised by Debian's OpenBLAS, which otherwise falls back to slow Prescott kernels.
# Usage: results/graph/run_scale.sh [BUILD] [OUTDIR] ; then copy OUTDIR/*/summary.json here.
# Cost on the shared 2-core machine: hours (pdsyevd at 10k ~1,000 CPU s; sparsify at 60k
# ~1.5e9 kernel evaluations).  Labels for cluster: n x 1 float64 .npy of the first n
# Fashion-MNIST train labels, made by results/graph/fm_labels.py into OUTDIR.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build}/subq
out=${2:-$here/scale-out}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX
run() {
  local tag=$1; shift
  [ -f "$out/$tag/summary.json" ] && return 0
  echo "$(date -u +%H:%M:%S) start $tag: $*" >>"$out/log.txt"
  /usr/bin/time -v mpiexec --oversubscribe -n 2 "$bin" "$@" --out="$out/$tag" >"$out/$tag.log" 2>&1
  echo "$(date -u +%H:%M:%S) end $tag rc=$?" >>"$out/log.txt"
}
python3 "$here/fm_labels.py" "$out" 10000 20000 60000
fm=fmnist:train
run eig_fm10k_dense kernel-eig --data=$fm:10000 --columns=100 --iters=10
# kernel-lra at 10k in two runs: the approximations with exact errors, then the same KDE
# approximation (same seed) timed against the dense pdsyev reference (best rank-k error)
run lra_fm10k kernel-lra --data=$fm:10000 --rank=10 --samples=500 --dense-max=0
run lra_fm10k_dense kernel-lra --data=$fm:10000 --rank=10 --samples=500 --uniform=0
for n in 10000 20000; do
  run cluster_fm$((n / 1000))k cluster --data=$fm:$n --labels=npy:$out/fm_labels_$n.npy --walks=2000 --steps=3 --max-size=1000
done
run solve_fm10k kernel-solve --data=$fm:10000 --mode=sparsifier --dense-max=10000
run cluster_fm60k cluster --data=$fm:60000 --labels=npy:$out/fm_labels_60000.npy --walks=2000 --steps=3 --max-size=1000
run sparsify_fm10k sparsify --data=$fm:10000 --check-max=10000 --vectors=4 --k=4 --dense-max=0
run solve_fm20k kernel-solve --data=$fm:20000 --mode=sparsifier --dense-max=20000
run sparsify_fm20k sparsify --data=$fm:20000 --check-max=0 --dense-max=0 --k=4
run sparsify_fm60k sparsify --data=$fm:60000 --check-max=0 --dense-max=0 --k=4
[ "${DENSE_20K:-0}" = 1 ] && run eig_fm20k_dense kernel-eig --data=$fm:20000 --columns=100 --iters=10
[ "${PRECOND:-0}" = 1 ] && run solve_fm10k_precond kernel-solve --data=$fm:10000 --mode=precond --dense-max=10000
echo "$(date -u +%H:%M:%S) all done" >>"$out/log.txt"
