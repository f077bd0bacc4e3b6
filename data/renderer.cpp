#include "data/renderer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Geometry>

#include "geometry/conventions.h"
#include "runtime/error.h"

namespace fh::data {

namespace {

using Vec3 = Eigen::Vector3f;

constexpr float kCosIris = 0.70710678f;   // ring 3 of the eye-mesh template: 45° from the pole
constexpr float kCosPupil = 0.95105652f;  // 18°
const Vec3 kSclera(0.94f, 0.92f, 0.89f);
const Vec3 kMouthDark(0.16f, 0.04f, 0.045f);
const Vec3 kTongue(0.55f, 0.24f, 0.25f);
const Vec3 kTeeth(0.93f, 0.9f, 0.82f);

float pow16(float x) {
  x *= x;
  x *= x;
  x *= x;
  return x * x;
}

// Everything a sample's shading needs, gathered once per frame.
struct Shader {
  const HeadMesh& mesh;
  const FaceLayout& L;
  const PosedHead& head;
  Vec3 light, half_vector;
  float ambient, diffuse, specular;
  float blink[2];
  float jaw_open;
  Vec3 skin, hair, iris, lip;
  float eye_bottom, eye_top, mouth_top, mouth_bottom, brow_top, brow_bottom;
  float nostril_y;
  Vec3 eye_centre[2], gaze[2];
  float eye_radius;

  Shader(const PosedHead& h)
      : mesh(*h.mesh), L(h.mesh->layout), head(h) {
    const Lighting& l = h.params.lighting;
    light = l.direction.normalized().cast<float>();
    half_vector = (light + Vec3(0, 0, -1)).normalized();
    ambient = static_cast<float>(l.ambient);
    diffuse = static_cast<float>(l.diffuse);
    specular = static_cast<float>(l.specular);
    blink[0] = static_cast<float>(h.params.expression.blink_right);
    blink[1] = static_cast<float>(h.params.expression.blink_left);
    jaw_open = static_cast<float>(h.params.expression.jaw_open);
    const Identity& id = mesh.identity;
    skin = id.skin_colour.cast<float>();
    hair = id.hair_colour.cast<float>();
    iris = id.iris_colour.cast<float>();
    lip = id.lip_colour.cast<float>();
    eye_top = static_cast<float>(-L.upper_lid - L.canthal_tilt - L.lash_thickness - 0.01);
    eye_bottom = static_cast<float>(L.lower_lid + L.canthal_tilt + 0.01);
    mouth_top = static_cast<float>(L.mouth_y - kMouthSlit - 1.2 * L.upper_lip);
    mouth_bottom = static_cast<float>(L.mouth_y + kMouthSlit + L.lower_lip);
    brow_top = static_cast<float>(L.brow_y - L.brow_arch - L.brow_thickness);
    brow_bottom = static_cast<float>(L.brow_y + 0.03 + L.brow_thickness);
    nostril_y = static_cast<float>(L.nose_tip + 0.045);
    for (int e = 0; e < 2; ++e) {
      eye_centre[e] = h.eye_centre[e].cast<float>();
      gaze[e] = h.gaze[e].cast<float>();
    }
    eye_radius = static_cast<float>(h.eye_radius);
  }

  float lambert(const Vec3& n) const { return ambient + diffuse * std::max(0.f, n.dot(light)); }

  // The eyeball seen along the camera ray through (x, y); `lid` is how far below the upper
  // lid the sample is (for the lid's shadow on the eye).
  Vec3 eyeball(int e, float x, float y, float lid, Material& m) const {
    const float dx = x - eye_centre[e].x(), dy = y - eye_centre[e].y();
    const float r2 = eye_radius * eye_radius, d2 = dx * dx + dy * dy;
    if (d2 >= r2) {  // past the ball's outline, deep in the corner: shaded white of the eye
      m = Material::EyeCorner;
      return Vec3(0.8f, 0.72f, 0.7f) * (0.8f * lambert(Vec3(0, 0, -1)) * (1.f - 0.45f * std::exp(-lid / 0.02f)));
    }
    const Vec3 n(dx / eye_radius, dy / eye_radius, -std::sqrt(r2 - d2) / eye_radius);
    const float ca = n.dot(gaze[e]);
    Vec3 albedo;
    if (ca > kCosPupil) {
      m = Material::Pupil;
      albedo = Vec3(0.02f, 0.02f, 0.025f);
    } else if (ca > kCosIris) {
      m = Material::Iris;
      const float t = (ca - kCosIris) / (kCosPupil - kCosIris);   // 0 at the rim, 1 at the pupil
      const float limbus = 0.55f + 0.45f * std::min(1.f, t * 5.f);
      albedo = iris * (limbus * (0.8f + 0.35f * t));
    } else {
      m = Material::Sclera;
      albedo = kSclera;
    }
    const float shadow = 1.f - 0.45f * std::exp(-lid / 0.02f);
    Vec3 c = albedo * (lambert(n) * shadow);
    const float s = std::max(0.f, n.dot(half_vector));
    return c + Vec3::Constant(specular * pow16(pow16(s)) * 1.5f * shadow);
  }

  // Shades one covered sample.
  Vec3 shade(int32_t tri, float b0, float b1, float x, float y, Material& m) const {
    const auto& t = mesh.triangles[tri];
    const float b2 = 1.f - b0 - b1;
    const float* f0 = mesh.face.data() + 3 * t[0];
    const float* f1 = mesh.face.data() + 3 * t[1];
    const float* f2 = mesh.face.data() + 3 * t[2];
    const float fx = b0 * f0[0] + b1 * f1[0] + b2 * f2[0];
    const float fy = b0 * f0[1] + b1 * f1[1] + b2 * f2[1];
    const float au = b0 * f0[2] + b1 * f1[2] + b2 * f2[2];
    const float* n0 = head.normal.data() + 3 * t[0];
    const float* n1 = head.normal.data() + 3 * t[1];
    const float* n2 = head.normal.data() + 3 * t[2];
    Vec3 n(b0 * n0[0] + b1 * n1[0] + b2 * n2[0], b0 * n0[1] + b1 * n1[1] + b2 * n2[1],
           b0 * n0[2] + b1 * n1[2] + b2 * n2[2]);
    n *= 1.f / std::sqrt(n.squaredNorm());  // one division, not three
    const float* a0 = mesh.albedo.data() + 3 * t[0];
    const float* a1 = mesh.albedo.data() + 3 * t[1];
    const float* a2 = mesh.albedo.data() + 3 * t[2];
    Vec3 albedo(b0 * a0[0] + b1 * a1[0] + b2 * a2[0], b0 * a0[1] + b1 * a1[1] + b2 * a2[1],
                b0 * a0[2] + b1 * a1[2] + b2 * a2[2]);
    const float shine = pow16(std::max(0.f, n.dot(half_vector)));
    if (fy > kNeckMark * 0.5f) {  // neck, ears, clothes: colour from the vertices
      m = fy > 0.5f * (kEarMark + kClothesMark) ? Material::Clothes : fy > 0.5f * (kNeckMark + kEarMark) ? Material::Skin : Material::Neck;
      return albedo * lambert(n) + Vec3::Constant(m == Material::Skin ? 0.05f * shine : 0.f);
    }
    if (fy < L.hair_edge_y(au)) {
      m = Material::Hair;
      // Fine strands: a cheap periodic variation across the hair.
      const float phase = fx * 55.f + fy * 9.f;
      const float strand = 0.93f + 0.07f * std::abs(phase - 2.f * std::floor(phase * 0.5f) - 1.f);
      return hair * (strand * lambert(n)) + Vec3::Constant(0.12f * shine);
    }
    if (au < 1.3f) {
      // Eyes: the opening between the lids shows the eyeball; lashes line the upper lid.
      if (fy > eye_top && fy < eye_bottom) {
        for (int e = 0; e < 2; ++e) {
          const float xi = (fx - static_cast<float>(L.eye_x[e])) / static_cast<float>(L.eye_half_width);
          if (std::abs(xi) >= 1.f) continue;
          const float yu = static_cast<float>(L.upper_lid_y(e, xi, blink[e]));
          const float yl = static_cast<float>(L.lower_lid_y(e, xi, blink[e]));
          if (fy > yu && fy < yl) return eyeball(e, x, y, fy - yu, m);
          if (fy <= yu && fy > yu - static_cast<float>(L.lash_thickness) * (0.4f + 0.6f * (1 - xi * xi))) {
            m = Material::Lash;
            return hair * 0.3f * lambert(n);
          }
        }
      }
      // Brows.
      if (fy > brow_top && fy < brow_bottom) {
        const float t = (std::abs(fx) - static_cast<float>(L.brow_inner)) /
                        static_cast<float>(L.brow_outer - L.brow_inner);
        if (t >= 0.f && t <= 1.f &&
            std::abs(fy - static_cast<float>(L.brow_line_y(t))) < static_cast<float>(L.brow_half_thickness(t))) {
          m = Material::Brow;
          return hair * (0.75f * lambert(n));
        }
      }
      // Mouth: lips around the slit that opens onto the interior.
      if (fy > mouth_top && fy < mouth_bottom) {
        const float xi = fx / static_cast<float>(L.mouth_half_width);
        if (std::abs(xi) < 1.f) {
          const float top = static_cast<float>(L.mouth_y - kMouthSlit), bottom = static_cast<float>(L.mouth_y + kMouthSlit);
          if (fy >= top && fy <= bottom) {
            const float q = (fy - top) / (bottom - top);  // 0 under the upper lip, 1 on the lower
            const float lens = std::max(0.f, 1.f - xi * xi);
            const float open = jaw_open * lens * lens;
            const float teeth = 0.28f * std::clamp((open - 0.08f) / 0.25f, 0.f, 1.f);
            if (std::abs(xi) < 0.72f && (q < teeth || q > 1.f - 0.5f * teeth)) {
              m = Material::Teeth;
              return kTeeth * (ambient + 0.4f * diffuse);
            }
            m = Material::MouthInterior;
            if (q > 0.62f && std::abs(xi) < 0.6f && open > 0.15f) return kTongue * (0.5f * ambient + 0.2f * diffuse);
            return kMouthDark * (0.6f + 0.4f * lambert(n));
          }
          if ((fy < top && fy >= static_cast<float>(L.upper_lip_y(xi))) ||
              (fy > bottom && fy <= static_cast<float>(L.lower_lip_y(xi)))) {
            m = Material::Lip;
            return lip * lambert(n) + Vec3::Constant(0.1f * shine);
          }
        }
      }
      // Nostrils under the tip.
      if (std::abs(fy - nostril_y) < 0.016f) {
        const float nx = (std::abs(fx) - 0.45f * static_cast<float>(L.nose_width)) / (0.32f * static_cast<float>(L.nose_width));
        const float ny = (fy - nostril_y) / 0.016f;
        if (nx * nx + ny * ny < 1.f) {
          m = Material::Nostril;
          return skin * (0.25f * lambert(n));
        }
      }
    }
    m = Material::Skin;
    return albedo * lambert(n) + Vec3::Constant(0.06f * shine);
  }
};

}  // namespace

BackgroundImage draw_background(const Background& bg, int size) {
  BackgroundImage out;
  out.size = size;
  out.rgb.resize(3 * static_cast<size_t>(size) * size);
  for (int y = 0; y < size; ++y) {
    const double yn = 2.0 * y / (size - 1) - 1.0;
    const Eigen::Vector3d row = bg.top + (bg.bottom - bg.top) * (0.5 * (yn + 1.0));
    for (int x = 0; x < size; ++x) {
      const double xn = 2.0 * x / (size - 1) - 1.0;
      Eigen::Vector3d c = row;
      for (const auto& b : bg.blobs) {
        const double d2 = (Eigen::Vector2d(xn, yn) - b.centre).squaredNorm() / (b.radius * b.radius);
        const double a = b.strength * std::exp(-d2);
        c = c * (1 - a) + b.colour * a;
      }
      float* p = out.rgb.data() + 3 * (static_cast<size_t>(y) * size + x);
      for (int ch = 0; ch < 3; ++ch) p[ch] = static_cast<float>(c[ch]);
    }
  }
  return out;
}

Renderer::Renderer(int supersampling) : k_(supersampling) {
  FH_CHECK(k_ >= 1 && k_ <= 4, "Renderer", "supersampling must be 1..4, got ", k_);
}

void Renderer::rasterise(const PosedHead& head, int size) {
  const HeadMesh& mesh = *head.mesh;
  const int n = grid_;
  const size_t samples = static_cast<size_t>(n) * n;
  depth_.assign(samples, std::numeric_limits<float>::infinity());
  triangle_.assign(samples, -1);
  bary0_.resize(samples);
  bary1_.resize(samples);
  // Normalised x → pixel (x+1)(S−1)/2 → sample grid (pixel + 0.5)·k − 0.5.
  const float to_pixel = 0.5f * static_cast<float>(size - 1);
  const float k = static_cast<float>(k_);
  vx_.resize(mesh.num_vertices);
  vy_.resize(mesh.num_vertices);
  for (int v = 0; v < mesh.num_vertices; ++v) {
    vx_[v] = ((head.camera[3 * v] + 1.f) * to_pixel + 0.5f) * k - 0.5f;
    vy_[v] = ((head.camera[3 * v + 1] + 1.f) * to_pixel + 0.5f) * k - 0.5f;
  }
  const int32_t num_tri = static_cast<int32_t>(mesh.triangles.size());
  for (int32_t ti = 0; ti < num_tri; ++ti) {
    const auto& t = mesh.triangles[ti];
    const float x0 = vx_[t[0]], y0 = vy_[t[0]], x1 = vx_[t[1]], y1 = vy_[t[1]], x2 = vx_[t[2]], y2 = vy_[t[2]];
    // (v1 − v0) × (v2 − v0) points out of the head; it faces the camera when its z < 0.
    const float area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0);
    if (!(area < 0.f)) continue;
    const int xmin = std::max(0, static_cast<int>(std::ceil(std::min({x0, x1, x2}))));
    const int xmax = std::min(n - 1, static_cast<int>(std::floor(std::max({x0, x1, x2}))));
    const int ymin = std::max(0, static_cast<int>(std::ceil(std::min({y0, y1, y2}))));
    const int ymax = std::min(n - 1, static_cast<int>(std::floor(std::max({y0, y1, y2}))));
    if (xmin > xmax || ymin > ymax) continue;
    const float inv = 1.f / area;
    // Barycentrics as planes over the sample grid: b = A·x + B·y + C.
    const float A0 = -(y2 - y1) * inv, B0 = (x2 - x1) * inv, C0 = ((y2 - y1) * x1 - (x2 - x1) * y1) * inv;
    const float A1 = -(y0 - y2) * inv, B1 = (x0 - x2) * inv, C1 = ((y0 - y2) * x2 - (x0 - x2) * y2) * inv;
    const float z0 = head.camera[3 * t[0] + 2], z1 = head.camera[3 * t[1] + 2], z2 = head.camera[3 * t[2] + 2];
    constexpr float eps = -1e-5f;  // shared edges are covered by both neighbours: no cracks
    for (int y = ymin; y <= ymax; ++y) {
      const float fy = static_cast<float>(y);
      const size_t row = static_cast<size_t>(y) * n;
      for (int x = xmin; x <= xmax; ++x) {
        const float fx = static_cast<float>(x);
        const float b0 = A0 * fx + B0 * fy + C0, b1 = A1 * fx + B1 * fy + C1, b2 = 1.f - b0 - b1;
        if (b0 < eps || b1 < eps || b2 < eps) continue;
        const float z = b0 * z0 + b1 * z1 + b2 * z2;
        const size_t i = row + x;
        if (z < depth_[i]) {
          depth_[i] = z;
          triangle_[i] = ti;
          bary0_[i] = b0;
          bary1_[i] = b1;
        }
      }
    }
  }
}

void Renderer::render(const PosedHead& head, const BackgroundImage& background, Image& out,
                      std::vector<Material>* materials) {
  FH_CHECK(head.mesh != nullptr, "Renderer::render", "the posed head has no mesh");
  const int size = background.size;
  FH_CHECK(size >= 16 && size <= 2048, "Renderer::render", "image size ", size, " is outside 16..2048");
  grid_ = size * k_;
  rasterise(head, size);
  if (out.width != size || out.height != size || out.channels != 3) out = Image(size, size, 3);
  if (materials) materials->assign(static_cast<size_t>(size) * size, Material::Background);

  const Shader shader(head);
  const float inv_samples = 1.f / static_cast<float>(k_ * k_);
  const float to_norm = 2.f / static_cast<float>(size - 1);
  for (int py = 0; py < size; ++py) {
    for (int px = 0; px < size; ++px) {
      const float* bg = background.rgb.data() + 3 * (static_cast<size_t>(py) * size + px);
      Vec3 sum = Vec3::Zero();
      for (int j = 0; j < k_; ++j)
        for (int i = 0; i < k_; ++i) {
          const size_t s = static_cast<size_t>(py * k_ + j) * grid_ + px * k_ + i;
          const int32_t tri = triangle_[s];
          Material m = Material::Background;
          if (tri < 0) {
            sum += Vec3(bg[0], bg[1], bg[2]);
          } else {
            // The sample's position in pixels, then in normalised coordinates.
            const float sx = (px * k_ + i + 0.5f) / k_ - 0.5f, sy = (py * k_ + j + 0.5f) / k_ - 0.5f;
            sum += shader.shade(tri, bary0_[s], bary1_[s], sx * to_norm - 1.f, sy * to_norm - 1.f, m);
          }
          if (materials && i == 0 && j == 0) (*materials)[static_cast<size_t>(py) * size + px] = m;
        }
      uint8_t* o = out.at(px, py);
      for (int c = 0; c < 3; ++c)
        o[c] = static_cast<uint8_t>(std::clamp(sum[c] * inv_samples * 255.f + 0.5f, 0.f, 255.f));
    }
  }
}

}  // namespace fh::data
