#include "data/head_mesh.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include <Eigen/Geometry>

#include "geometry/conventions.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace fh::data {

namespace {

constexpr double kPi = geometry::kPi;
constexpr int kColumns = 160;        // around the head; at the front 2.5x their mean density
constexpr double kColumnWarp = 0.6;  // u = t − warp·sin t
constexpr double kBottomLatitude = 1.36;
constexpr int kNeckColumns = 48, kNeckRows = 10;
constexpr int kTorsoColumns = 64, kTorsoRows = 14;
constexpr int kEarRings = 8, kEarSegments = 24;
constexpr double kNeckCentreZ = 0.12;

double sq(double x) { return x * x; }
double gauss2(double dx, double sx, double dy, double sy) { return std::exp(-(sq(dx / sx) + sq(dy / sy))); }

// How far the face stands out in front of the flattened ellipsoid, at face coordinates.
double feature_relief(const FaceLayout& L, double fx, double fy) {
  double f = 0;
  const double afx = std::abs(fx);
  for (int e = 0; e < 2; ++e) {
    const double dx = fx - L.eye_x[e];
    f -= 0.06 * gauss2(dx, 0.2, fy, 0.13);                   // socket
    f += 0.028 * gauss2(dx, L.eye_half_width, fy, 0.075);    // lid over the eyeball
  }
  f += 0.045 * std::exp(-sq((fy - (L.brow_y + 0.02)) / 0.07)) * std::exp(-sq(fx / 0.55));  // brow ridge
  f += 0.035 * gauss2(afx - 0.42, 0.16, fy - 0.22, 0.14);                                  // cheekbones
  f += 0.07 * gauss2(fx, 0.32, fy - L.mouth_y, 0.22);                                      // muzzle
  const double lip_lat = std::exp(-std::pow(fx / (0.9 * L.mouth_half_width), 4));
  f += 0.022 * std::exp(-sq((fy - (L.mouth_y - 0.6 * L.upper_lip)) / L.upper_lip)) * lip_lat;
  f += 0.026 * std::exp(-sq((fy - (L.mouth_y + 0.6 * L.lower_lip)) / L.lower_lip)) * lip_lat;
  f -= 0.015 * gauss2(fx, 0.14, fy - (L.mouth_y + L.lower_lip + 0.06), 0.035);  // groove under the lip
  f += 0.045 * gauss2(fx, 0.17, fy - (L.chin_y - 0.12), 0.1);                   // chin
  // Nose: a ridge that widens and rises from the root to the tip, then drops under the tip.
  const double yr = L.nose_root, yt = L.nose_tip, p = L.nose_protrusion, nw = L.nose_width;
  const double t = std::clamp((fy - yr) / (yt - yr), 0.0, 1.0);
  const double sigma = 0.05 + 0.035 * t;
  const double h = fy <= yt ? p * (0.25 + 0.75 * std::pow(t, 1.6)) * smoothstep(yr - 0.14, yr + 0.03, fy)
                            : p * std::exp(-sq((fy - yt) / 0.045));
  f += h * std::exp(-sq(fx / sigma));
  f += 0.12 * p * gauss2(fx, 0.045, fy - yt + 0.015, 0.045);                     // tip
  f += 0.3 * p * gauss2(afx - 0.75 * nw, 0.04, fy - (yt + 0.01), 0.045);         // nostril wings
  f += 0.2 * p * gauss2(fx, nw, fy - (yt + 0.02), 0.05);                         // base
  return f;
}

// Expression blend shapes at face coordinates; `front` weighs the face against the back.
void expression_shapes(const FaceLayout& L, double fx, double fy, double front, float out[kShapeExpressions][3]) {
  const double afx = std::abs(fx), side = fx < 0 ? -1.0 : 1.0;
  const double wm = L.mouth_half_width, ym = L.mouth_y;
  // 0 jaw_open: the lower face drops and swings back. Across the mouth's width the drop is a
  // step over the slit between the lips (the mouth opens); beside it, cheeks stretch smoothly.
  {
    const double lens = sq(std::max(0.0, 1.0 - sq(fx / (0.97 * wm))));
    const double soft = smoothstep(ym - 0.3, ym + 0.25, fy);
    const double hard = std::clamp((fy - (ym - kMouthSlit)) / (2 * kMouthSlit), 0.0, 1.0);
    const double lateral = 1.0 - smoothstep(0.45, 0.95, afx / L.a);
    const double w = lateral * front * (lens * hard + (1.0 - lens) * soft);
    out[0][0] = 0;
    out[0][1] = static_cast<float>(0.26 * w);
    out[0][2] = static_cast<float>(0.07 * w);
  }
  // 1 smile: corners up and out, cheeks up and forward.
  {
    const double g = gauss2(afx - wm, 0.16, fy - ym, 0.14) * front;
    const double ch = gauss2(afx - (wm + 0.08), 0.2, fy - (ym - 0.2), 0.15) * front;
    out[1][0] = static_cast<float>(side * 0.05 * g);
    out[1][1] = static_cast<float>(-0.06 * g - 0.035 * ch);
    out[1][2] = static_cast<float>(0.02 * g - 0.03 * ch);
  }
  // 2 mouth_stretch: +1 widens the mouth and pulls it back; -1 puckers (narrow, forward).
  {
    const double g = std::exp(-std::pow(fx / (1.3 * wm), 4) - sq((fy - ym) / 0.16)) * front;
    out[2][0] = static_cast<float>(0.22 * fx * g);
    out[2][1] = 0;
    out[2][2] = static_cast<float>(0.05 * g);
  }
  // 3 brow_raise: brows and forehead up; the lids stay.
  {
    const double d = fy - L.brow_y, s = d > 0 ? 0.1 : 0.25;
    const double g = std::exp(-sq(d / s)) * std::exp(-sq(fx / 0.8)) * front;
    out[3][0] = 0;
    out[3][1] = static_cast<float>(-0.07 * g);
    out[3][2] = 0;
  }
  // 4 brow_frown: inner brow ends down and together.
  {
    const double g = gauss2(afx - 0.12, 0.1, fy - L.brow_y, 0.08) * front;
    out[4][0] = static_cast<float>(-side * 0.035 * g);
    out[4][1] = static_cast<float>(0.035 * g);
    out[4][2] = static_cast<float>(-0.015 * g);
  }
}

std::vector<double> row_latitudes(const FaceLayout& L) {
  std::vector<double> vs;
  double v = -kPi / 2 + 0.07;
  while (v < kBottomLatitude) {
    vs.push_back(v);
    const double fy = L.b * std::sin(v);
    const double step_fy = (fy > -0.35 && fy < 0.9) ? 0.0125 : (fy > -0.75 && fy < 1.15) ? 0.018 : 0.03;
    v += std::min(0.07, step_fy / (L.b * std::cos(v)));
  }
  vs.push_back(kBottomLatitude);
  // The slit between the lips must be bounded by rows (the jaw's drop is a step across it).
  const double slit[3] = {L.mouth_y - kMouthSlit, L.mouth_y, L.mouth_y + kMouthSlit};
  std::vector<double> keep;
  for (double x : vs) {
    const double fy = L.b * std::sin(x);
    if (std::abs(fy - L.mouth_y) > 2.5 * kMouthSlit) keep.push_back(x);
  }
  for (double fy : slit) keep.push_back(std::asin(fy / L.b));
  std::sort(keep.begin(), keep.end());
  return keep;
}

}  // namespace

namespace {

// The head surface at longitude u and latitude v, before expression.
Eigen::Vector3d head_surface(const FaceLayout& L, double u, double v) {
  const double cv = std::cos(v), sv = std::sin(v), cu = std::cos(u), su = std::sin(u);
  const double fx = L.a * cv * su, fy = L.b * sv, au = std::abs(u);
  // Cranium: an ellipsoid whose front is flattened and whose lower half narrows to the jaw.
  const double taper = 1.0 - (1.0 - L.jaw_taper) * smoothstep(0.05, L.chin_y, fy);
  double x = L.a * cv * su * taper, y = fy;
  double z = cu >= 0 ? -L.c * cv * cu * (1.0 + 0.28 * (1.0 - cu)) : -L.c * cv * cu;
  z -= smoothstep(0.1, 0.55, cu) * feature_relief(L, fx, fy);
  // Below the jaw edge (and below the skull at the back) the surface turns in to the neck.
  const double tuck = smoothstep(0.0, 0.2, fy - L.jaw_edge_y(au));
  x *= 1.0 - 0.5 * tuck;
  z += (kNeckCentreZ - z) * 0.6 * tuck;
  // Hair stands off the skull above the hair edge.
  const double hair = 1.0 - smoothstep(L.hair_edge_y(au) - 0.05, L.hair_edge_y(au) + 0.03, fy);
  if (hair > 0) {
    const Eigen::Vector3d n = Eigen::Vector3d(x, y, z).normalized();
    const double lift = L.hair_volume * hair * (0.5 + 0.5 * smoothstep(0.2, -1.0, fy));
    return Eigen::Vector3d(x, y, z) + lift * n;
  }
  return {x, y, z};
}

// Appends a rows × cols grid of vertices (filled by the caller) with its triangles and
// normal stencils, wound so that normals point along `outward` on average.
struct GridPart {
  int first, rows, cols;
  bool wrap;
  int at(int r, int c) const { return first + r * cols + (wrap ? (c + cols) % cols : std::clamp(c, 0, cols - 1)); }
};

void add_grid_topology(HeadMesh& m, const GridPart& g, const std::function<Eigen::Vector3d(const Eigen::Vector3d&)>& outward) {
  auto pos = [&](int v) { return Eigen::Vector3d(m.rest[3 * v], m.rest[3 * v + 1], m.rest[3 * v + 2]); };
  std::vector<std::array<int32_t, 3>> tris;
  const int last_col = g.wrap ? g.cols : g.cols - 1;
  for (int r = 0; r + 1 < g.rows; ++r)
    for (int c = 0; c < last_col; ++c) {
      const int A = g.at(r, c), B = g.at(r, c + 1), C = g.at(r + 1, c), D = g.at(r + 1, c + 1);
      tris.push_back({A, C, B});
      tris.push_back({B, C, D});
    }
  double agreement = 0;
  for (const auto& t : tris) {
    const Eigen::Vector3d n = (pos(t[1]) - pos(t[0])).cross(pos(t[2]) - pos(t[0]));
    agreement += n.dot(outward((pos(t[0]) + pos(t[1]) + pos(t[2])) / 3.0));
  }
  const bool flip = agreement < 0;
  for (auto t : tris) {
    if (flip) std::swap(t[1], t[2]);
    m.triangles.push_back(t);
  }
  for (int r = 0; r < g.rows; ++r)
    for (int c = 0; c < g.cols; ++c) {
      std::array<int32_t, 4> s = {g.at(std::max(r - 1, 0), c), g.at(std::min(r + 1, g.rows - 1), c), g.at(r, c - 1),
                                  g.at(r, c + 1)};
      if (flip) std::swap(s[2], s[3]);
      m.normal_stencil[g.at(r, c)] = s;
    }
}

}  // namespace

HeadMesh::HeadMesh(const Identity& id) : identity(id), layout(id) {
  const FaceLayout& L = layout;
  nu = kColumns;
  for (int j = 0; j < nu; ++j) {
    const double t = -kPi + 2 * kPi * j / nu;
    us.push_back(t - kColumnWarp * std::sin(t));
  }
  vs = row_latitudes(L);
  nv = static_cast<int>(vs.size());
  head_vertices = 1 + nu * nv;
  const int ear_vertices = 2 * 2 * kEarRings * kEarSegments;
  rigid_end = head_vertices + ear_vertices;
  const int neck_first = rigid_end, torso_first = neck_first + kNeckRows * kNeckColumns;
  num_vertices = torso_first + kTorsoRows * kTorsoColumns;
  rest.assign(3 * num_vertices, 0.f);
  blend.assign(3 * kShapeExpressions * head_vertices, 0.f);
  face.assign(3 * num_vertices, 0.f);
  albedo.assign(3 * num_vertices, 0.f);
  body_weight.assign(num_vertices - rigid_end, 0.f);
  normal_stencil.resize(num_vertices);

  auto set3 = [](std::vector<float>& a, int v, double x, double y, double z) {
    a[3 * v] = static_cast<float>(x);
    a[3 * v + 1] = static_cast<float>(y);
    a[3 * v + 2] = static_cast<float>(z);
  };
  auto set_colour = [&](int v, const Eigen::Vector3d& c) { set3(albedo, v, c.x(), c.y(), c.z()); };
  const Eigen::Vector3d skin = id.skin_colour;

  // ---- Head grid, with the top pole as vertex 0.
  set3(rest, 0, 0, -L.b - L.hair_volume, 0);
  set3(face, 0, 0, -L.b, kPi);
  set_colour(0, skin);
  // Rows are independent: build them in parallel (each vertex is written by one row).
  parallel_for(nv, 4, [&](int64_t row_begin, int64_t row_end) {
    for (int i = static_cast<int>(row_begin); i < row_end; ++i) {
      const double v = vs[i], cv = std::cos(v), sv = std::sin(v);
      for (int j = 0; j < nu; ++j) {
        const double u = us[j], cu = std::cos(u), su = std::sin(u);
        const double fx = L.a * cv * su, fy = L.b * sv;
        const int vi = grid_vertex(i, j);
        const Eigen::Vector3d p = head_surface(L, u, v);
        set3(rest, vi, p.x(), p.y(), p.z());
        set3(face, vi, fx, fy, std::abs(u));
        float shapes[kShapeExpressions][3];
        expression_shapes(L, fx, fy, smoothstep(0.0, 0.45, cu), shapes);
        for (int k = 0; k < kShapeExpressions; ++k)
          for (int d = 0; d < 3; ++d) blend[(static_cast<size_t>(vi) * kShapeExpressions + k) * 3 + d] = shapes[k][d];
        // Skin colour: blush on the cheeks, a little darker around the eyes.
        const double front = smoothstep(0.1, 0.55, cu);
        Eigen::Vector3d col = skin + gauss2(std::abs(fx) - 0.42, 0.15, fy - 0.38, 0.15) * front *
                                         Eigen::Vector3d(0.06, -0.015, -0.01);
        double shade = 1.0;
        for (int e = 0; e < 2; ++e) shade -= 0.08 * gauss2(fx - L.eye_x[e], 0.22, fy, 0.12) * front;
        set_colour(vi, col * shade);
      }
    }
  });
  // Triangles: the pole's fan, then (A, C, B) and (B, C, D) for the quad A=(i,j), B=(i,j+1),
  // C=(i+1,j), D=(i+1,j+1), so that (v1 − v0) × (v2 − v0) points out of the head.
  for (int j = 0; j < nu; ++j) triangles.push_back({0, grid_vertex(0, j), grid_vertex(0, (j + 1) % nu)});
  for (int i = 0; i + 1 < nv; ++i)
    for (int j = 0; j < nu; ++j) {
      const int A = grid_vertex(i, j), B = grid_vertex(i, (j + 1) % nu);
      const int C = grid_vertex(i + 1, j), D = grid_vertex(i + 1, (j + 1) % nu);
      triangles.push_back({A, C, B});
      triangles.push_back({B, C, D});
    }
  // Normal stencils (up, down, left, right): normal = (down − up) × (right − left).
  auto column_near = [&](double u) {
    int best = 0;
    for (int j = 1; j < nu; ++j)
      if (std::abs(us[j] - u) < std::abs(us[best] - u)) best = j;
    return best;
  };
  normal_stencil[0] = {grid_vertex(0, column_near(-kPi)), grid_vertex(0, column_near(0)),
                       grid_vertex(0, column_near(-kPi / 2)), grid_vertex(0, column_near(kPi / 2))};
  for (int i = 0; i < nv; ++i)
    for (int j = 0; j < nu; ++j)
      normal_stencil[grid_vertex(i, j)] = {i == 0 ? 0 : grid_vertex(i - 1, j), grid_vertex(std::min(i + 1, nv - 1), j),
                                           grid_vertex(i, (j + nu - 1) % nu), grid_vertex(i, (j + 1) % nu)};

  // ---- Ears: a cupped oval on each side, two layers (outer face, inner face).
  int next = head_vertices;
  for (int side = 0; side < 2; ++side) {
    const double sgn = side == 0 ? -1.0 : 1.0;
    const double ear_fy = 0.12;
    const Eigen::Vector3d root = head_surface(L, sgn * kPi / 2, std::asin(ear_fy / L.b));
    // The ear's plane: up, and back tilted 25° away from the head.
    const Eigen::Vector3d up(0, 1, 0);
    const Eigen::Vector3d back = Eigen::Vector3d(sgn * std::sin(0.3), 0, std::cos(0.3)).normalized();
    const Eigen::Vector3d out = back.cross(up).normalized() * (sgn * back.cross(up).normalized().x() > 0 ? 1 : -1);
    const Eigen::Vector3d centre = root + back * 0.16 - out * 0.03;
    for (int layer = 0; layer < 2; ++layer) {
      const GridPart g{next, kEarRings, kEarSegments, true};
      for (int r = 0; r < kEarRings; ++r) {
        const double rho = (r + 0.5) / kEarRings;
        for (int k = 0; k < kEarSegments; ++k) {
          const double th = 2 * kPi * k / kEarSegments;
          // Cupped: the rim stands out more than the middle; the inner layer sits behind.
          const double cup = 0.03 + 0.09 * rho * rho * rho - (layer == 1 ? 0.025 : 0.0);
          const Eigen::Vector3d p = centre + up * (0.3 * rho * std::cos(th)) + back * (0.16 * rho * std::sin(th)) + out * cup;
          const int vi = g.at(r, k);
          set3(rest, vi, p.x(), p.y(), p.z());
          set3(face, vi, 0, kEarMark, kPi / 2);
          const double concha = 0.72 + 0.28 * smoothstep(0.35, 0.8, rho);
          set_colour(vi, skin.cwiseProduct(Eigen::Vector3d(1.0, 0.92, 0.9)) * concha);
        }
      }
      const Eigen::Vector3d dir = layer == 0 ? out : Eigen::Vector3d(-out);
      add_grid_topology(*this, g, [dir](const Eigen::Vector3d&) { return dir; });
      next += kEarRings * kEarSegments;
    }
  }

  // ---- Neck: a vertical elliptic cylinder from inside the head down into the shoulders,
  // following the head at the top and the body at the bottom.
  const double rx = 0.6 * L.a * (0.55 + 0.45 * L.jaw_taper), rz = 0.55 * L.c;
  const double neck_top = 0.5 * L.b, neck_bottom = L.b + 0.8;
  {
    const GridPart g{neck_first, kNeckRows, kNeckColumns, true};
    for (int k = 0; k < kNeckRows; ++k) {
      const double y = neck_top + (neck_bottom - neck_top) * k / (kNeckRows - 1);
      for (int j = 0; j < kNeckColumns; ++j) {
        const double w = -kPi + 2 * kPi * j / kNeckColumns;
        const int vi = g.at(k, j);
        // Narrower at the top, where it meets the underside of the head.
        const double widen = 0.72 + 0.28 * smoothstep(neck_top, neck_top + 0.55, y);
        set3(rest, vi, widen * rx * std::sin(w), y, kNeckCentreZ - widen * rz * std::cos(w));
        set3(face, vi, 0, kNeckMark, std::abs(w));
        set_colour(vi, skin * (0.8 + 0.12 * smoothstep(L.b - 0.1, L.b + 0.5, y)));
        body_weight[vi - rigid_end] = static_cast<float>(smoothstep(L.b * 0.75, L.b + 0.6, y));
      }
    }
    add_grid_topology(*this, g, [](const Eigen::Vector3d& p) { return Eigen::Vector3d(p.x(), 0, p.z() - kNeckCentreZ); });
  }
  // ---- Shoulders: the top of a wide ellipsoid, in the clothes' colour.
  {
    const GridPart g{torso_first, kTorsoRows, kTorsoColumns, true};
    const Eigen::Vector3d centre(0, L.b + 1.2, 0.3), radii(2.0, 0.95, 0.85);
    for (int k = 0; k < kTorsoRows; ++k) {
      const double lat = -kPi / 2 + 0.12 + (kPi / 2 + 0.1) * k / (kTorsoRows - 1);
      for (int j = 0; j < kTorsoColumns; ++j) {
        const double w = -kPi + 2 * kPi * j / kTorsoColumns;
        const Eigen::Vector3d p = centre + Eigen::Vector3d(radii.x() * std::cos(lat) * std::sin(w), radii.y() * std::sin(lat),
                                                           -radii.z() * std::cos(lat) * std::cos(w));
        const int vi = g.at(k, j);
        set3(rest, vi, p.x(), p.y(), p.z());
        set3(face, vi, 0, kClothesMark, std::abs(w));
        set_colour(vi, id.clothes_colour);
        body_weight[vi - rigid_end] = 1.f;
      }
    }
    add_grid_topology(*this, g, [centre](const Eigen::Vector3d& p) { return Eigen::Vector3d(p - centre); });
  }

  // Eyeballs: behind the lid surface at each eye's centre, radius from the eye's size.
  eyeball_radius = 0.75 * L.eye_half_width;
  for (int e = 0; e < 2; ++e) {
    const SurfacePoint sp = locate(L.eye_x[e], L.eye_centre_line(e, 0.0));
    Eigen::Vector3d p = Eigen::Vector3d::Zero();
    for (int k = 0; k < 3; ++k)
      p += sp.weight[k] * Eigen::Vector3d(rest[3 * sp.vertex[k]], rest[3 * sp.vertex[k] + 1], rest[3 * sp.vertex[k] + 2]);
    eyeball_centre[e] = p + Eigen::Vector3d(0, 0, 0.9 * eyeball_radius);
  }
}

HeadMesh::SurfacePoint HeadMesh::locate(double fx, double fy) const {
  const FaceLayout& L = layout;
  const double v = std::asin(std::clamp(fy / L.b, -1.0, 1.0));
  const double u = std::asin(std::clamp(fx / (L.a * std::cos(v)), -1.0, 1.0));
  FH_CHECK(v > vs.front() && v < vs.back(), "HeadMesh::locate", "face point (", fx, ", ", fy,
           ") is outside the head grid");
  const int row = static_cast<int>(std::upper_bound(vs.begin(), vs.end(), v) - vs.begin()) - 1;
  const int col = static_cast<int>(std::upper_bound(us.begin(), us.end(), u) - us.begin()) - 1;
  SurfacePoint best{};
  double best_min = -1e30;
  for (int di = -1; di <= 1; ++di)
    for (int dj = -1; dj <= 1; ++dj) {
      const int i = row + di, j = col + dj;
      if (i < 0 || i + 1 >= nv || j < 0 || j + 1 >= nu) continue;
      const int A = grid_vertex(i, j), B = grid_vertex(i, j + 1), C = grid_vertex(i + 1, j), D = grid_vertex(i + 1, j + 1);
      const std::array<int32_t, 3> tris[2] = {{A, C, B}, {B, C, D}};
      for (const auto& t : tris) {
        const double x0 = face[3 * t[0]], y0 = face[3 * t[0] + 1];
        const double x1 = face[3 * t[1]], y1 = face[3 * t[1] + 1];
        const double x2 = face[3 * t[2]], y2 = face[3 * t[2] + 1];
        const double det = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0);
        if (det == 0) continue;
        const double w1 = ((fx - x0) * (y2 - y0) - (x2 - x0) * (fy - y0)) / det;
        const double w2 = ((x1 - x0) * (fy - y0) - (fx - x0) * (y1 - y0)) / det;
        const double w0 = 1.0 - w1 - w2;
        const double m = std::min({w0, w1, w2});
        if (m > best_min) {
          best_min = m;
          best = {t, {w0, w1, w2}};
        }
      }
    }
  FH_CHECK(best_min > -1e-6, "HeadMesh::locate", "no triangle holds face point (", fx, ", ", fy, ")");
  return best;
}

}  // namespace fh::data
