// The synthetic-data renderer: frames per second on every thread (frames are rendered in
// parallel, one per thread at a time, as `freehead synth` does), at the sizes the configs
// use. BM_synth_render is pose + rasterise + shade; BM_synth_frame adds the annotation and
// the PNG file, i.e. everything `freehead synth` does per frame; BM_synth_head is the
// per-identity mesh build. The targets are 200 frames/s at 128² and 40 at 256² (2 cores).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "data/dataset_format.h"
#include "data/synth.h"
#include "runtime/thread_pool.h"

namespace {

using namespace fh::data;

constexpr int kFramesPerIteration = 16;

struct Scene {
  HeadMesh mesh;
  ClipScript script;
  BackgroundImage background;
  explicit Scene(int size)
      : mesh(identity_for(1, 0)), script(1, 0, 0, kFramesPerIteration),
        background(draw_background(script.background(), size)) {}
};

void set_frame_rate(benchmark::State& state, int64_t frames) {
  state.counters["frames/s"] = benchmark::Counter(static_cast<double>(frames), benchmark::Counter::kIsRate);
  state.counters["threads"] = fh::num_threads();
}

// Arg: image size S.
void BM_synth_render(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  const Scene scene(size);
  int64_t frames = 0;
  for (auto _ : state) {
    fh::parallel_for(kFramesPerIteration, 1, [&](int64_t b, int64_t e) {
      Renderer renderer(2);
      PosedHead head;
      fh::Image image;
      for (int64_t t = b; t < e; ++t) {
        pose_head(scene.mesh, scene.script.frame(static_cast<int>(t)), head);
        renderer.render(head, scene.background, image);
        benchmark::DoNotOptimize(image.pixels.data());
      }
    });
    frames += kFramesPerIteration;
  }
  set_frame_rate(state, frames);
}

// Arg: image size S. Render, annotate and write the PNG (to a temporary folder).
void BM_synth_frame(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  const Scene scene(size);
  const auto dir = std::filesystem::temp_directory_path() / ("fh-bench-synth-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  int64_t frames = 0;
  for (auto _ : state) {
    fh::parallel_for(kFramesPerIteration, 1, [&](int64_t b, int64_t e) {
      Renderer renderer(2);
      for (int64_t t = b; t < e; ++t) {
        const RenderedFrame f = render_frame(scene.mesh, scene.script.frame(static_cast<int>(t)), scene.background, renderer);
        fh::write_png((dir / frame_filename(static_cast<int>(t))).string(), f.image);
      }
    });
    frames += kFramesPerIteration;
  }
  std::filesystem::remove_all(dir);
  set_frame_rate(state, frames);
}

void BM_synth_head(benchmark::State& state) {
  int identity = 0;
  int64_t vertices = 0, triangles = 0;
  for (auto _ : state) {
    HeadMesh mesh(identity_for(1, identity++ % 16));
    benchmark::DoNotOptimize(mesh.rest.data());
    vertices = mesh.num_vertices, triangles = static_cast<int64_t>(mesh.triangles.size());
  }
  // The mesh's size (the same for every identity), so results can say what was built.
  state.counters["vertices"] = static_cast<double>(vertices);
  state.counters["triangles"] = static_cast<double>(triangles);
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(64)->Arg(128)->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_synth_render)->Apply(sizes);
BENCHMARK(BM_synth_frame)->Apply(sizes);
BENCHMARK(BM_synth_head)->Unit(benchmark::kMillisecond)->UseRealTime();
