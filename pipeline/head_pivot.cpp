#include "pipeline/head_pivot.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "data/loader.h"
#include "io/image_io.h"
#include "pipeline/image_prep.h"
#include "runtime/error.h"

namespace fh::pipeline {

HeadPivotFit fit_head_pivot(const std::vector<PivotObservation>& observations) {
  const auto n = static_cast<Eigen::Index>(observations.size());
  FH_CHECK(n >= 2, "head pivot", "needs at least 2 frames, got ", n);
  Eigen::MatrixXd A(2 * n, 3);
  Eigen::VectorXd b(2 * n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const PivotObservation& o = observations[static_cast<size_t>(i)];
    A.middleRows(2 * i, 2) = o.scale * o.rotation.topRows(2);
    b.segment(2 * i, 2) = o.pivot_xy - o.translation.head(2);
  }
  // The two image rows of R are orthogonal to the view axis: frames that all look the same way
  // (one rotation) leave c's depth free. Refuse rather than return an arbitrary depth.
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(A);
  const Eigen::Vector3d sv = svd.singularValues();
  FH_CHECK(sv(2) > 1e-3 * sv(0), "head pivot", "the ", n,
           " frames' head rotations do not vary enough to place the pivot in depth (singular values ",
           sv(0), ", ", sv(1), ", ", sv(2), "): use frames with different poses");
  HeadPivotFit fit;
  fit.pivot = A.colPivHouseholderQr().solve(b);
  fit.observations = static_cast<int>(n);
  fit.rms = std::sqrt((A * fit.pivot - b).squaredNorm() / static_cast<double>(n));
  fit.rms_at_origin = std::sqrt(b.squaredNorm() / static_cast<double>(n));
  return fit;
}

HeadPivotFit measure_head_pivot(nets::KeypointNet& kp, int64_t image_size, const std::string& data_dir,
                                const std::string& split, int frames) {
  FH_CHECK(frames >= 2, "head pivot", "needs at least 2 frames, got ", frames);
  const auto ds = data::Dataset::open(data_dir);
  const std::vector<int> clips = ds->clips_in_split(split);
  FH_CHECK(!clips.empty(), "head pivot", "dataset '", data_dir, "' has no clip in split '", split, "'");
  // Frames spread evenly: every clip in turn, each contributing frames at even spacing.
  const int per_clip = std::max(1, (frames + static_cast<int>(clips.size()) - 1) / static_cast<int>(clips.size()));
  std::vector<std::pair<int, int>> picks;
  for (int k = 0; k < per_clip && static_cast<int>(picks.size()) < frames; ++k)
    for (int c : clips) {
      if (static_cast<int>(picks.size()) >= frames) break;
      const int length = ds->clip(c).frames;
      if (k >= length) continue;
      picks.emplace_back(c, static_cast<int>(static_cast<int64_t>(k) * length / std::min(per_clip, length)));
    }
  NoGradGuard no_grad;
  const bool was_training = kp.training();
  kp.eval();
  std::vector<PivotObservation> obs;
  obs.reserve(picks.size());
  constexpr size_t kBatch = 32;
  for (size_t first = 0; first < picks.size(); first += kBatch) {
    const size_t last = std::min(picks.size(), first + kBatch);
    std::vector<Tensor> images;
    for (size_t i = first; i < last; ++i) {
      const auto [c, t] = picks[i];
      const std::string what = ds->frame_path(c, t);
      images.push_back(resize_square(image_tensor(ds->frame(c, t), static_cast<int>(image_size), what), image_size));
    }
    const nets::KeypointOutput k = kp.forward(concat(images, 0));
    const Tensor R = k.rotation.to(Device::cpu()), tr = k.translation.to(Device::cpu()), s = k.scale.to(Device::cpu());
    for (size_t i = first; i < last; ++i) {
      const auto [c, t] = picks[i];
      const auto ann = ds->annotations(c);
      const float* truth = ann->row("translation", t);
      const int64_t j = static_cast<int64_t>(i - first);
      PivotObservation o;
      for (int r = 0; r < 3; ++r) {
        for (int q = 0; q < 3; ++q) o.rotation(r, q) = R.data<float>()[j * 9 + r * 3 + q];
        o.translation(r) = tr.data<float>()[j * 3 + r];
      }
      o.scale = s.data<float>()[j];
      o.pivot_xy = {truth[0], truth[1]};
      obs.push_back(o);
    }
  }
  if (was_training) kp.train();
  return fit_head_pivot(obs);
}

}  // namespace fh::pipeline
