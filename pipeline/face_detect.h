// Finding faces in photographs and video frames: dlib's frontal face detector (a HOG
// pyramid and a linear classifier, Debian's libdlib-dev). In a build without dlib
// (FH_DLIB=OFF, or not found) detect_faces throws an error that says so and suggests
// --no-crop for pictures that are already face crops.
#pragma once

#include <string>
#include <vector>

#include "io/image_io.h"

namespace fh::pipeline {

// A face's box in pixels: the top-left corner and the size (pixel i covers [i, i+1)).
struct FaceBox {
  double x = 0, y = 0, width = 0, height = 0;
  double score = 0;  // the detector's confidence (higher is surer)
  double area() const { return width * height; }
};

bool face_detection_supported();
std::string face_detection_note();

// Every frontal face, largest first. `what` names the picture in errors. Pictures are
// searched at about 1000 pixels on their longer side (at most twice their own size), so a
// face must span about 8% of the longer side (40 pixels of a 500-pixel picture); boxes are
// in the picture's own pixels.
std::vector<FaceBox> detect_faces(const Image& image, const std::string& what);

}  // namespace fh::pipeline
