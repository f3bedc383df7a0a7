# Sourced by jobs/*.sbatch and jobs/run_mpirun.sh: hybrid MPI + OpenMP environment and the
# loop over rank counts of one study.  Variables (all optional):
#   SUBQ      the subq binary                       (default build/subq)
#   RESULTS   results root                          (default results)
#   RUN_ID    run id; the same id resumes            (default slurm-$SLURM_JOB_ID, or the host)
#   RANKS     rank counts, e.g. "1 2 4 8"           (default powers of two up to the allocation)
#   LAUNCH    srun | mpirun                          (default srun when SLURM_JOB_ID is set)
#   MPI_HOSTFILE  mpirun only: an Open MPI hostfile for several nodes
# Threads per rank: SLURM_CPUS_PER_TASK (sbatch --cpus-per-task) or OMP_NUM_THREADS.
set -euo pipefail

export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-${OMP_NUM_THREADS:-1}}"
export OPENBLAS_NUM_THREADS="$OMP_NUM_THREADS"      # OpenBLAS (OpenMP flavour) follows OpenMP
export OMP_PLACES="${OMP_PLACES:-cores}" OMP_PROC_BIND="${OMP_PROC_BIND:-close}"
# Slurm >= 22.05: srun does not inherit --cpus-per-task from sbatch unless told.
export SRUN_CPUS_PER_TASK="${SLURM_CPUS_PER_TASK:-$OMP_NUM_THREADS}"
SUBQ="${SUBQ:-build/subq}"
RESULTS="${RESULTS:-results}"
LAUNCH="${LAUNCH:-$([ -n "${SLURM_JOB_ID:-}" ] && echo srun || echo mpirun)}"
RUN_ID="${RUN_ID:-$([ -n "${SLURM_JOB_ID:-}" ] && echo "slurm-$SLURM_JOB_ID" || hostname)}"

# Powers of two up to the allocation's tasks (or the cores here).
default_ranks_() {
  local max="${SLURM_NTASKS:-$(getconf _NPROCESSORS_ONLN)}" p=1 out=""
  while [ "$p" -le "$max" ]; do out="$out $p"; p=$((p * 2)); done
  echo $out
}

launch_() {  # launch_ NRANKS command...
  local np="$1"; shift
  if [ "$LAUNCH" = srun ]; then
    srun --ntasks="$np" --cpus-per-task="$OMP_NUM_THREADS" --cpu-bind=cores "$@"
  else
    # Bind each rank to its cores unless the run is oversubscribed (Open MPI refuses).
    local bind=(--map-by "slot:PE=$OMP_NUM_THREADS" --bind-to core)
    [ $((np * OMP_NUM_THREADS)) -gt "$(getconf _NPROCESSORS_ONLN)" ] && [ -z "${MPI_HOSTFILE:-}" ] && bind=(--bind-to none)
    mpirun --oversubscribe -np "$np" "${bind[@]}" ${MPI_HOSTFILE:+--hostfile "$MPI_HOSTFILE"} "$@"
  fi
}

# describe_machine DIR: date, commit, host, CPU, cores, load, MPI into DIR/machine.txt.
describe_machine() {
  mkdir -p "$1"
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (+ local changes)')"
    echo "host: $(hostname) ($(uname -srm))"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //')"
    echo "cores online: $(getconf _NPROCESSORS_ONLN); load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
    echo "mpi: $(mpirun --version 2>/dev/null | head -n 1)"
    echo "threads per rank: $OMP_NUM_THREADS; launcher: $LAUNCH; slurm job: ${SLURM_JOB_ID:-none} (${SLURM_JOB_NUM_NODES:-1} nodes)"
  } >> "$1/machine.txt"
}

# run_study CONFIG: the suite at every rank count (each resumable), then one report.
run_study() {
  local cfg="$1" study
  study=$(sed -n 's/^[[:space:]]*study[[:space:]]*=[[:space:]]*//p' "$cfg" | head -n 1)
  study="${study:-$(basename "$cfg" .ini)}"
  describe_machine "$RESULTS/$study/$RUN_ID"
  for np in ${RANKS:-$(default_ranks_)}; do
    echo "== $cfg: $np ranks x $OMP_NUM_THREADS threads ($LAUNCH)" >&2
    launch_ "$np" "$SUBQ" suite --config="$cfg" --results="$RESULTS" --run-id="$RUN_ID" --plots=0
  done
  launch_ 1 "$SUBQ" suite --config="$cfg" --results="$RESULTS" --run-id="$RUN_ID" --report-only
}
