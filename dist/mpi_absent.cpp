// The MPI transport in a build without MPI (FH_MPI=OFF, or MPI not found at configure time).
#include "dist/communicator.h"
#include "runtime/error.h"

namespace fh::dist {

bool mpi_built() { return false; }

std::unique_ptr<Communicator> make_mpi_communicator() {
  FH_FAIL("distributed", "this freehead was built without MPI (configure with -DFH_MPI=ON and the Debian packages "
                         "libopenmpi-dev openmpi-bin)");
}

}  // namespace fh::dist
