#include "weights/json.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <unordered_set>

#include "runtime/error.h"

namespace fh::json {

namespace {

const char* type_name(Value::Type t) {
  switch (t) {
    case Value::Type::Null: return "null";
    case Value::Type::Bool: return "a boolean";
    case Value::Type::Number: return "a number";
    case Value::Type::String: return "a string";
    case Value::Type::Array: return "an array";
    case Value::Type::Object: return "an object";
  }
  return "?";
}

class Parser {
 public:
  Parser(const std::string& text, const std::string& source) : s_(text), source_(source) {}

  Value document() {
    Value v = value(0);
    skip_space();
    if (pos_ != s_.size()) fail("trailing characters after the JSON value");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;

  [[noreturn]] void fail(const std::string& what) const {
    FH_FAIL("json", source_, ": ", what, " at byte ", pos_);
  }

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  char peek() {
    skip_space();
    if (pos_ >= s_.size()) fail("unexpected end of input");
    return s_[pos_];
  }

  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  bool literal(const char* word) {
    const size_t n = std::char_traits<char>::length(word);
    if (s_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }

  Value value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than 64 levels");
    const char c = peek();
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') return Value(string());
    if (literal("true")) return Value(true);
    if (literal("false")) return Value(false);
    if (literal("null")) return Value();
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    fail(std::string("unexpected character '") + c + "'");
  }

  Value object(int depth) {
    expect('{');
    Value::Object members;
    if (peek() == '}') {
      ++pos_;
      return Value::object();
    }
    // Duplicates are found through a hash set: a header of a million keys must parse in
    // linear time, not compare every key with every earlier one.
    std::unordered_set<std::string> seen;
    for (;;) {
      if (peek() != '"') fail("expected a string key");
      std::string key = string();
      if (!seen.insert(key).second) fail("duplicate key \"" + key + "\"");
      expect(':');
      members.emplace_back(std::move(key), value(depth + 1));
      const char c = peek();
      ++pos_;
      if (c == '}') return Value::object(std::move(members));
      if (c != ',') fail("expected ',' or '}'");
    }
  }

  Value array(int depth) {
    expect('[');
    Value arr = Value::array();
    if (peek() == ']') {
      ++pos_;
      return arr;
    }
    for (;;) {
      arr.push_back(value(depth + 1));
      const char c = peek();
      ++pos_;
      if (c == ']') return arr;
      if (c != ',') fail("expected ',' or ']'");
    }
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<unsigned>(h - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return v;
  }

  void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {  // surrogate pair
            if (!literal("\\u")) fail("lone high surrogate");
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: fail(std::string("bad escape '\\") + e + "'");
      }
    }
  }

  Value number() {
    const size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    bool integer = true;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c >= '0' && c <= '9') {
        ++pos_;
      } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
        integer = false;
        ++pos_;
      } else {
        break;
      }
    }
    const std::string lexeme = s_.substr(start, pos_ - start);
    char* end = nullptr;
    if (integer) {
      errno = 0;
      const long long v = std::strtoll(lexeme.c_str(), &end, 10);
      if (*end == '\0' && errno == 0) return Value(static_cast<int64_t>(v));
    }
    const double d = std::strtod(lexeme.c_str(), &end);
    if (end == lexeme.c_str() || *end != '\0') fail("malformed number '" + lexeme + "'");
    // JSON has no infinities: a number past the double range (2e308) is refused, not read as ∞
    // (which no writer could write back).
    if (!std::isfinite(d)) fail("number '" + lexeme + "' is out of range");
    return Value(d);
  }

  const std::string& s_;
  const std::string& source_;
  size_t pos_ = 0;
};

void dump_string(std::ostringstream& os, const std::string& s) {
  os << '"';
  for (const char c : s) {
    switch (c) {
      case '"': os << "\\\""; break;
      case '\\': os << "\\\\"; break;
      case '\n': os << "\\n"; break;
      case '\r': os << "\\r"; break;
      case '\t': os << "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          os << buf;
        } else {
          os << c;
        }
    }
  }
  os << '"';
}

void dump_value(std::ostringstream& os, const Value& v) {
  switch (v.type()) {
    case Value::Type::Null: os << "null"; break;
    case Value::Type::Bool: os << (v.as_bool("") ? "true" : "false"); break;
    case Value::Type::Number:
      if (v.is_integer()) {
        os << v.as_int("");
      } else {
        const double d = v.as_double("");
        FH_CHECK(std::isfinite(d), "json", "cannot write the non-finite number ", d);
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.17g", d);
        // −0.0 would print as "-0", which reads back as the integer 0: keep it a real number.
        os << (d == 0 && std::signbit(d) ? "-0.0" : buf);
      }
      break;
    case Value::Type::String: dump_string(os, v.as_string("")); break;
    case Value::Type::Array: {
      os << '[';
      bool first = true;
      for (const Value& item : v.as_array("")) {
        if (!first) os << ',';
        first = false;
        dump_value(os, item);
      }
      os << ']';
      break;
    }
    case Value::Type::Object: {
      os << '{';
      bool first = true;
      for (const auto& [key, item] : v.as_object("")) {
        if (!first) os << ',';
        first = false;
        dump_string(os, key);
        os << ':';
        dump_value(os, item);
      }
      os << '}';
      break;
    }
  }
}

}  // namespace

Value Value::array(Array items) {
  Value v;
  v.type_ = Type::Array;
  v.arr_ = std::make_shared<Array>(std::move(items));
  return v;
}

Value Value::object(Object members) {
  Value v;
  v.type_ = Type::Object;
  v.obj_ = std::make_shared<Object>(std::move(members));
  return v;
}

void Value::require(Type t, const std::string& what) const {
  FH_CHECK(type_ == t, "json", what, " should be ", type_name(t), " but is ", type_name(type_));
}

bool Value::as_bool(const std::string& what) const {
  require(Type::Bool, what);
  return bool_;
}

int64_t Value::as_int(const std::string& what) const {
  require(Type::Number, what);
  FH_CHECK(is_int_, "json", what, " should be an integer, got ", num_);
  return int_;
}

double Value::as_double(const std::string& what) const {
  require(Type::Number, what);
  return num_;
}

const std::string& Value::as_string(const std::string& what) const {
  require(Type::String, what);
  return str_;
}

const Value::Array& Value::as_array(const std::string& what) const {
  require(Type::Array, what);
  return *arr_;
}

const Value::Object& Value::as_object(const std::string& what) const {
  require(Type::Object, what);
  return *obj_;
}

const Value* Value::find(const std::string& key) const {
  if (type_ != Type::Object) return nullptr;
  for (const auto& [k, v] : *obj_)
    if (k == key) return &v;
  return nullptr;
}

void Value::set(const std::string& key, Value v) {
  require(Type::Object, "json object");
  if (obj_.use_count() > 1) obj_ = std::make_shared<Object>(*obj_);  // copy on write
  for (auto& [k, existing] : *obj_) {
    if (k == key) {
      existing = std::move(v);
      return;
    }
  }
  obj_->emplace_back(key, std::move(v));
}

void Value::push_back(Value v) {
  require(Type::Array, "json array");
  if (arr_.use_count() > 1) arr_ = std::make_shared<Array>(*arr_);
  arr_->push_back(std::move(v));
}

std::string Value::dump() const {
  std::ostringstream os;
  dump_value(os, *this);
  return os.str();
}

Value parse(const std::string& text, const std::string& source) { return Parser(text, source).document(); }

}  // namespace fh::json
