// Data-parallel training's view of the other processes: a communicator of K ranks that can
// sum buffers, broadcast bytes and end the whole job. One rank (`local()`) is the trivial
// case every single-process run uses; MPI's world (dist/mpi_communicator.cpp, the only file
// that includes mpi.h) is the other, used when an MPI launcher started the process.
//
// Every collective must be called by every rank in the same order with the same sizes.
// Sums are deterministic: element i of the result is the ranks' values added in rank order
// 0, 1, …, K−1 (in double precision, rounded once), whatever the timing or the network, so
// the same inputs give the same bits on every rank and on every run.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace fh::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // How buffers travel, for the start-of-run line ("one process", "MPI: Open MPI v4.1.4 …").
  virtual std::string transport() const = 0;

  // data[i] ← scale · Σ_ranks data[i], on every rank (host memory).
  virtual void sum(float* data, int64_t n, double scale = 1.0) = 0;
  virtual void sum(double* data, int64_t n, double scale = 1.0) = 0;
  // Rank `root`'s `bytes` bytes at `data` replace every other rank's.
  virtual void broadcast(void* data, int64_t bytes, int root) = 0;
  // Ends every rank of the job after printing `message` (this rank's error) to stderr; exit
  // status `code`. Never returns.
  [[noreturn]] void abort(const std::string& message, int code);
  // Leaves the job cleanly (every rank calls it once, at the end).
  virtual void finalize() {}

  bool is_root() const { return rank() == 0; }

 protected:
  // The transport's way to end the job (abort() ends this process if it returns).
  virtual void abort_job(const std::string& message, int code) = 0;
};

// The one-rank communicator: sums scale in place, broadcasts do nothing.
Communicator& local();

// The process's communicator: MPI's world when an MPI launcher started this process
// (`mpirun -np K …`, Slurm's srun), else local(). The first call initialises MPI. A process
// started by a launcher with K > 1 ranks in a build without MPI is an error naming the build
// option: each rank would otherwise train alone.
Communicator& world();

// Ranks of the job as the launcher's environment states them (1 when there is none), and
// this process's rank among those on its machine (0 when there is none): `--device cuda`
// without an index picks GPU local_rank on each machine.
int launcher_world_size();
int launcher_local_rank();

// Whether this build has the MPI transport (FH_MPI at configure time).
bool mpi_built();

// The MPI transport (dist/mpi_communicator.cpp); an error in a build without MPI.
std::unique_ptr<Communicator> make_mpi_communicator();

}  // namespace fh::dist
