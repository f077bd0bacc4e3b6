#include "data/landmarks_file.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "runtime/error.h"
#include "io/file_io.h"

namespace fh::data {

namespace {

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + (dims[i] < 0 ? std::string("T") : std::to_string(dims[i]));
  return s + "]";
}

// The .npy header: magic, version, a Python dict literal with 'descr', 'fortran_order' and
// 'shape'. Only what freehead needs is accepted: little-endian float32/float64 in C order.
std::vector<double> read_npy(const std::vector<unsigned char>& bytes, const std::string& path, std::vector<int64_t>& shape) {
  FH_CHECK(bytes.size() >= 10 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0, "prep", "'", path,
           "' is not a NumPy .npy file");
  const int major = bytes[6];
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    offset = 10;
  } else {
    FH_CHECK(major == 2 || major == 3, "prep", "'", path, "' has .npy version ", major, " (1, 2 and 3 are read)");
    FH_CHECK(bytes.size() >= 12, "prep", "'", path, "' is cut short in its header");
    header_len = bytes[8] | (bytes[9] << 8) | (static_cast<size_t>(bytes[10]) << 16) | (static_cast<size_t>(bytes[11]) << 24);
    offset = 12;
  }
  FH_CHECK(header_len <= 65536 && offset + header_len <= bytes.size(), "prep", "'", path, "' is cut short in its header");
  const std::string header(reinterpret_cast<const char*>(bytes.data() + offset), header_len);
  auto value_of = [&](const std::string& key) {
    const size_t k = header.find("'" + key + "'");
    FH_CHECK(k != std::string::npos, "prep", "'", path, "': the .npy header has no '", key, "'");
    const size_t colon = header.find(':', k);
    FH_CHECK(colon != std::string::npos, "prep", "'", path, "': the .npy header is malformed");
    return header.substr(colon + 1);
  };
  const std::string descr = value_of("descr");
  int width = 0;
  if (descr.find("'<f4'") == 0 || descr.find(" '<f4'") == 0) width = 4;
  if (descr.find("'<f8'") == 0 || descr.find(" '<f8'") == 0) width = 8;
  FH_CHECK(width != 0, "prep", "'", path, "' holds ", descr.substr(0, descr.find(',')),
           " numbers; float32 ('<f4') or float64 ('<f8') are read");
  const std::string fortran = value_of("fortran_order");
  FH_CHECK(fortran.find("False") < fortran.find(','), "prep", "'", path, "' is in Fortran order; save it in C order");
  const std::string shape_part = value_of("shape");
  const size_t open = shape_part.find('('), close = shape_part.find(')');
  FH_CHECK(open != std::string::npos && close != std::string::npos && close > open, "prep", "'", path,
           "': the .npy shape is malformed");
  std::stringstream ss(shape_part.substr(open + 1, close - open - 1));
  std::string item;
  int64_t count = 1;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(" ") == std::string::npos) continue;
    size_t used = 0;
    int64_t d = -1;
    try {
      d = std::stoll(item, &used);
    } catch (const std::exception&) {
    }
    FH_CHECK(d >= 0 && d < (int64_t{1} << 32), "prep", "'", path, "': bad .npy dimension '", item, "'");
    shape.push_back(d);
    FH_CHECK(count <= (int64_t{1} << 40) / std::max<int64_t>(d, 1), "prep", "'", path, "' claims too many numbers");
    count *= d;
  }
  const size_t data = offset + header_len;
  FH_CHECK(bytes.size() - data == static_cast<size_t>(count) * width, "prep", "'", path, "' should hold ", count,
           " numbers of ", width, " bytes after its header but has ", bytes.size() - data, " bytes");
  std::vector<double> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    if (width == 4) {
      float f;
      std::memcpy(&f, bytes.data() + data + 4 * i, 4);
      values[i] = f;
    } else {
      std::memcpy(&values[i], bytes.data() + data + 8 * i, 8);
    }
  }
  return values;
}

std::vector<double> read_text(const std::vector<unsigned char>& bytes, const std::string& path) {
  std::vector<double> values;
  std::string text(bytes.begin(), bytes.end());
  std::stringstream lines(text);
  std::string line;
  int line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    for (char& ch : line)
      if (ch == ',' || ch == '\t' || ch == ';' || ch == '\r') ch = ' ';
    std::stringstream ss(line);
    std::string token;
    while (ss >> token) {
      size_t used = 0;
      double v = 0;
      bool ok = true;
      try {
        v = std::stod(token, &used);
      } catch (const std::exception&) {
        ok = false;
      }
      FH_CHECK(ok && used == token.size(), "prep", "'", path, "' line ", line_no, ": '", token, "' is not a number");
      values.push_back(v);
    }
  }
  return values;
}

}  // namespace

Tensor read_per_frame_file(const std::string& path, const std::vector<int64_t>& row, int64_t frames, const char* what) {
  const std::vector<unsigned char> bytes = read_file_bytes(path, "prep");
  int64_t per_frame = 1;
  for (int64_t d : row) per_frame *= d;
  std::vector<int64_t> shape;
  const bool npy = bytes.size() >= 6 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0;
  const std::vector<double> values = npy ? read_npy(bytes, path, shape) : read_text(bytes, path);
  std::vector<int64_t> want = {frames};
  want.insert(want.end(), row.begin(), row.end());
  if (npy) {
    bool ok = shape.size() == want.size() && (frames < 0 || shape[0] == frames);
    for (size_t i = 1; ok && i < shape.size(); ++i) ok = shape[i] == want[i];
    FH_CHECK(ok, "prep", "the ", what, " in '", path, "' have shape ", shape_text(shape), "; ", shape_text(want),
             " is expected", frames >= 0 ? " (one row per frame)" : "");
  } else {
    const int64_t n = static_cast<int64_t>(values.size());
    FH_CHECK(n > 0 && n % per_frame == 0, "prep", "the ", what, " in '", path, "' hold ", n,
             " numbers, not a whole number of frames of ", shape_text(row), " (", per_frame, " numbers each)");
    FH_CHECK(frames < 0 || n / per_frame == frames, "prep", "the ", what, " in '", path, "' cover ", n / per_frame,
             " frames; ", frames, " are expected (one per frame)");
  }
  const int64_t T = static_cast<int64_t>(values.size()) / std::max<int64_t>(per_frame, 1);
  FH_CHECK(T > 0, "prep", "the ", what, " in '", path, "' are empty");
  for (size_t i = 0; i < values.size(); ++i)
    FH_CHECK(std::isfinite(values[i]), "prep", "the ", what, " in '", path, "' hold a non-finite number at frame ",
             static_cast<int64_t>(i) / per_frame, " (", values[i], ")");
  want[0] = T;
  Tensor t = Tensor::empty(Shape(want), DType::F64);
  std::copy(values.begin(), values.end(), t.data<double>());
  return t;
}

}  // namespace fh::data
