# Sourced by the project's scripts: Open MPI as root in containers, oversubscription
# (more ranks than cores), and one thread per rank unless the caller chose otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
# Debian's OpenBLAS (DYNAMIC_ARCH) does not recognise some virtualised AVX-512 CPUs (the
# development VM's Sapphire Rapids reports no model name) and falls back to its SSE3
# "Prescott" kernels: dgemm 8.9 GFLOP/s there against 65 GFLOP/s with the SkylakeX kernels
# (`build/subq info --peak`, 2026-11-29).  Choose the AVX-512 kernels when the CPU has them
# and the caller has not chosen.  OpenBLAS reads this when the library loads, so it has to
# be set in the environment, not by subq itself.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  export OPENBLAS_CORETYPE=SkylakeX
fi
