// The on-disk dataset format shared by the synthetic generator and converted real data
// (docs/data.md):
//
//   DIR/manifest.json                  format, image size, annotations, clips, splits, triples
//   DIR/<clip>/000000.png ...          the clip's frames, RGB, image_size²
//   DIR/<clip>/annotations.safetensors float32 tensors with the frames as the first axis
//
// Every writer is atomic; every reader validates what it reads and names the file (and
// the tensor, shape or field) in its errors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/annotation.h"
#include "io/image_io.h"
#include "runtime/tensor.h"
#include "weights/json.h"

namespace fh::data {

inline constexpr const char* kManifestName = "manifest.json";
inline constexpr const char* kAnnotationsName = "annotations.safetensors";
inline constexpr const char* kFormatName = "freehead-dataset";
inline constexpr int kFormatVersion = 1;

// An annotation tensor: its name and its shape after the leading frame axis. Dimensions
// of -1 take their size from the manifest (identity and expression vector lengths).
struct AnnotationField {
  const char* name;
  std::vector<int64_t> shape;
  const char* meaning;
};
const std::vector<AnnotationField>& annotation_fields();
const AnnotationField* find_annotation_field(const std::string& name);

std::string frame_filename(int t);  // "000042.png"

struct ClipEntry {
  std::string name;      // also its folder, relative to the dataset
  std::string identity;  // who is in it (clips with the same identity share a person)
  int frames = 0;
  std::string split;     // "train", "val", "test" or "triples"
};

struct TripleEntry {
  int source_identity, source_clip, source_frame;
  int driver_identity, driver_clip, driver_frame;
};

struct Manifest {
  int version = kFormatVersion;
  int image_size = 0;
  std::vector<std::string> annotations;  // tensors every clip holds
  std::vector<std::string> identity_params, expression_params;  // names, when present
  std::vector<ClipEntry> clips;
  std::vector<TripleEntry> triples;      // clips "triples/source", "triples/driver", "triples/target"
  json::Value generator;                 // how the data was made (free-form object)

  // Clip names per split, in manifest order.
  std::map<std::string, std::vector<std::string>> splits() const;
  json::Value to_json() const;
  // Parses and validates; `source` names the file in errors.
  static Manifest from_json(const json::Value& v, const std::string& source);
};

void write_manifest(const std::string& dir, const Manifest& m);
Manifest read_manifest(const std::string& dir);

// The annotations of one clip: name → float32 tensor [T, ...].
struct ClipAnnotations {
  std::string path;
  int frames = 0;
  std::map<std::string, Tensor> tensors;
  bool has(const std::string& name) const { return tensors.count(name) != 0; }
  const Tensor& get(const std::string& name) const;  // error naming the file when absent
  // Frame t's slice of a tensor: pointer to its first element and the element count.
  const float* row(const std::string& name, int t) const;
  int64_t row_size(const std::string& name) const;
};

// Stacks per-frame annotations into tensors and writes them atomically.
void write_clip_annotations(const std::string& path, const std::vector<FrameAnnotation>& frames,
                            const std::map<std::string, std::string>& metadata = {});
// Reads and validates: every tensor listed in `required` present; every known tensor
// float32 with shape [frames, ...] as in annotation_fields() (identity [T, K] and
// expression [T, J] with K, J from the manifest when given, else any); errors name the file.
ClipAnnotations read_clip_annotations(const std::string& path, int frames, const std::vector<std::string>& required,
                                      int identity_params = -1, int expression_params = -1);

// Reads a frame and checks its size; errors name the file.
Image read_frame(const std::string& path, int image_size);

}  // namespace fh::data
