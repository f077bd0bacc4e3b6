#include "weights/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "io/file_io.h"
#include "weights/json.h"

namespace fh::safetensors {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // as the reference implementation
constexpr int64_t kMaxDimSize = int64_t{1} << 40;
constexpr uint64_t kMaxElements = uint64_t{1} << 48;

const char* file_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I64: return "I64";
  }
  return "?";
}

bool parse_dtype(const std::string& s, DType& out) {
  static const std::pair<const char*, DType> table[] = {
      {"F32", DType::F32}, {"F64", DType::F64}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"I64", DType::I64}};
  for (const auto& [name, t] : table) {
    if (s == name) {
      out = t;
      return true;
    }
  }
  return false;
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

}  // namespace

bool Contents::contains(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return true;
  return false;
}

const Tensor& Contents::get(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  FH_FAIL("safetensors", path, ": no tensor named '", name, "'");
}

Contents load(const std::string& path) {
  require_regular_file(path, "safetensors");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  FH_CHECK(in.good(), "safetensors", "cannot open '", path, "': ", std::strerror(errno));
  const std::streamoff end_pos = in.tellg();
  FH_CHECK(end_pos >= 0, "safetensors", "cannot read the size of '", path, "'");
  const uint64_t file_size = static_cast<uint64_t>(end_pos);
  in.seekg(0);
  FH_CHECK(file_size >= 8, "safetensors", path, ": file is ", file_size, " bytes, too short for a header length");
  unsigned char len_bytes[8] = {};
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  FH_CHECK(in.gcount() == 8, "safetensors", path, ": could not read the 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  FH_CHECK(header_len <= kMaxHeaderBytes && header_len <= file_size - 8, "safetensors", path,
           ": header length ", header_len, " does not fit the file (", file_size, " bytes)");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  FH_CHECK(in.good(), "safetensors", path, ": could not read the ", header_len, "-byte header");
  const json::Value root = json::parse(header, path + " header");
  const uint64_t data_size = file_size - 8 - header_len;

  Contents out;
  out.path = path;
  std::vector<Entry> entries;
  for (const auto& [name, v] : root.as_object(path + " header")) {
    if (name == "__metadata__") {
      for (const auto& [k, mv] : v.as_object(path + " __metadata__"))
        out.metadata[k] = mv.as_string(path + " __metadata__." + k);
      continue;
    }
    const std::string what = path + ": tensor '" + name + "'";
    Entry e;
    e.name = name;
    const json::Value* dtype = v.find("dtype");
    const json::Value* shape = v.find("shape");
    const json::Value* offsets = v.find("data_offsets");
    FH_CHECK(dtype && shape && offsets, "safetensors", what, " lacks dtype, shape or data_offsets");
    FH_CHECK(parse_dtype(dtype->as_string(what + " dtype"), e.dtype), "safetensors", what, " has unsupported dtype '",
             dtype->as_string(what), "' (F32, F64, F16, BF16, I64 are supported)");
    const auto& dims = shape->as_array(what + " shape");
    FH_CHECK(dims.size() <= Shape::kMaxDims, "safetensors", what, " has ", dims.size(), " dims (at most ",
             Shape::kMaxDims, ")");
    // Bounded before multiplying: each size below 2^40 and the product of the non-zero
    // sizes below 2^48, so neither the element count nor any stride can wrap.
    uint64_t numel = 1, nonzero_product = 1;
    bool has_zero = false;
    for (const auto& d : dims) {
      const int64_t n = d.as_int(what + " shape");
      FH_CHECK(n >= 0 && n < kMaxDimSize, "safetensors", what, " has an invalid size ", n);
      e.shape.push_back(n);
      if (n == 0) {
        has_zero = true;
        continue;
      }
      FH_CHECK(nonzero_product <= kMaxElements / static_cast<uint64_t>(n), "safetensors", what,
               " has more than 2^48 elements");
      nonzero_product *= static_cast<uint64_t>(n);
    }
    numel = has_zero ? 0 : nonzero_product;
    const auto& range = offsets->as_array(what + " data_offsets");
    FH_CHECK(range.size() == 2, "safetensors", what, " data_offsets must hold 2 numbers");
    const int64_t b = range[0].as_int(what + " data_offsets"), end = range[1].as_int(what + " data_offsets");
    FH_CHECK(b >= 0 && end >= b && static_cast<uint64_t>(end) <= data_size, "safetensors", what, " byte range [", b,
             ", ", end, ") lies outside the ", data_size, "-byte data section (truncated file?)");
    e.begin = static_cast<uint64_t>(b);
    e.end = static_cast<uint64_t>(end);
    FH_CHECK(e.end - e.begin == numel * dtype_size(e.dtype), "safetensors", what, " of shape ", e.shape, " and dtype ",
             file_dtype(e.dtype), " needs ", numel * dtype_size(e.dtype), " bytes but its range holds ",
             e.end - e.begin);
    entries.push_back(std::move(e));
  }
  // Ranges must not overlap (every byte belongs to at most one tensor).
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const Entry& e : entries)
    if (e.end > e.begin) ranges.emplace_back(e.begin, e.end);
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    FH_CHECK(ranges[i].first >= ranges[i - 1].second, "safetensors", path, ": tensor byte ranges overlap at ",
             ranges[i].first);

  const uint64_t data_start = 8 + header_len;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (t.nbytes() > 0) {
      in.seekg(static_cast<std::streamoff>(data_start + e.begin));
      in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(t.nbytes()));
      FH_CHECK(in.good(), "safetensors", path, ": could not read tensor '", e.name, "'");
    }
    out.tensors.emplace_back(e.name, std::move(t));
  }
  return out;
}

void save(const std::string& path, const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  // Members are appended directly (json::Value::set looks for the key first, which would
  // make writing n tensors quadratic); the names are checked unique here.
  json::Value::Object header;
  if (!metadata.empty()) {
    json::Value::Object meta;
    for (const auto& [k, v] : metadata) meta.emplace_back(k, v);
    header.emplace_back("__metadata__", json::Value::object(std::move(meta)));
  }
  std::set<std::string> names;
  std::vector<Tensor> host;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    FH_CHECK(!name.empty() && name != "__metadata__", "safetensors", path, ": invalid tensor name '", name, "'");
    FH_CHECK(names.insert(name).second, "safetensors", path, ": tensor name '", name, "' appears twice");
    FH_CHECK(t.defined(), "safetensors", path, ": tensor '", name, "' is undefined");
    host.push_back(t.to(Device::cpu()));
    json::Value entry = json::Value::object();
    entry.set("dtype", file_dtype(t.dtype()));
    json::Value shape = json::Value::array();
    for (int64_t d : t.shape()) shape.push_back(d);
    entry.set("shape", shape);
    entry.set("data_offsets", json::Value::array({static_cast<int64_t>(offset), static_cast<int64_t>(offset + t.nbytes())}));
    header.emplace_back(name, std::move(entry));
    offset += t.nbytes();
  }
  std::string text = json::Value::object(std::move(header)).dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned

  write_file_atomic(
      path,
      [&](std::ostream& out) {
        unsigned char len_bytes[8];
        uint64_t n = text.size();
        for (int i = 0; i < 8; ++i, n >>= 8) len_bytes[i] = static_cast<unsigned char>(n & 0xff);
        out.write(reinterpret_cast<const char*>(len_bytes), 8);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        for (const Tensor& t : host)
          out.write(static_cast<const char*>(t.raw_data()), static_cast<std::streamsize>(t.nbytes()));
      },
      "safetensors");
}

}  // namespace fh::safetensors
