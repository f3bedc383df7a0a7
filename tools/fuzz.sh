#!/usr/bin/env bash
# Build the libFuzzer harnesses (fuzz/, -DSUBQ_FUZZ=ON with clang) and run each for a
# bounded time.  Usage:
#   tools/fuzz.sh [SECONDS] [--record] [fuzzer ...]
# SECONDS per fuzzer (default 20: the CI smoke run); --record writes the figures
# (executions, execs/s, crashes, corpus size, coverage) to results/fuzz/<fuzzer>.txt and
# a table to results/fuzz/summary.md.  The working corpus lives in
# ${FUZZ_BUILD_DIR:-build-fuzz}/corpus/<fuzzer>, seeded from tests/bad-inputs/files and
# the committed KV dump; crashing inputs are saved in .../artifacts/.  Exit status 1 when
# any fuzzer found a crash, leak, UB or timeout.
set -uo pipefail
cd "$(dirname "$0")/.."
SECS=20 RECORD=0 LIST=()
for a in "$@"; do
  case "$a" in
    --record) RECORD=1 ;;
    [0-9]*) SECS=$a ;;
    *) LIST+=("$a") ;;
  esac
done
[ ${#LIST[@]} -gt 0 ] || LIST=(fuzz_npy fuzz_idx fuzz_csv fuzz_ini fuzz_kv_meta)
B="${FUZZ_BUILD_DIR:-build-fuzz}"
CC_FUZZ="${CC_FUZZ:-$(command -v clang || command -v clang-14 || true)}"
if [ -z "$CC_FUZZ" ]; then
  echo "fuzz: clang not found (tools/setup.sh installs clang and libclang-rt-14-dev)" >&2
  exit 2
fi
mkdir -p "$B"
CC="$CC_FUZZ" cmake -S . -B "$B" -DSUBQ_FUZZ=ON -DSUBQ_TESTS=OFF > "$B.cmake.log" 2>&1 \
  || { cat "$B.cmake.log"; exit 2; }
cmake --build "$B" -j 2 --target fuzzers > "$B/build.log" 2>&1 || { cat "$B/build.log"; exit 2; }

F=tests/bad-inputs/files
seeds() { # fuzzer -> seed files
  case "$1" in
    fuzz_npy) ls $F/npy/*.npy $F/kv/ok/*.npy ;;
    fuzz_idx) ls $F/idx/* ;;
    fuzz_csv) ls $F/csv/* ;;
    fuzz_ini) ls $F/ini/* configs/*.ini ;;
    fuzz_kv_meta) ls $F/kv/*/meta.json data/kv/*/meta.json ;;
  esac
}
dict() {
  case "$1" in
    fuzz_npy) echo fuzz/dict/npy.dict ;; fuzz_idx) echo fuzz/dict/idx.dict ;;
    fuzz_csv) echo fuzz/dict/csv.dict ;; fuzz_ini) echo fuzz/dict/ini.dict ;;
    fuzz_kv_meta) echo fuzz/dict/json.dict ;;
  esac
}
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
bad=0
[ $RECORD -eq 1 ] && mkdir -p results/fuzz
for fz in "${LIST[@]}"; do
  corpus="$B/corpus/$fz" art="$B/artifacts"
  mkdir -p "$corpus" "$art"
  [ -n "$(ls -A "$corpus")" ] || cp $(seeds "$fz") "$corpus/" 2>/dev/null
  log="$B/$fz.log"
  t0=$(date +%s)
  "$B/fuzz/$fz" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -dict="$(dict "$fz")" -artifact_prefix="$art/$fz-" -print_final_stats=1 \
    -close_fd_mask=3 "$corpus" > "$log" 2>&1
  rc=$?
  t=$(( $(date +%s) - t0 ))
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  runs=${runs:-0}
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  ncorp=$(ls "$corpus" | wc -l)
  crashes=$(ls "$art" 2>/dev/null | grep -c "^$fz-" || true)
  [ $rc -ne 0 ] && crashes=$((crashes > 0 ? crashes : 1))
  rate=$(( t > 0 ? runs / t : runs ))
  line="$fz: ${t} s, $runs executions, $rate execs/s, coverage ${cov:-?} edges, corpus $ncorp, crashes $crashes (rc $rc)"
  echo "$line"
  if [ $rc -ne 0 ]; then
    bad=1
    grep -E "ERROR|runtime error|SUMMARY|Test unit written" "$log" | head -8
  fi
  if [ $RECORD -eq 1 ]; then
    { echo "$line"; echo "date: $(date -u +%FT%TZ)  host: $(uname -n)  $("$CC_FUZZ" --version | head -1)";
      echo "seeds: $(seeds "$fz" | wc -l) files; dictionary $(dict "$fz")"; } > "results/fuzz/$fz.txt"
  fi
done
if [ $RECORD -eq 1 ]; then
  { echo "# Fuzzing runs (tools/fuzz.sh SECONDS --record; one line per fuzzer, its last recorded run)"; echo;
    echo "| fuzzer | seconds | executions | execs/s | coverage (edges) | corpus | crashes |";
    echo "| --- | --- | --- | --- | --- | --- | --- |";
    for t in results/fuzz/fuzz_*.txt; do
      sed -nE '1s/^([a-z_]+): ([0-9]+) s, ([0-9]+) executions, ([0-9]+) execs\/s, coverage ([0-9?]+) edges, corpus ([0-9]+), crashes ([0-9]+).*/| \1 | \2 | \3 | \4 | \5 | \6 | \7 |/p' "$t"
    done; } > results/fuzz/summary.md
fi
exit $bad
