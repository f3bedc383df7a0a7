# Sourced by the tests/comm scripts: run `subq suite --config=$T/c.ini` at each rank count
# given, expect ROWS rows in results.csv, and check every row of JOB against
# tools/comm_model.py (measured messages and bytes equal the model).  Needs T, MPIEXEC,
# SUBQ_BIN, SUBQ_SOURCE_DIR.  Usage: comm_check NAME JOB ROWS NP...
comm_check() {
  local name=$1 job=$2 want=$3 np rows rc
  shift 3
  for np in "$@"; do
    timeout $((300 * ${SUBQ_TIME_SCALE:-1})) "$MPIEXEC" --oversubscribe -np "$np" "$SUBQ_BIN" suite \
        --config="$T/c.ini" --plots=0 --out="$T/run" > /dev/null 2> "$T/e" \
      || { cat "$T/e"; echo "FAIL: suite at np=$np"; return 1; }
  done
  rows=$(tail -n +2 "$T/run/results.csv" | wc -l)
  [ "$rows" = "$want" ] || { echo "FAIL: $want rows expected, got $rows"; return 1; }
  SUBQ_COMM_MODEL_OUT="$T" python3 "$SUBQ_SOURCE_DIR/tools/comm_model.py" check \
      "$T/run/results.csv" > "$T/out" 2>&1
  rc=$?
  cat "$T/out"
  [ $rc -eq 0 ] && [ "$(grep -c "| $job |.*| yes |" "$T/out")" = "$want" ] \
    || { echo "FAIL: measured != model"; return 1; }
  echo "$name: $want runs match the model"
}
# comm_check at np = 1, 2, 3 (np = 1, 2 under SUBQ_TEST_QUICK, the sanitizer stage), PER
# rows per rank count.  Usage: comm_check_123 NAME JOB PER
comm_check_123() {
  if [ -n "${SUBQ_TEST_QUICK:-}" ]; then
    comm_check "$1" "$2" $((2 * $3)) 1 2
  else
    comm_check "$1" "$2" $((3 * $3)) 1 2 3
  fi
}
