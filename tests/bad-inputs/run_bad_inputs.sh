#!/usr/bin/env bash
# The bad-input corpus (manifest.tsv) at one rank count: run_bad_inputs.sh NP [CASE_REGEX].
# For every case: subq under `timeout` (np = 1 as a singleton, np > 1 under mpirun) must
# exit non-zero (not by a signal, not by the timeout), every rank must print its
# "subq <job>: error (rank R): ..." line holding the expected substring (the file or
# option and the problem), no sanitizer report or crash, and nothing may be left in --out.
# Positive controls (rule ok) must succeed.  Needs SUBQ_BIN and MPIEXEC (set by ctest).
set -u
NP=${1:?usage: run_bad_inputs.sh NP [CASE_REGEX]}
FILTER=${2:-.}
HERE=$(cd "$(dirname "$0")" && pwd)
F="$HERE/files"
MPIEXEC=${MPIEXEC:-mpiexec}
# Slower builds (sanitizers) scale the limits: SUBQ_TIME_SCALE=4 tools/run_sanitizers.sh.
S=${SUBQ_TIME_SCALE:-1}
# SUBQ_BAD_INPUTS_STRIDE=K runs every K-th case only (the sanitizer stage: each sanitized
# MPI launch costs seconds).
STRIDE=${SUBQ_BAD_INPUTS_STRIDE:-1}
# Open MPI waits 1 s before killing the other ranks of a failed job; they exit anyway.
export OMPI_MCA_odls_base_sigkill_timeout=0
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
ulimit -c 0
fail=0; n=0; t_start=$(date +%s)
bad() { echo "FAIL [$case np=$NP]: $*"; sed 's/^/    | /' "$T/log" | head -20; fail=$((fail+1)); }

while IFS=$'\t' read -r case rule expect args; do
  case "$case" in ''|'#'*) continue ;; esac
  [[ "$case" =~ $FILTER ]] || continue
  k=$(( ${k:--1} + 1 ))
  [ $((k % STRIDE)) -eq 0 ] || continue
  n=$((n+1))
  args=${args//@F@/$F}
  expect=${expect//@F@/$F}
  read -ra argv <<< "$args"
  out="$T/out-$case"
  [[ "$args" == *--out=* ]] || argv+=("--out=$out")
  t0=$(date +%s)
  if [ "$NP" -eq 1 ]; then
    timeout $((30 * S)) "$SUBQ_BIN" "${argv[@]}" < /dev/null > "$T/log" 2>&1
  else
    timeout $((30 * S)) "$MPIEXEC" --oversubscribe -np "$NP" "$SUBQ_BIN" "${argv[@]}" < /dev/null > "$T/log" 2>&1
  fi
  rc=$?
  dt=$(( $(date +%s) - t0 ))
  if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault|core dumped|exited on signal|MPI_ABORT" "$T/log"; then
    bad "crash or sanitizer report (rc=$rc)"; continue
  fi
  if [ "$rule" = ok ]; then
    [ $rc -eq 0 ] || bad "positive control exited $rc"
    [ -f "$out/summary.json" ] || bad "positive control wrote no summary.json"
    continue
  fi
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then bad "timed out (hang?)"; continue; fi
  if [ $rc -eq 0 ]; then bad "exited 0"; continue; fi
  if [ $rc -ge 128 ]; then bad "killed by a signal (rc=$rc)"; continue; fi
  [ $dt -le $((15 * S)) ] || bad "took $dt s to fail"
  for ((r = 0; r < NP; r++)); do
    grep -F "error (rank $r): " "$T/log" | grep -qF -- "$expect" \
      || { bad "rank $r did not print: $expect"; break; }
  done
  if [ -e "$out" ]; then
    if [ "$rule" = suite ]; then
      left=$(find "$out" \( -name '.stage-*' -o -name '*.tmp.*' \) -print; \
             [ -e "$out/summary.json" ] && echo "$out/summary.json")
    else
      left=$(find "$out" -mindepth 1 -print)
    fi
    [ -z "$left" ] || bad "left in --out: $(echo $left | head -c 300)"
  fi
done < "$HERE/manifest.tsv"
echo "bad inputs at np=$NP: $((n-fail)) of $n cases passed in $(( $(date +%s) - t_start )) s"
[ $n -gt 0 ] && [ $fail -eq 0 ]
