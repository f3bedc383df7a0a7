#!/bin/bash
# The mpirun equivalent of jobs/<study>.sbatch for machines without Slurm:
#   jobs/run_mpirun.sh levscores-strong            # configs/studies/levscores-strong.ini
#   RANKS="1 2 4" OMP_NUM_THREADS=2 jobs/run_mpirun.sh configs/studies/polysketch-weak.ini
# Same variables as jobs/common.sh (SUBQ, RESULTS, RUN_ID, RANKS).
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: $0 STUDY|CONFIG.ini" >&2; exit 2; }
cfg="$1"; [ -f "$cfg" ] || cfg="configs/studies/$1.ini"
[ -f "$cfg" ] || { echo "run_mpirun.sh: no study '$1'" >&2; exit 2; }
[ -f tools/env.sh ] && source tools/env.sh   # Open MPI as root in containers, oversubscription
LAUNCH=mpirun
source jobs/common.sh
run_study "$cfg"
