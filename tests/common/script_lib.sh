# Shared by the shell tests (source it after the header comment):
#   ok STATUS TEXT   count a check; a non-zero STATUS prints "FAIL: TEXT" and counts a failure
#   mpi NP ARGS...   mpiexec with a timeout of ${MPI_TIMEOUT:-120} s x ${SUBQ_TIME_SCALE:-1}
#                    (the sanitizer stage sets SUBQ_TIME_SCALE)
#   $T               a temporary directory, removed at exit
#   field FILE KEY   a top-level field of a JSON file (summary.json)
#   finish NAME      print "NAME: N checks, F failures"; the exit status is 0 iff F = 0
set -u
fail=0; n=0
ok() { n=$((n+1)); if [ "$1" -ne 0 ]; then echo "FAIL: $2"; fail=$((fail+1)); fi; }
mpi() { timeout $((${MPI_TIMEOUT:-120} * ${SUBQ_TIME_SCALE:-1})) "$MPIEXEC" --oversubscribe -np "$@"; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
finish() { echo "$1: $n checks, $fail failures"; [ $fail -eq 0 ]; }
