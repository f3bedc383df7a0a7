#!/usr/bin/env bash
# jobs/*.sbatch and jobs/run_mpirun.sh on this machine: stand-in `sbatch` (runs the script
# with the SLURM_* variables Slurm would set) and `srun` (maps --ntasks to mpirun -np), so
# the scripts cannot rot.  Each study's real config is checked (every entry's options
# against its job, nothing run); the runs use a tiny config (STUDY_CONFIG) at RANKS="1 2".
. "$(dirname "$0")/../common/script_lib.sh"
mkdir -p "$T/bin"
cat > "$T/bin/srun" <<SH
#!/usr/bin/env bash
np=1; args=()
while [ \$# -gt 0 ]; do
  case "\$1" in
    --ntasks=*) np="\${1#--ntasks=}";; -n) np="\$2"; shift;;
    --cpus-per-task=*|--cpu-bind=*) ;;
    *) args=("\$@"); break;;
  esac; shift
done
echo "srun: -n \$np (OMP_NUM_THREADS=\$OMP_NUM_THREADS SRUN_CPUS_PER_TASK=\$SRUN_CPUS_PER_TASK OMP_PLACES=\$OMP_PLACES OMP_PROC_BIND=\$OMP_PROC_BIND)" >> "$T/srun.log"
exec timeout 120 "$MPIEXEC" --oversubscribe -np "\$np" "\${args[@]}"
SH
cat > "$T/bin/sbatch" <<SH
#!/usr/bin/env bash
grep -q '^#SBATCH --ntasks-per-node=' "\$1" && grep -q '^#SBATCH --cpus-per-task=' "\$1" || exit 3
SLURM_JOB_ID=4242 SLURM_NTASKS=2 SLURM_CPUS_PER_TASK=1 SLURM_SUBMIT_DIR="$SUBQ_SOURCE_DIR" bash "\$1"
SH
chmod +x "$T/bin/srun" "$T/bin/sbatch"
cat > "$T/tiny.ini" <<'INI'
[suite]
jobs = tiny, tinyp
[sweep.tiny]
job = levscores
data = synthetic:gauss:${200*ranks},5
method = qr | gram
plot.scaling = weak
plot.time = time_s
[sweep.tinyp]
job = polysketch
n = 256
d = 8
r = 4 | 8
block = 64
plot.scaling = strong
plot.time = time_sketch_s
plot.error = rel_err_vs_poly
INI
# SUBQ_TEST_QUICK (the sanitizer stage): each sbatch script at 2 ranks only (every script
# still runs; run_mpirun.sh below keeps 1 and 3).
RANKS="1 2"; [ -n "${SUBQ_TEST_QUICK:-}" ] && RANKS=2
rows=$(( 4 * $(echo $RANKS | wc -w) ))
export SUBQ="$SUBQ_BIN" RANKS STUDY_CONFIG="$T/tiny.ini"
for s in "$SUBQ_SOURCE_DIR"/jobs/*.sbatch; do
  b=$(basename "$s" .sbatch)
  "$SUBQ_BIN" suite --config="$SUBQ_SOURCE_DIR/configs/studies/$b.ini" --report-only --plots=0 \
      --out="$T/check-$b" > "$T/e" 2>&1
  ok $? "configs/studies/$b.ini: every entry's options are valid"
  ( cd "$T" && RESULTS="$T/res-$b" PATH="$T/bin:$PATH" sbatch "$s" ) > "$T/$b.log" 2>&1
  ok $? "sbatch $b exits 0"
  csv="$T/res-$b/tiny/slurm-4242/results.csv"
  [ -f "$csv" ] && [ "$(tail -n +2 "$csv" | wc -l)" = $rows ]; ok $? "$b: results.csv has $rows rows (2 sweeps x 2 values x np $RANKS)"
done
grep -q "srun: -n 2 (OMP_NUM_THREADS=1 SRUN_CPUS_PER_TASK=1 OMP_PLACES=cores OMP_PROC_BIND=close)" "$T/srun.log"
ok $? "srun gets 2 tasks with the OpenMP placement variables"
RANKS="1 3" RESULTS="$T/res-mpirun" RUN_ID=m "$SUBQ_SOURCE_DIR/jobs/run_mpirun.sh" "$T/tiny.ini" > "$T/m.log" 2>&1
ok $? "jobs/run_mpirun.sh exits 0"
[ "$(tail -n +2 "$T/res-mpirun/tiny/m/results.csv" | wc -l)" = 8 ]; ok $? "run_mpirun.sh: 8 rows"
python3 - "$T/res-mpirun/tiny/m/results.csv" "$(getconf _NPROCESSORS_ONLN)" <<'PY'; ok $? "oversubscribed column: 1 exactly where ranks > cores"
import csv, sys
cores = int(sys.argv[2])
for r in csv.DictReader(open(sys.argv[1])):
    assert int(r["oversubscribed"]) == (int(r["ranks"]) * int(r["threads"]) > cores), r
PY
if command -v gnuplot > /dev/null; then
  for p in tiny-weak tinyp-strong tinyp-error-vs-cost; do
    [ -s "$T/res-mpirun/tiny/m/plots/$p.png" ]; ok $? "plot $p.png"
  done
  grep -q "oversubscribed" "$T/res-mpirun/tiny/m/plots/tinyp-strong.gp" || [ "$(getconf _NPROCESSORS_ONLN)" -ge 3 ]
  ok $? "3 ranks on fewer cores: oversubscribed runs are marked in the plot"
fi
finish test_slurm_scripts
