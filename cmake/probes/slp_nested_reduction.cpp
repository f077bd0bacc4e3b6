// A nested reduction that GCC 12's SLP vectoriser gets wrong with AVX-512 (-O2
// -march=native on an AVX-512 machine returned 16 instead of 9). Exit 0 when the compiler
// computes it correctly. Run at configure time by cmake/FhDependencies.cmake.
#include <cstdio>
#include <vector>

__attribute__((noinline)) double sum_of_squared_products(const std::vector<double>& r) {
  double sum = 0;
  for (size_t a = 0; a < r.size(); ++a)
    for (size_t b = 0; b < r.size(); ++b) sum += (r[a] * r[b]) * (r[a] * r[b]);
  return sum;
}

int main() {
  const std::vector<double> r = {1, 1, 1, 0};
  const double got = sum_of_squared_products(r);
  std::printf("%g\n", got);
  return got == 9.0 ? 0 : 1;
}
