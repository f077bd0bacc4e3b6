// fh_mpi_tests: doctest under an MPI launcher (`mpirun -np 2 fh_mpi_tests`). Every rank runs
// every case in the same order (the cases call collectives); the job passes when every rank
// passed. Run with one rank it prints one line and exits 77 (skipped).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "dist/communicator.h"

int main(int argc, char** argv) {
  fh::dist::Communicator& comm = fh::dist::world();
  if (comm.size() < 2) {
    std::printf("fh_mpi_tests: SKIPPED — needs an MPI launcher with at least 2 ranks (mpirun -np 2 fh_mpi_tests)\n");
    comm.finalize();
    return 77;
  }
  doctest::Context context(argc, argv);
  if (!comm.is_root()) context.setOption("minimal", true);  // rank 0 reports in full
  const int rc = context.run();
  double failed = rc != 0 ? 1.0 : 0.0;
  comm.sum(&failed, 1);
  if (comm.is_root() && failed > 0) std::printf("fh_mpi_tests: %g rank(s) failed\n", failed);
  comm.finalize();
  return failed > 0 ? 1 : 0;
}
