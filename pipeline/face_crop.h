// Framing a face for the networks and putting the result back: a square crop around a
// detected face (scale and upward shift as talking-head tools frame faces), resampled to the
// models' size; a box that follows a face through a video, smoothed so the crop does not
// jitter; and paste-back, the generated crop blended into the original picture with a
// feathered edge so that only the box changes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/face_detect.h"
#include "io/image_io.h"

namespace fh::pipeline {

// A square region in pixels: centre and side (pixel i covers [i, i+1)). It may reach past the
// picture's edges; crops repeat the edge pixels there.
struct CropBox {
  double cx = 0, cy = 0, side = 0;
  double left() const { return cx - side / 2; }
  double top() const { return cy - side / 2; }
};

struct CropOptions {
  double scale = 2.3;   // crop side / the face box's larger side
  double shift = 0.1;   // the crop's centre moved up by this fraction of its side (room for hair, less neck)
  int face = 0;         // which face when there are several: 0 = the largest, 1 = the next, ...
  double smoothing = 0.3;  // videos: each frame moves the box this fraction of the way to the new detection
};

// The crop for a detected face.
CropBox crop_box(const FaceBox& face, const CropOptions& options);

// The crop for `options.face` among the faces of a photograph; no face (or fewer than asked
// for) is an error naming `what`.
CropBox find_face_crop(const Image& image, const CropOptions& options, const std::string& what);

// The box resampled to size×size RGB: the mean of a grid of bilinear samples over each output
// pixel's footprint (so a large photo shrinks without aliasing), edges repeated outside.
Image crop_image(const Image& image, const CropBox& box, int size);

// The whole picture resampled to width×height RGB the same way (for side-by-side videos).
Image resize_image(const Image& image, int width, int height);

// The crop size for the networks: the models' S times the largest whole factor (up to 4)
// that the box's pixels support, so E_gaze's eye crops keep the photo's detail.
int crop_size_for(const CropBox& box, int model_size);

// Blends `crop` (any square size) into `frame` over `box`: weight 1 inside, falling smoothly
// to 0 over the outer `feather` fraction of the side. Pixels whose centres lie outside the
// box are not touched.
void paste_back(Image& frame, const Image& crop, const CropBox& box, double feather = 0.1);

// One face followed through a video. Each frame is searched; the face nearest the current
// box is taken (the first time, `options.face` by size), and the box moves part of the way
// to it. A frame without a face keeps the last box and is counted; before the first face the
// box is the centred square of the frame's shorter side.
class FaceTracker {
 public:
  explicit FaceTracker(CropOptions options) : options_(options) {}
  CropBox update(const Image& frame, const std::string& what);
  int64_t frames() const { return frames_; }
  int64_t missed() const { return missed_; }

 private:
  CropOptions options_;
  CropBox box_;
  bool have_box_ = false;
  int64_t frames_ = 0, missed_ = 0;
};

}  // namespace fh::pipeline
