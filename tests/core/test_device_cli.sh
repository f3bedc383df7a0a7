#!/usr/bin/env bash
# --device as a user meets it.  Without a CUDA device (every CI machine, with or without
# -DSUBQ_CUDA=ON): --device=cuda fails on every rank with a message naming the option and
# leaves nothing in --out; --device=auto runs on the cpu after a one-line notice and
# summary.json says "device": "cpu"; a bad value names the choices.  With a device (a GPU
# machine): --device=cuda runs and summary.json says "device": "cuda".
. "$(dirname "$0")/../common/script_lib.sh"

"$SUBQ_BIN" info > "$T/info" 2>&1; ok $? "subq info exits 0"
grep -q "CUDA " "$T/info"; ok $? "subq info has a CUDA line"
ndev=$(sed -n 's/.*rank 0 on .*: [0-9]* threads, \([0-9]*\) CUDA devices.*/\1/p' "$T/info")
[ -n "$ndev" ]; ok $? "subq info gives rank 0's CUDA device count"
echo "CUDA devices visible: ${ndev:-?} ($(grep 'CUDA ' "$T/info" | head -1 | sed 's/^ *CUDA *//'))"

mpi 2 "$SUBQ_BIN" levscores --data=synthetic:gauss:200,5 --device=gpu --out="$T/b" > "$T/e" 2>&1
[ $? -ne 0 ]; ok $? "--device=gpu exits non-zero"
grep -q "cpu|cuda|auto" "$T/e"; ok $? "--device=gpu: message names the choices"

for job in "levscores --data=synthetic:gauss:200,5 --method=gram" "polysketch --n=300 --d=8 --r=4 --block=32"; do
  name=${job%% *}
  if [ "${ndev:-0}" -eq 0 ]; then
    start=$(date +%s)
    mpi 2 "$SUBQ_BIN" $job --device=cuda --out="$T/c_$name" > "$T/e" 2>&1
    rc=$?
    [ $rc -ne 0 ] && [ $rc -ne 124 ]; ok $? "$name --device=cuda without a device: non-zero exit, no hang (rc=$rc)"
    [ $(( $(date +%s) - start )) -lt 60 ]; ok $? "$name --device=cuda: exits within seconds"
    [ "$(grep -c -- '--device=cuda but no CUDA device is visible' "$T/e")" -eq 2 ]
    ok $? "$name --device=cuda: both ranks print the error"
    [ -z "$(ls -A "$T/c_$name" 2>/dev/null)" ]; ok $? "$name --device=cuda: nothing left in --out"
    mpi 2 "$SUBQ_BIN" $job --device=auto --out="$T/a_$name" > "$T/e" 2>&1
    ok $? "$name --device=auto without a device exits 0"
    [ "$(grep -c 'running on cpu' "$T/e")" -eq 1 ]; ok $? "$name --device=auto: one notice line"
    [ "$(field "$T/a_$name/summary.json" device)" = cpu ]; ok $? "$name --device=auto: summary device cpu"
  else
    mpi 2 "$SUBQ_BIN" $job --device=cuda --out="$T/c_$name" > "$T/e" 2>&1
    ok $? "$name --device=cuda with a device exits 0"
    [ "$(field "$T/c_$name/summary.json" device)" = cuda ]; ok $? "$name --device=cuda: summary device cuda"
  fi
done

finish test_device_cli
