#!/usr/bin/env bash
# README command 2: install what is missing, build, and run the whole test suite (ctest).
# When nvcc is present (CUDA toolkit, GPU or not), also configure and build the CUDA variant
# into build-cuda (-DSUBQ_CUDA=ON) so the CUDA code always compiles and links, and run its
# ctest on what the CUDA build changes: tests/cuda (skipped without a GPU), device
# selection, the driver and install, and the modules with a device path (core, dist, lev,
# sketch, attn, quant, the exact KDE oracle, LevAttention attention, their jobs).  The
# other modules' C code is the same as in build/, tested above; SUBQ_CI_CUDA_ALL=1 runs the whole suite there too, SUBQ_CI_CUDA=0 skips the
# variant.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/build.sh
. tools/env.sh
rc=0
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j 2 --timeout 600) || rc=1

NVCC="${CUDACXX:-$(command -v nvcc || true)}"
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
if [ "${SUBQ_CI_CUDA:-1}" = 0 ]; then
  echo "run_tests: SUBQ_CI_CUDA=0: CUDA variant not built"
elif [ -z "$NVCC" ]; then
  echo "run_tests: no nvcc: CUDA variant not built"
else
  CB="${CUDA_BUILD_DIR:-build-cuda}"
  t0=$(date +%s)
  if CUDACXX="$NVCC" BUILD_DIR="$CB" bash tools/build.sh -DSUBQ_CUDA=ON; then
    echo "run_tests: CUDA variant (nvcc $("$NVCC" --version | grep -o "release [0-9.]*")) built in $(( $(date +%s) - t0 )) s"
    sel=(-R '^test_(cuda|core|device|driver|install|comm|dist|lev_exact|lev_sketch|sketch|attn|polysketch_job|quant|kde_oracle|levatt_attend)')
    [ "${SUBQ_CI_CUDA_ALL:-0}" = 1 ] && sel=()
    (cd "$CB" && ctest --output-on-failure -j 2 --timeout 600 "${sel[@]}") || rc=1
  else
    echo "run_tests: CUDA variant failed to build"
    rc=1
  fi
fi
exit $rc
