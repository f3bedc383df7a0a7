#!/usr/bin/env bash
# GPU verification, prepared for a session that has an NVIDIA GPU (an H200): build the CUDA
# variant, run the GPU agreement tests (CPU vs CUDA on the same inputs), run the benchmarks
# with --device=cuda (and a CPU reference on the same machine), and write everything to
# results/gpu/<date>/ with a README.md summary.  Designed to finish in well under 10
# minutes on 16 cores (not yet run on a GPU: every step has its own timeout, steps past
# DEADLINE_S are skipped, and a step that fails does not stop the later ones; the summary
# records each step's exit code and time).  docs/gpu.md.
#
#   bash jobs/gpu_verify.sh              # everything
#   QUICK=1 bash jobs/gpu_verify.sh      # smaller benchmark sizes (about 3 minutes)
#   SKIP_BUILD=1 ...                     # reuse an existing build-cuda
#
# Environment: BUILD_DIR (default build-cuda), OUT (default results/gpu/<UTC date>),
# NP_CPU (ranks of the CPU reference runs, default the cores up to 16), DEADLINE_S (default
# 540: later steps are skipped once this much time has passed).
set -uo pipefail
cd "$(dirname "$0")/.."
. tools/env.sh
T_START=$(date +%s)
DATE=$(date -u +%Y-%m-%d)
OUT=${OUT:-results/gpu/$DATE}
BUILD=${BUILD_DIR:-build-cuda}
QUICK=${QUICK:-0}
DEADLINE_S=${DEADLINE_S:-540}
NCPU=$(getconf _NPROCESSORS_ONLN)   # not nproc: it honours OMP_NUM_THREADS=1 (tools/env.sh)
NP_CPU=${NP_CPU:-$(( NCPU < 16 ? NCPU : 16 ))}
mkdir -p "$OUT"
: > "$OUT/steps.csv"
SUBQ="$BUILD/subq"
MPI=(mpirun --oversubscribe)

log() { echo "[gpu_verify +$(( $(date +%s) - T_START ))s] $*" | tee -a "$OUT/log.txt"; }
# step NAME TIMEOUT_S CMD...: run with a timeout, output to $OUT/NAME.txt, record rc and time.
step() {
  local name=$1 lim=$2; shift 2
  local el=$(( $(date +%s) - T_START ))
  if [ "$el" -ge "$DEADLINE_S" ]; then
    log "$name: skipped (deadline ${DEADLINE_S}s reached)"
    echo "$name,skipped,0" >> "$OUT/steps.csv"
    return 1
  fi
  local t=$(date +%s)
  timeout "$lim" "$@" > "$OUT/$name.txt" 2>&1
  local rc=$?
  log "$name: rc=$rc in $(( $(date +%s) - t ))s$([ $rc -eq 124 ] && echo " (timed out after ${lim}s)")"
  echo "$name,$rc,$(( $(date +%s) - t ))" >> "$OUT/steps.csv"
  return $rc
}

# ---- 0. the machine ------------------------------------------------------------------
{
  echo "date (UTC): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown) $(git status --porcelain 2>/dev/null | grep -q . && echo '(dirty)')"
  echo "host: $(hostname), $NCPU cores, $(free -g 2>/dev/null | awk '/Mem:/ {print $2 " GiB"}')"
  echo "nvcc: $(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || echo none)"
  (nvcc --version || /usr/local/cuda/bin/nvcc --version) 2>/dev/null | grep release
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv 2>/dev/null || echo "nvidia-smi: not available"
} > "$OUT/machine.txt" 2>&1
log "machine: $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1 || true)$(command -v nvidia-smi > /dev/null || echo 'no nvidia-smi')"

# ---- 1. build ------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -x "$SUBQ" ]; then
  log "build: skipped (SKIP_BUILD=1, $SUBQ exists)"
else
  export CUDACXX=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
  step setup 120 bash tools/setup.sh
  step configure 120 cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSUBQ_CUDA=ON
  step build 420 cmake --build "$BUILD" -j "$NCPU"
fi
if [ ! -x "$SUBQ" ]; then
  log "no $SUBQ: cannot continue (see $OUT/configure.txt, $OUT/build.txt)"
  exit 1
fi

# ---- 2. tests: GPU agreement and device selection ------------------------------------
step info 60 "${MPI[@]}" -np 2 "$SUBQ" info --device=cuda --peak
step tests_cuda 300 bash -c "cd '$BUILD' && ctest -L cuda -V --timeout 240"
# ctest counts a skipped test as passed: without a visible device the run proves nothing.
if grep -q 'Skipped' "$OUT/tests_cuda.txt" 2>/dev/null; then
  log "tests_cuda: the GPU tests were SKIPPED (no CUDA device visible): nothing verified"
  echo "tests_cuda_ran_on_gpu,1,0" >> "$OUT/steps.csv"
fi
step tests_device 120 bash -c "cd '$BUILD' && ctest -R 'device' --output-on-failure --timeout 100"

# ---- 3. leverage scores --------------------------------------------------------------
if [ "$QUICK" = 1 ]; then LN=1048576; else LN=2097152; fi
step bench_lev_cuda 120 "${MPI[@]}" -np 1 "$BUILD/tests/lev/subq_bench_levscores" "$LN" 64 3 --device=cuda
step bench_lev_cpu 180 "${MPI[@]}" -np "$NP_CPU" "$BUILD/tests/lev/subq_bench_levscores" "$LN" 64 2
for dev in cuda cpu; do
  np=1; [ $dev = cpu ] && np=$NP_CPU
  step "levscores_fmnist_gram_$dev" 120 "${MPI[@]}" -np $np "$SUBQ" levscores --data=fmnist:train \
      --method=gram --device=$dev --out="$OUT/levscores_fmnist_gram_$dev"
done

# ---- 4. polysketch attention ---------------------------------------------------------
KV=data/kv/smollm2-135m-gpl3
for dev in cuda cpu; do
  np=1; [ $dev = cpu ] && np=$NP_CPU
  step "polysketch_kv_$dev" 120 "${MPI[@]}" -np $np "$SUBQ" polysketch --kv=$KV --layer=10 \
      --head=0 --r=32 --p=4 --block=256 --device=$dev --out="$OUT/polysketch_kv_$dev"
done
if [ "$QUICK" = 1 ]; then
  GN=1024,4096,16384,32768; CN=1024,4096,8192
else
  GN=1024,4096,16384,32768,65536,131072; CN=1024,4096,16384
fi
for prec in f32 f64; do
  step "bench_polysketch_cuda_$prec" 180 "${MPI[@]}" -np 1 "$SUBQ" polysketch --bench --device=cuda \
      --precision=$prec --d=64 --r=32 --block=256 --bench-n=$GN --bench-exact-max-n=131072 \
      --out="$OUT/bench_polysketch_cuda_$prec"
done
step bench_polysketch_cpu_f32 180 "${MPI[@]}" -np "$NP_CPU" "$SUBQ" polysketch --bench --device=cpu \
    --precision=f32 --d=64 --r=32 --block=256 --bench-n=$CN --bench-exact-max-n=16384 \
    --out="$OUT/bench_polysketch_cpu_f32"

# ---- 5. PolarQuant, exact KDE, LevAttention ------------------------------------------
# Decode attention from the codes and quantize throughput (GPU polarquant vs this
# machine's CPU fp32/fp16 loops, one process), then the same program on the CPU only.
if [ "$QUICK" = 1 ]; then PN=8192,131072; else PN=8192,32768,131072,524288; fi
step bench_polarquant_cuda 150 "${MPI[@]}" -np 1 "$BUILD/tests/quant/subq_bench_polarquant" \
    --device=cuda --clock=wall --reps=5 --flush-mib=1024 --n=$PN --d=64,128 \
    --csv="$OUT/bench_polarquant_cuda.csv"
step bench_polarquant_cpu 150 "${MPI[@]}" -np 1 "$BUILD/tests/quant/subq_bench_polarquant" \
    --clock=wall --reps=3 --flush-mib=1024 --n=8192,131072 --d=64,128 \
    --csv="$OUT/bench_polarquant_cpu.csv"
for dev in cuda cpu; do
  np=1; [ $dev = cpu ] && np=$NP_CPU
  step "polarquant_kv_$dev" 150 "${MPI[@]}" -np $np "$SUBQ" polarquant --kv=$KV --layers=10 \
      --methods=polarquant,polarquant_nopre,fp16 --gauss=0 --device=$dev \
      --out="$OUT/polarquant_kv_$dev"
  # Exact KDE of 2000 Fashion-MNIST rows against all 60000 (d = 784): exact_time_s is the
  # device's (or the CPU cores') exact blocks; the sampling estimator stays on the CPU.
  step "kde_fmnist_$dev" 150 "${MPI[@]}" -np $np "$SUBQ" kde --data=fmnist:train --queries=2000 \
      --samples=200 --groups=5 --device=$dev --out="$OUT/kde_fmnist_$dev"
  step "levattn_kv_$dev" 150 "${MPI[@]}" -np $np "$SUBQ" levattn --kv=$KV --scope=one --layer=10 \
      --head=0 --device=$dev --out="$OUT/levattn_kv_$dev"
done

# ---- 6. summary ----------------------------------------------------------------------
{
  echo "# GPU verification $DATE"
  echo
  echo "Made by \`jobs/gpu_verify.sh\` (docs/gpu.md) in $(( $(date +%s) - T_START )) s."
  echo
  echo '```'
  cat "$OUT/machine.txt"
  echo '```'
  echo
  echo "| step | exit code | seconds |"
  echo "| --- | --- | --- |"
  awk -F, '{print "| " $1 " | " $2 " | " $3 " |"}' "$OUT/steps.csv"
  echo
  echo "## GPU tests (CPU vs CUDA agreement)"
  echo '```'
  grep -E "rel err|tests passed|tests failed|Passed|Failed|SKIP|FAIL" "$OUT/tests_cuda.txt" 2>/dev/null | head -80
  echo '```'
  echo
  echo "## Leverage scores (subq_bench_levscores, n = $LN, d = 64)"
  echo '```'
  cat "$OUT/bench_lev_cuda.txt" "$OUT/bench_lev_cpu.txt" 2>/dev/null | grep -v '^\s*$' | head -30
  echo '```'
  echo
  echo "## Polysketch attention on the KV dump (errors must agree between devices)"
  echo '```'
  for dev in cuda cpu; do
    f="$OUT/polysketch_kv_$dev/summary.json"
    [ -f "$f" ] && python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(sys.argv[2], {k: s.get(k) for k in ('rel_err_vs_poly','rel_err_vs_softmax','time_sketch_s','time_exact_poly_s','time_exact_softmax_s','speedup_vs_softmax')})" "$f" "$dev"
  done
  echo '```'
  echo
  echo "## PolarQuant (subq_bench_polarquant: GPU polarquant vs CPU fp32 in one process; then CPU only)"
  for f in "$OUT/bench_polarquant_cuda.csv" "$OUT/bench_polarquant_cpu.csv"; do
    [ -f "$f" ] || continue
    echo
    echo "$(basename "$f"):"
    echo '```'
    cut -d, -f1-7,11,14 "$f"
    echo '```'
  done
  echo
  echo "## PolarQuant, KDE and LevAttention jobs (figures must agree between devices)"
  echo '```'
  for dev in cuda cpu; do
    for j in polarquant_kv kde_fmnist levattn_kv; do
      f="$OUT/${j}_$dev/summary.json"
      [ -f "$f" ] && python3 -c "
import json, sys
s = json.load(open(sys.argv[1]))
keys = [k for k in s if k in ('device', 'methods', 'phases_s') or
        any(t in k for t in ('rel_err', 'time', 'recall', 'evals'))]
print(sys.argv[2], json.dumps({k: s[k] for k in keys[:16]}))" "$f" "${j}_$dev"
    done
  done
  echo '```'
  echo
  echo "## Polysketch benchmark (bench.csv of each run)"
  for f in "$OUT"/bench_polysketch_*/bench.csv; do
    [ -f "$f" ] || continue
    echo
    echo "$(basename "$(dirname "$f")"):"
    echo '```'
    cat "$f"
    echo '```'
  done
} > "$OUT/README.md"
fails=$(awk -F, '$2 != 0 && $2 != "skipped"' "$OUT/steps.csv" | wc -l)
log "done: $OUT/README.md ($fails failed steps)"
[ "$fails" -eq 0 ]
