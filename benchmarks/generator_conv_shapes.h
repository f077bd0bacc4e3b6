// The generator's convolutions at the `paper` config (docs/adding-an-op.md), shared by the
// CPU and CUDA conv benchmarks so both measure the same shapes; and small-image layers for
// the CPU's choice of algorithm.
#pragma once

#include <cstdint>

namespace fh::bench {

inline constexpr int64_t kGeneratorConvShapes[][6] = {
    // H, Cin, Cout, kernel, stride, padding
    {256, 6, 32, 7, 1, 3},                                                       // encoder 0
    {256, 32, 128, 3, 2, 1},                                                     // encoder 1
    {128, 128, 512, 3, 2, 1},                                                    // encoder 2
    {64, 3, 128, 3, 1, 1},                                                       // SPADE mlp_shared, sketch label
    {128, 3, 128, 3, 1, 1},   {256, 3, 128, 3, 1, 1},  {64, 512, 128, 3, 1, 1},  // mlp_shared, feature labels
    {128, 128, 128, 3, 1, 1},                           // (also mlp_gamma/beta and the block convs at 128²)
    {256, 32, 128, 3, 1, 1},  {64, 128, 512, 3, 1, 1},  // mlp_gamma/beta
    {256, 128, 32, 3, 1, 1},  {64, 512, 512, 3, 1, 1},  // SPADEResBlock convs
    {256, 32, 32, 3, 1, 1},   {64, 512, 512, 1, 1, 0},  // 1x1 shortcut
    {256, 32, 2, 7, 1, 3},                              // flow head
    {256, 32, 1, 7, 1, 3},                              // weight head
    {256, 32, 3, 7, 1, 3},                              // output conv
};

// 3x3 stride-1 layers where the choice of algorithm is close: the gaze network's later
// stages at `small` (eye crops of 64², batch 2 for the two eyes), where the Winograd weight
// transform is shared by few tiles; the `small` generator's SPADE γ and β convolutions,
// each pair also as the one convolution it runs as (64→2C beside 64→C); and its 16-channel
// layers at 128² (the rule's lower channel bound).
inline constexpr int64_t kSmallImageConvShapes[][6] = {
    // H, Cin, Cout, kernel, stride, padding
    {2, 256, 256, 3, 1, 1},  {4, 128, 128, 3, 1, 1},  {8, 64, 64, 3, 1, 1},    {8, 128, 128, 3, 1, 1},
    {16, 32, 32, 3, 1, 1},   {16, 128, 128, 3, 1, 1}, {16, 256, 256, 3, 1, 1}, {32, 64, 256, 3, 1, 1},
    {32, 64, 512, 3, 1, 1},  {32, 256, 256, 3, 1, 1}, {64, 64, 64, 3, 1, 1},   {64, 64, 128, 3, 1, 1},
    {128, 64, 16, 3, 1, 1},  {128, 64, 32, 3, 1, 1},  {128, 16, 16, 3, 1, 1},  {128, 16, 64, 3, 1, 1},
};

}  // namespace fh::bench
