// The MPI transport: MPI's world communicator on host buffers. The only file that includes
// mpi.h. A sum is a reduce-scatter then an all-gather: the buffer is cut into K chunks,
// rank j receives every rank's chunk j (MPI_Alltoallv), adds them in rank order in double
// precision and sends the result to all (MPI_Allgatherv). Each rank moves about 2·(K−1)/K of
// the buffer, as a ring all-reduce does, and the order of every addition is fixed by rank
// numbers alone, so the result does not depend on timing (MPI_Allreduce leaves the order to
// the library). Buffers go in buckets of at most kBucket values, which bounds the staging
// memory and keeps MPI's int counts in range.
// MPI's C API only (its deprecated C++ bindings warn under -Wextra).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "dist/communicator.h"
#include "runtime/error.h"

namespace fh::dist {

namespace {

constexpr int64_t kBucket = int64_t{1} << 22;  // values per bucket (16 MiB of float)

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  FH_FAIL("distributed", what, " failed: ", std::string(text, static_cast<size_t>(len)));
}

template <typename T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
      int provided = 0;
      // Only the main thread calls MPI (the loader's and the pool's threads never do).
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    library_.assign(version, static_cast<size_t>(len));
    library_ = library_.substr(0, library_.find_first_of("\n,"));
  }
  ~MpiCommunicator() override { finalize(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string transport() const override { return "MPI (" + library_ + "), host buffers"; }

  void sum(float* data, int64_t n, double scale) override { fixed_order_sum(data, n, scale); }
  void sum(double* data, int64_t n, double scale) override { fixed_order_sum(data, n, scale); }

  void broadcast(void* data, int64_t bytes, int root) override {
    FH_CHECK(root >= 0 && root < size_, "broadcast", "root ", root, " is not a rank of ", size_);
    auto* p = static_cast<char*>(data);
    for (int64_t off = 0; off < bytes; off += kBucket) {
      const int len = static_cast<int>(std::min<int64_t>(kBucket, bytes - off));
      check(MPI_Bcast(p + off, len, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }

  void abort_job(const std::string& message, int code) override {
    std::fprintf(stderr, "rank %d of %d: %s\n", rank_, size_, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);  // does not return; if it did, abort() still ends this rank
  }

  void finalize() override {
    int initialised = 0, finalised = 0;
    MPI_Initialized(&initialised);
    MPI_Finalized(&finalised);
    if (initialised && !finalised) MPI_Finalize();
  }

 private:
  template <typename T>
  void fixed_order_sum(T* data, int64_t n, double scale) {
    FH_CHECK(n >= 0, "distributed sum", "negative length ", n);
    const MPI_Datatype type = mpi_type<T>();
    std::vector<int> counts(static_cast<size_t>(size_)), displs(counts.size()), recv_counts(counts.size()),
        recv_displs(counts.size());
    for (int64_t off = 0; off < n; off += kBucket) {
      const int64_t len = std::min<int64_t>(kBucket, n - off);
      for (int j = 0; j < size_; ++j) {
        displs[j] = static_cast<int>(len * j / size_);
        counts[j] = static_cast<int>(len * (j + 1) / size_) - displs[j];
      }
      const int mine = counts[static_cast<size_t>(rank_)];
      for (int r = 0; r < size_; ++r) {
        recv_counts[r] = mine;
        recv_displs[r] = r * mine;
      }
      staging_.resize(static_cast<size_t>(size_) * static_cast<size_t>(mine) * sizeof(T));
      T* recv = reinterpret_cast<T*>(staging_.data());
      T* bucket = data + off;
      check(MPI_Alltoallv(bucket, counts.data(), displs.data(), type, recv, recv_counts.data(), recv_displs.data(),
                          type, MPI_COMM_WORLD),
            "MPI_Alltoallv");
      T* out = bucket + displs[static_cast<size_t>(rank_)];
      for (int i = 0; i < mine; ++i) {
        double acc = static_cast<double>(recv[i]);
        for (int r = 1; r < size_; ++r) acc += static_cast<double>(recv[static_cast<size_t>(r) * mine + i]);
        out[i] = static_cast<T>(scale * acc);
      }
      check(MPI_Allgatherv(MPI_IN_PLACE, 0, type, bucket, counts.data(), displs.data(), type, MPI_COMM_WORLD),
            "MPI_Allgatherv");
    }
  }

  int rank_ = 0, size_ = 1;
  std::string library_;
  std::vector<char> staging_;
};

}  // namespace

bool mpi_built() { return true; }

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

}  // namespace fh::dist
