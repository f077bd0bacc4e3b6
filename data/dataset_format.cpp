#include "data/dataset_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include "geometry/conventions.h"
#include "runtime/error.h"
#include "io/file_io.h"
#include "weights/safetensors.h"

namespace fh::data {

namespace fs = std::filesystem;

const std::vector<AnnotationField>& annotation_fields() {
  static const std::vector<AnnotationField> fields = {
      {"keypoints", {68, 3}, "3D key-points p, camera frame, image-normalised (x, y), z away from the camera"},
      {"canonical", {68, 3}, "canonical key-points p_can: the identity's neutral face in the head frame"},
      {"deformation", {68, 3}, "expression deformation d, camera frame: p = s·R·p_can + t + d"},
      {"yaw", {}, "head yaw, radians"},
      {"pitch", {}, "head pitch, radians"},
      {"roll", {}, "head roll, radians"},
      {"rotation", {3, 3}, "R = Rx(pitch)·Ry(yaw)·Rz(roll)"},
      {"translation", {3}, "t, normalised units"},
      {"scale", {1}, "s"},
      {"gaze", {2, 3}, "unit gaze vector per eye, camera frame; [0] = right eye (36-41)"},
      {"gaze_angles", {2, 2}, "(θ, φ) of the camera-frame gaze, radians"},
      {"gaze_head", {2, 2}, "(θ, φ) of the gaze in the head frame (the generator's parameter), radians"},
      {"eye_crop", {2, 3}, "eye crop (centre x, centre y, side) in pixels"},
      {"eyeball", {2, 4}, "eyeball centre (camera frame) and radius, normalised units"},
      {"eye_mesh", {2, geometry::kEyeVertices, 3}, "482-vertex eye mesh per eye, crop coordinates"},
      {"identity", {-1}, "identity parameters (names in the manifest)"},
      {"expression", {-1}, "expression parameters (names in the manifest)"},
      {"lighting", {kLightingParams}, "light direction (camera frame), ambient, diffuse, specular"},
  };
  return fields;
}

const AnnotationField* find_annotation_field(const std::string& name) {
  for (const auto& f : annotation_fields())
    if (name == f.name) return &f;
  return nullptr;
}

std::string frame_filename(int t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06d.png", t);
  return buf;
}

// ---- Manifest ------------------------------------------------------------------------------

std::map<std::string, std::vector<std::string>> Manifest::splits() const {
  std::map<std::string, std::vector<std::string>> s;
  for (const auto& c : clips) s[c.split].push_back(c.name);
  return s;
}

namespace {

json::Value string_array(const std::vector<std::string>& items) {
  json::Value a = json::Value::array();
  for (const auto& s : items) a.push_back(json::Value(s));
  return a;
}

std::vector<std::string> read_string_array(const json::Value* v, const std::string& what) {
  std::vector<std::string> out;
  if (!v) return out;
  for (const auto& item : v->as_array(what)) out.push_back(item.as_string(what));
  return out;
}

const json::Value& member(const json::Value& obj, const std::string& key, const std::string& source) {
  const json::Value* v = obj.find(key);
  FH_CHECK(v != nullptr, "dataset", source, ": missing field '", key, "'");
  return *v;
}

int read_int(const json::Value& obj, const std::string& key, const std::string& source) {
  const int64_t v = member(obj, key, source).as_int(source + ": field '" + key + "'");
  FH_CHECK(v >= 0 && v <= (1 << 30), "dataset", source, ": field '", key, "' is out of range: ", v);
  return static_cast<int>(v);
}

// Objects and arrays near the top on their own lines, the rest compact: a manifest a
// person can read and diff.
void pretty(std::ostringstream& os, const json::Value& v, int depth) {
  const std::string pad(2 * depth, ' '), inner(2 * depth + 2, ' ');
  if (depth >= 2 || !(v.is_object() || v.is_array())) {
    os << v.dump();
    return;
  }
  if (v.is_object()) {
    const auto& members = v.as_object("");
    if (members.empty()) return void(os << "{}");
    os << "{\n";
    for (size_t i = 0; i < members.size(); ++i) {
      os << inner << json::Value(members[i].first).dump() << ": ";
      pretty(os, members[i].second, depth + 1);
      os << (i + 1 < members.size() ? ",\n" : "\n");
    }
    os << pad << "}";
  } else {
    const auto& items = v.as_array("");
    bool simple = true;
    for (const auto& item : items) simple = simple && !(item.is_object() || item.is_array());
    if (simple) return void(os << v.dump());
    os << "[\n";
    for (size_t i = 0; i < items.size(); ++i) {
      os << inner << items[i].dump() << (i + 1 < items.size() ? ",\n" : "\n");
    }
    os << pad << "]";
  }
}

}  // namespace

json::Value Manifest::to_json() const {
  json::Value root = json::Value::object();
  root.set("format", kFormatName);
  root.set("version", version);
  root.set("image_size", image_size);
  root.set("annotations", string_array(annotations));
  root.set("identity_params", string_array(identity_params));
  root.set("expression_params", string_array(expression_params));
  json::Value splits_obj = json::Value::object();
  for (const auto& [name, list] : splits()) splits_obj.set(name, string_array(list));
  root.set("splits", splits_obj);
  json::Value clips_arr = json::Value::array();
  for (const auto& c : clips) {
    json::Value o = json::Value::object();
    o.set("name", c.name);
    o.set("identity", c.identity);
    o.set("frames", c.frames);
    o.set("split", c.split);
    clips_arr.push_back(o);
  }
  root.set("clips", clips_arr);
  json::Value triples_arr = json::Value::array();
  for (const auto& t : triples) {
    json::Value o = json::Value::object();
    o.set("source", json::Value::array({t.source_identity, t.source_clip, t.source_frame}));
    o.set("driver", json::Value::array({t.driver_identity, t.driver_clip, t.driver_frame}));
    triples_arr.push_back(o);
  }
  root.set("triples", triples_arr);
  root.set("generator", generator.is_null() ? json::Value::object() : generator);
  return root;
}

Manifest Manifest::from_json(const json::Value& root, const std::string& source) {
  FH_CHECK(root.is_object(), "dataset", source, ": the manifest must be a JSON object");
  const std::string format = member(root, "format", source).as_string(source + ": field 'format'");
  FH_CHECK(format == kFormatName, "dataset", source, ": format is '", format, "', expected '", kFormatName, "'");
  Manifest m;
  m.version = read_int(root, "version", source);
  FH_CHECK(m.version == kFormatVersion, "dataset", source, ": version ", m.version, " is not supported (this build reads ",
           kFormatVersion, ")");
  m.image_size = read_int(root, "image_size", source);
  FH_CHECK(m.image_size >= 8, "dataset", source, ": image_size ", m.image_size, " is too small");
  m.annotations = read_string_array(&member(root, "annotations", source), source + ": field 'annotations'");
  for (const auto& a : m.annotations)
    FH_CHECK(find_annotation_field(a) != nullptr, "dataset", source, ": unknown annotation '", a, "'");
  m.identity_params = read_string_array(root.find("identity_params"), source + ": field 'identity_params'");
  m.expression_params = read_string_array(root.find("expression_params"), source + ": field 'expression_params'");
  std::set<std::string> names;
  for (const auto& c : member(root, "clips", source).as_array(source + ": field 'clips'")) {
    ClipEntry e;
    const std::string what = source + ": a clip";
    e.name = member(c, "name", source).as_string(what + "'s name");
    e.identity = member(c, "identity", source).as_string(what + "'s identity");
    e.frames = read_int(c, "frames", source);
    e.split = member(c, "split", source).as_string(what + "'s split");
    FH_CHECK(!e.name.empty() && e.name.find("..") == std::string::npos && e.name[0] != '/', "dataset", source,
             ": clip name '", e.name, "' must be a relative path inside the dataset");
    FH_CHECK(e.frames >= 1, "dataset", source, ": clip '", e.name, "' has no frames");
    FH_CHECK(names.insert(e.name).second, "dataset", source, ": clip '", e.name, "' is listed twice");
    m.clips.push_back(e);
  }
  if (const json::Value* t = root.find("triples")) {
    for (const auto& item : t->as_array(source + ": field 'triples'")) {
      auto three = [&](const char* key) {
        const auto& a = member(item, key, source).as_array(source + ": a triple's " + key);
        FH_CHECK(a.size() == 3, "dataset", source, ": a triple's ", key, " must be [identity, clip, frame]");
        std::array<int, 3> out{};
        for (int i = 0; i < 3; ++i) {  // checked before narrowing: 2^32 would wrap to 0
          const int64_t v = a[i].as_int(source + ": a triple's " + key);
          FH_CHECK(v >= 0 && v <= (1 << 30), "dataset", source, ": a triple's ", key, " holds ", v, ", out of range");
          out[i] = static_cast<int>(v);
        }
        return out;
      };
      const auto s = three("source"), d = three("driver");
      m.triples.push_back({s[0], s[1], s[2], d[0], d[1], d[2]});
    }
  }
  if (const json::Value* g = root.find("generator")) m.generator = *g;
  return m;
}

void write_manifest(const std::string& dir, const Manifest& m) {
  std::ostringstream os;
  pretty(os, m.to_json(), 0);
  os << "\n";
  write_file_atomic((fs::path(dir) / kManifestName).string(), os.str(), "dataset");
}

Manifest read_manifest(const std::string& dir) {
  const std::string path = (fs::path(dir) / kManifestName).string();
  const auto bytes = read_file_bytes(path, "dataset");
  return Manifest::from_json(json::parse(std::string(bytes.begin(), bytes.end()), path), path);
}

// ---- Annotations ---------------------------------------------------------------------------

const Tensor& ClipAnnotations::get(const std::string& name) const {
  const auto it = tensors.find(name);
  FH_CHECK(it != tensors.end(), "dataset", "'", path, "' has no tensor '", name, "'");
  return it->second;
}

int64_t ClipAnnotations::row_size(const std::string& name) const { return get(name).numel() / frames; }

const float* ClipAnnotations::row(const std::string& name, int t) const {
  FH_CHECK(t >= 0 && t < frames, "dataset", "frame ", t, " is outside '", path, "' (", frames, " frames)");
  return get(name).data<float>() + static_cast<int64_t>(t) * row_size(name);
}

void write_clip_annotations(const std::string& path, const std::vector<FrameAnnotation>& frames,
                            const std::map<std::string, std::string>& metadata) {
  FH_CHECK(!frames.empty(), "dataset", "no frames to write to '", path, "'");
  const int64_t T = static_cast<int64_t>(frames.size());
  safetensors::NamedTensors out;
  auto stack = [&](const char* name, const Shape& row_shape, auto&& row_of) {
    std::vector<int64_t> dims = {T};
    for (int i = 0; i < row_shape.size(); ++i) dims.push_back(row_shape[i]);
    const int64_t n = row_shape.numel();
    std::vector<float> values;
    values.reserve(static_cast<size_t>(T * n));
    for (const auto& f : frames) {
      const float* r = row_of(f);
      values.insert(values.end(), r, r + n);
    }
    out.emplace_back(name, Tensor::from_vector(values, Shape(dims)));
  };
  stack("keypoints", {68, 3}, [](const FrameAnnotation& f) { return f.keypoints[0].data(); });
  stack("canonical", {68, 3}, [](const FrameAnnotation& f) { return f.canonical[0].data(); });
  stack("deformation", {68, 3}, [](const FrameAnnotation& f) { return f.deformation[0].data(); });
  stack("yaw", {}, [](const FrameAnnotation& f) { return &f.yaw; });
  stack("pitch", {}, [](const FrameAnnotation& f) { return &f.pitch; });
  stack("roll", {}, [](const FrameAnnotation& f) { return &f.roll; });
  stack("rotation", {3, 3}, [](const FrameAnnotation& f) { return f.rotation.data(); });
  stack("translation", {3}, [](const FrameAnnotation& f) { return f.translation.data(); });
  stack("scale", {1}, [](const FrameAnnotation& f) { return &f.scale; });
  stack("gaze", {2, 3}, [](const FrameAnnotation& f) { return f.gaze[0].data(); });
  stack("gaze_angles", {2, 2}, [](const FrameAnnotation& f) { return f.gaze_angles[0].data(); });
  stack("gaze_head", {2, 2}, [](const FrameAnnotation& f) { return f.gaze_head[0].data(); });
  stack("eye_crop", {2, 3}, [](const FrameAnnotation& f) { return f.eye_crop[0].data(); });
  stack("eyeball", {2, 4}, [](const FrameAnnotation& f) { return f.eyeball[0].data(); });
  stack("eye_mesh", {2, geometry::kEyeVertices, 3}, [](const FrameAnnotation& f) { return f.eye_mesh.data(); });
  stack("identity", {kIdentityParams}, [](const FrameAnnotation& f) { return f.identity.data(); });
  stack("expression", {kExpressionParams}, [](const FrameAnnotation& f) { return f.expression.data(); });
  stack("lighting", {kLightingParams}, [](const FrameAnnotation& f) { return f.lighting.data(); });
  safetensors::save(path, out, metadata);
}

ClipAnnotations read_clip_annotations(const std::string& path, int frames, const std::vector<std::string>& required,
                                      int identity_params, int expression_params) {
  safetensors::Contents c = safetensors::load(path);
  ClipAnnotations a;
  a.path = path;
  a.frames = frames;
  for (auto& [name, tensor] : c.tensors) {
    const AnnotationField* f = find_annotation_field(name);
    if (!f) continue;  // other tensors are allowed and ignored
    FH_CHECK(tensor.dtype() == DType::F32, "dataset", "'", path, "': tensor '", name, "' is ", tensor.describe(),
             ", expected float32");
    std::vector<int64_t> want = {frames};
    for (int64_t d : f->shape) want.push_back(d);
    if (name == "identity" && identity_params > 0) want[1] = identity_params;
    if (name == "expression" && expression_params > 0) want[1] = expression_params;
    bool ok = tensor.dim() == static_cast<int>(want.size());
    for (size_t i = 0; ok && i < want.size(); ++i) ok = want[i] < 0 ? tensor.size(static_cast<int64_t>(i)) > 0
                                                                      : tensor.size(static_cast<int64_t>(i)) == want[i];
    std::ostringstream expected;
    expected << "[";
    for (size_t i = 0; i < want.size(); ++i) expected << (i ? ", " : "") << (want[i] < 0 ? std::string("K") : std::to_string(want[i]));
    expected << "]";
    FH_CHECK(ok, "dataset", "'", path, "': tensor '", name, "' has shape ", tensor.describe(), ", expected ",
             expected.str(), " (", f->meaning, ")");
    const float* p = tensor.data<float>();
    for (int64_t i = 0; i < tensor.numel(); ++i)
      FH_CHECK(std::isfinite(p[i]), "dataset", "'", path, "': tensor '", name, "' holds a non-finite value at element ", i);
    a.tensors.emplace(name, tensor);
  }
  for (const auto& r : required)
    FH_CHECK(a.tensors.count(r), "dataset", "'", path, "' lacks the tensor '", r, "' that the manifest lists");
  return a;
}

Image read_frame(const std::string& path, int image_size) {
  Image img = read_png(path, 3);
  FH_CHECK(img.width == image_size && img.height == image_size, "dataset", "'", path, "' is ", img.width, "x",
           img.height, ", expected ", image_size, "x", image_size, " (the manifest's image_size)");
  return img;
}

}  // namespace fh::data
