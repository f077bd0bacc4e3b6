#include "dist/communicator.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "runtime/error.h"

namespace fh::dist {

namespace {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string transport() const override { return "one process"; }
  void sum(float* data, int64_t n, double scale) override {
    if (scale == 1.0) return;
    for (int64_t i = 0; i < n; ++i) data[i] = static_cast<float>(scale * static_cast<double>(data[i]));
  }
  void sum(double* data, int64_t n, double scale) override {
    if (scale == 1.0) return;
    for (int64_t i = 0; i < n; ++i) data[i] *= scale;
  }
  void broadcast(void*, int64_t, int root) override {
    FH_CHECK(root == 0, "broadcast", "root ", root, " is not a rank of a one-process job");
  }
  void abort_job(const std::string& message, int) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
  }
};

// The size an MPI launcher announces in the environment: Open MPI, then PMI (MPICH, Slurm).
int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return 0;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return (*end == '\0' && x > 0 && x < (1 << 24)) ? static_cast<int>(x) : 0;
}

}  // namespace

void Communicator::abort(const std::string& message, int code) {
  abort_job(message, code);
  std::_Exit(code);
}

Communicator& local() {
  static LocalCommunicator c;
  return c;
}

int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const int k = env_int(name)) return k;
  return 1;
}

int launcher_local_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"}) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') continue;
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    if (*end == '\0' && x >= 0 && x < (1 << 24)) return static_cast<int>(x);
  }
  return 0;
}

Communicator& world() {
  static std::once_flag once;
  static std::unique_ptr<Communicator> mpi;
  static bool use_mpi = false;
  std::call_once(once, [] {
    const int k = launcher_world_size();
    const bool launched = k > 1 || std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_RANK") != nullptr;
    if (!launched) return;
    FH_CHECK(mpi_built() || k == 1, "distributed",
             "an MPI launcher started this process as one of ", k,
             " ranks, but this freehead was built without MPI (configure with -DFH_MPI=ON and the Debian packages "
             "libopenmpi-dev openmpi-bin); each rank would train alone");
    if (!mpi_built()) return;
    mpi = make_mpi_communicator();
    use_mpi = true;
  });
  return use_mpi ? *mpi : local();
}

}  // namespace fh::dist
