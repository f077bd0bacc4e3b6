// The head pivot: the point of E_can's canonical frame that stays where it is when the head
// turns.
//
// E_can reads a face as p = s·R·p_can + d + t, and nothing in its training fixes where the
// origin of p_can lies: each frame predicts its own t, so any origin fits the data equally
// well. The trained E_can puts it close to the face, while a real (or synthetic) head turns
// about a point far behind the face, near the neck. Turning the canonical points about E_can's
// origin therefore draws a face that turns in place — a sketch no training pair ever showed —
// and the generator, which has only seen faces that swing sideways as they turn, turns such a
// head by about a third of what was asked. An edit must turn the head about its pivot c:
//
//   R → R',   t → t + s·(R − R')·c     (the pivot's image position s·R·c + t stays put)
//
// c is measured once per E_can, on frames whose true head pivot is known (a synthetic dataset
// stores it as the translation t of the head frame; on real footage `freehead prep` stores the
// translation of the synthetic average head's frame fitted to the landmarks): the
// least-squares c with s·R·c + t equal to that image position, over many frames and poses
// (eval/head_pivot_measure.h measures it on a dataset). It is stored in models.json
// (`head_pivot`).
#pragma once

#include <vector>

#include <Eigen/Core>

namespace fh {
struct FaceReading;
}

namespace fh::pipeline {

// A reading's head rotation R and translation t (pipeline/reenactor.h) in double precision.
Eigen::Matrix3d rotation_of(const FaceReading& f);
Eigen::Vector3d translation_of(const FaceReading& f);

// One frame as E_can read it, with the image position of its true head pivot.
struct PivotObservation {
  Eigen::Matrix3d rotation;  // E_can's R
  Eigen::Vector3d translation;  // E_can's t (image-normalised)
  double scale = 1;             // E_can's s
  Eigen::Vector2d pivot_xy;     // the true pivot's image position (image-normalised x, y)
};

struct HeadPivotFit {
  Eigen::Vector3d pivot = Eigen::Vector3d::Zero();  // c, in E_can's canonical frame
  int observations = 0;
  // RMS distance between s·R·c + t and the true pivot, in image-normalised units, for the
  // fitted c and for c = 0 (E_can's own origin): how much the fit explains.
  double rms = 0, rms_at_origin = 0;
};

// Least squares over the x and y rows of s·R·c = pivot − t (two equations per frame; the
// frames' different rotations determine all three components of c). Throws when the
// rotations do not vary enough to determine c.
HeadPivotFit fit_head_pivot(const std::vector<PivotObservation>& observations);

}  // namespace fh::pipeline
