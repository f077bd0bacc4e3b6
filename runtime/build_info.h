// What this binary is: version, the commit it was built from, and its build options.
#pragma once

namespace fh {
const char* version();
const char* git_commit();     // short hash, "-dirty" when built from modified sources
const char* build_options();  // "build=Release, native=ON, cuda=ON, ..."
}  // namespace fh
