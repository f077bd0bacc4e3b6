// The CUDA convolution backend knob (kernels/conv_backend.h): names, parsing, scopes.
#include <doctest/doctest.h>

#include "kernels/conv_backend.h"
#include "runtime/error.h"

using fh::kernels::ConvBackend;
namespace k = fh::kernels;

TEST_CASE("conv backend names parse back to themselves") {
  for (ConvBackend b : {ConvBackend::Own, ConvBackend::OwnTensorCores, ConvBackend::Cudnn, ConvBackend::CudnnTensorCores})
    CHECK(k::parse_conv_backend(k::conv_backend_name(b), "test") == b);
  CHECK(std::string(k::conv_backend_name(ConvBackend::OwnTensorCores)) == "own-tc");
}

TEST_CASE("an unknown conv backend is an error naming its source and the choices") {
  CHECK_THROWS_WITH_AS(k::parse_conv_backend("fast", "FH_CONV"),
                       doctest::Contains("FH_CONV: unknown convolution backend 'fast'; choices: own, own-tc, cudnn"),
                       fh::Error);
  CHECK_THROWS_AS(k::parse_conv_backend("", "FH_CONV"), fh::Error);
  CHECK_THROWS_AS(k::parse_conv_backend("OWN", "FH_CONV"), fh::Error);
}

TEST_CASE("a conv backend scope sets and restores the choice") {
  const ConvBackend before = k::conv_backend();
  const std::string source = k::conv_backend_source();
  {
    k::ConvBackendScope outer(ConvBackend::OwnTensorCores);
    CHECK(k::conv_backend() == ConvBackend::OwnTensorCores);
    CHECK(k::conv_backend_source() == "set_conv_backend(own-tc)");
    {
      k::ConvBackendScope inner(ConvBackend::Own);
      CHECK(k::conv_backend() == ConvBackend::Own);
    }
    CHECK(k::conv_backend() == ConvBackend::OwnTensorCores);
  }
  CHECK(k::conv_backend() == before);
  CHECK(k::conv_backend_source() == source);
}

TEST_CASE("cuDNN backends are available exactly when the build has cuDNN") {
  CHECK(k::conv_backend_available(ConvBackend::Own));
  CHECK(k::conv_backend_available(ConvBackend::OwnTensorCores));
  CHECK(k::conv_backend_available(ConvBackend::Cudnn) == bool(FH_WITH_CUDNN));
  if (!FH_WITH_CUDNN) CHECK_THROWS_AS(k::ConvBackendScope(ConvBackend::Cudnn), fh::Error);
}
