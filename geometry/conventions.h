// The model's fixed conventions in plain double precision (docs/geometry.md#conventions and
// #eye-mesh-template):
// head rotation from Euler angles, the gaze vector ↔ (θ, φ) pair, the iBUG-68 point groups
// and the 482-vertex eye-mesh template. Differentiable tensor versions live beside this
// file; the synthetic renderer, the sketch rasteriser and the tests use these directly.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace fh::geometry {

inline constexpr double kPi = 3.14159265358979323846;
inline constexpr double deg_to_rad(double degrees) { return degrees * (kPi / 180.0); }
inline constexpr double rad_to_deg(double radians) { return radians * (180.0 / kPi); }

// R = Rx(pitch) · Ry(yaw) · Rz(roll), angles in radians.
Eigen::Matrix3d rotation_from_euler(double yaw, double pitch, double roll);

struct EulerAngles {
  double yaw = 0, pitch = 0, roll = 0;  // radians
};
// Inverse of rotation_from_euler for |yaw| < π/2 (the range heads turn through).
EulerAngles euler_from_rotation(const Eigen::Matrix3d& r);

// Gaze: unit vector in the camera frame (x right, y down, z away from the camera).
// θ (pitch) = asin(-g_y), φ (yaw) = atan2(-g_x, -g_z); looking at the camera is (0, 0, -1).
struct GazeAngles {
  double theta = 0, phi = 0;  // radians
};
Eigen::Vector3d gaze_from_angles(double theta, double phi);
GazeAngles angles_from_gaze(const Eigen::Vector3d& g);  // g need not be unit length

// iBUG-68 groups, as index ranges [first, last] inclusive.
struct PointRange {
  int first, last;
  bool closed;  // polyline returns to its first point
};
inline constexpr int kNumKeypoints = 68;
inline constexpr PointRange kJaw{0, 16, false};
inline constexpr PointRange kRightBrow{17, 21, false};  // the subject's right: image left
inline constexpr PointRange kLeftBrow{22, 26, false};
inline constexpr PointRange kNoseBridge{27, 30, false};
inline constexpr PointRange kLowerNose{31, 35, false};
inline constexpr PointRange kRightEye{36, 41, true};
inline constexpr PointRange kLeftEye{42, 47, true};
inline constexpr PointRange kOuterLip{48, 59, true};
inline constexpr PointRange kInnerLip{60, 67, true};
// Each key-point's mirror image across the face's midline: the point that takes its place
// when a face is seen in a mirror (jaw 0 ↔ 16, brows 17 ↔ 26, eye corners 36 ↔ 45 and
// 39 ↔ 42, mouth corners 48 ↔ 54; the midline's points 8, 27-30, 33, 51, 57, 62, 66 are their
// own). Mirroring the points of a face is x ↦ −x with this renumbering.
const std::array<int, kNumKeypoints>& mirrored_keypoints();
// The sketch's polylines in drawing order (docs/geometry.md#sketches).
inline constexpr std::array<PointRange, 9> kSketchPolylines{kJaw,      kRightBrow, kLeftBrow,  kNoseBridge, kLowerNose,
                                                            kRightEye, kLeftEye,   kOuterLip, kInnerLip};

// Eye-mesh template: unit UV sphere whose front pole (vertex 0) looks along -z.
inline constexpr int kEyeRings = 15, kEyeSegments = 32;
inline constexpr int kEyeVertices = 2 + kEyeRings * kEyeSegments;  // 482
inline constexpr int kEyeTriangles = 2 * kEyeSegments * kEyeRings;  // 960
inline constexpr int kIrisRing = 3, kEquatorRing = 7;
inline constexpr int kEyeEdges = 3 * kEyeTriangles;

constexpr int eye_ring_vertex(int ring, int segment) { return 1 + kEyeSegments * ring + segment; }
// Each eye-mesh vertex's mirror image across the template's x = 0 plane: ring r, segment k
// (at angle 2πk/32 from +x) ↔ ring r, segment (16 − k) mod 32; the poles are their own.
// The mirror image of a mesh is x ↦ −x with this renumbering.
const std::array<int, kEyeVertices>& mirrored_eye_vertices();

struct EyeMeshTemplate {
  std::vector<Eigen::Vector3d> vertices;          // kEyeVertices
  std::vector<std::array<int32_t, 3>> triangles;  // kEyeTriangles
  std::vector<std::array<int32_t, 2>> edges;      // kEyeEdges: (v0,v1), (v0,v2), (v1,v2) per triangle
};
const EyeMeshTemplate& eye_mesh_template();

// Eyeball centre = mean of the equator ring; iris centre = mean of the iris ring;
// gaze = normalise(iris centre − eyeball centre). `xyz` holds kEyeVertices points, row-major.
Eigen::Vector3d eyeball_centre(const double* xyz);
Eigen::Vector3d iris_centre(const double* xyz);
Eigen::Vector3d gaze_from_eye_mesh(const double* xyz);

}  // namespace fh::geometry
