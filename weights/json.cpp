#include "weights/json.h"

#include <cmath>
#include <limits>
#include <unordered_set>

#include <nlohmann/json.hpp>

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

// Builds a Value from nlohmann's SAX events, adding the checks freehead's files need on
// top of the JSON grammar (which nlohmann enforces, UTF-8 included): no duplicate keys
// (a header must not say two things about one tensor), nesting at most 64 deep, and no
// number outside the double range.
class ValueBuilder {
 public:
  using Sax = nlohmann::json_sax<nlohmann::json>;
  explicit ValueBuilder(const std::string& source) : source_(source) {}

  bool null() { return put(Value()); }
  bool boolean(bool b) { return put(Value(b)); }
  bool number_integer(Sax::number_integer_t i) { return put(Value(static_cast<int64_t>(i))); }
  bool number_unsigned(Sax::number_unsigned_t u) {
    // Integers past int64 are kept as doubles, as a reader with no big integers must.
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return put(Value(static_cast<int64_t>(u)));
    return put(Value(static_cast<double>(u)));
  }
  // Numbers past the double range never get here: nlohmann reports them to parse_error (406).
  bool number_float(Sax::number_float_t d, const std::string&) { return put(Value(static_cast<double>(d))); }
  bool string(std::string& s) { return put(Value(std::move(s))); }
  bool binary(Sax::binary_t&) { FH_FAIL("json", source_, ": binary values are not JSON"); }

  bool start_object(std::size_t) { return open(Value::object()); }
  bool key(std::string& k) {
    Frame& f = stack_.back();
    // A hash set per object: a header of a million keys parses in linear time.
    if (!f.keys.insert(k).second) FH_FAIL("json", source_, ": duplicate key \"", k, "\"");
    f.key = std::move(k);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(Value::array()); }
  bool end_array() { return close(); }

  bool parse_error(std::size_t position, const std::string& last_token, const nlohmann::detail::exception& e) {
    if (e.id == 406) out_of_range(last_token);  // nlohmann's "number overflow"
    // nlohmann's message without its "[json.exception.parse_error.101] parse error at line
    // 1, column 7: " preamble; the byte offset follows instead.
    std::string what = e.what();
    const size_t colon = what.find(": ");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    FH_FAIL("json", source_, ": ", what, " at byte ", position == 0 ? 0 : position - 1);
  }

  Value result() { return std::move(root_); }

 private:
  static constexpr size_t kMaxDepth = 64;
  struct Frame {
    Value container;
    std::string key;
    std::unordered_set<std::string> keys;
  };

  [[noreturn]] void out_of_range(const std::string& lexeme) const {
    // JSON has no infinities: 2e308 is refused, not read as ∞ (which no writer could write back).
    const std::string shown = lexeme.size() <= 40 ? lexeme : lexeme.substr(0, 40) + "... (" +
                                                                 std::to_string(lexeme.size()) + " characters)";
    FH_FAIL("json", source_, ": number '", shown, "' is out of range");
  }

  bool put(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
    } else if (Frame& f = stack_.back(); f.container.is_object()) {
      f.container.set_new(std::move(f.key), std::move(v));
    } else {
      f.container.push_back(std::move(v));
    }
    return true;
  }
  bool open(Value container) {
    if (stack_.size() >= kMaxDepth) FH_FAIL("json", source_, ": nesting deeper than ", kMaxDepth, " levels");
    stack_.push_back(Frame{std::move(container), {}, {}});
    return true;
  }
  bool close() {
    Value done = std::move(stack_.back().container);
    stack_.pop_back();
    return put(std::move(done));
  }

  const std::string& source_;
  std::vector<Frame> stack_;
  Value root_;
};

// The writer's form of a Value: nlohmann's ordered_json keeps the members' order.
nlohmann::ordered_json to_nlohmann(const Value& v) {
  switch (v.type()) {
    case Value::Type::Null: return nullptr;
    case Value::Type::Bool: return v.as_bool("");
    case Value::Type::Number:
      if (v.is_integer()) return v.as_int("");
      FH_CHECK(std::isfinite(v.as_double("")), "json", "cannot write the non-finite number ", v.as_double(""));
      return v.as_double("");  // written as the shortest text that reads back to the same bits; −0.0 as -0.0
    case Value::Type::String: return v.as_string("");
    case Value::Type::Array: {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const Value& item : v.as_array("")) out.push_back(to_nlohmann(item));
      return out;
    }
    case Value::Type::Object: {
      nlohmann::ordered_json out = nlohmann::ordered_json::object();
      for (const auto& [key, item] : v.as_object("")) out[key] = to_nlohmann(item);
      return out;
    }
  }
  return nullptr;
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

void Value::set_new(std::string key, Value v) {
  if (obj_.use_count() > 1) obj_ = std::make_shared<Object>(*obj_);
  obj_->emplace_back(std::move(key), std::move(v));
}

std::string Value::dump() const {
  try {
    return to_nlohmann(*this).dump();
  } catch (const nlohmann::json::type_error& e) {
    // Strings must be UTF-8 to be JSON (a file name in another encoding, say).
    FH_FAIL("json", "cannot write a string that is not UTF-8 (", e.what(), ")");
  }
}

Value parse(const std::string& text, const std::string& source) {
  ValueBuilder builder(source);
  nlohmann::json::sax_parse(text, &builder);
  return builder.result();
}

}  // namespace fh::json
