// JSON values for safetensors headers, manifests and run descriptions: parsed and written by
// nlohmann-json, held in a small typed Value whose accessors name what they read in their
// errors (a tensor, a manifest field). On top of the JSON grammar the reader refuses
// duplicate keys, nesting deeper than 64 and numbers past the double range. Numbers keep
// their integer value exactly when they are integers. Objects keep their key order.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fh::json {

class Value {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Array = std::vector<Value>;
  using Object = std::vector<std::pair<std::string, Value>>;

  Value() = default;
  Value(bool b) : type_(Type::Bool), bool_(b) {}
  Value(int64_t i) : type_(Type::Number), is_int_(true), int_(i), num_(static_cast<double>(i)) {}
  Value(int i) : Value(static_cast<int64_t>(i)) {}
  Value(double d) : type_(Type::Number), num_(d) {}
  Value(std::string s) : type_(Type::String), str_(std::move(s)) {}
  Value(const char* s) : Value(std::string(s)) {}
  static Value array(Array items = {});
  static Value object(Object members = {});

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_object() const { return type_ == Type::Object; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_string() const { return type_ == Type::String; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_integer() const { return type_ == Type::Number && is_int_; }

  // Typed access; throws fh::Error naming `what` (e.g. a tensor name) on a type mismatch.
  bool as_bool(const std::string& what) const;
  int64_t as_int(const std::string& what) const;
  double as_double(const std::string& what) const;
  const std::string& as_string(const std::string& what) const;
  const Array& as_array(const std::string& what) const;
  const Object& as_object(const std::string& what) const;

  // Object members: find returns nullptr when absent; set replaces or appends.
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value v);
  // Array append.
  void push_back(Value v);
  // Appends a member known to be new (the reader has checked for duplicates).
  void set_new(std::string key, Value v);

  std::string dump() const;

 private:
  void require(Type t, const std::string& what) const;

  Type type_ = Type::Null;
  bool bool_ = false;
  bool is_int_ = false;
  int64_t int_ = 0;
  double num_ = 0;
  std::string str_;
  std::shared_ptr<Array> arr_;
  std::shared_ptr<Object> obj_;
};

// Parses one JSON document; `source` names it in error messages.
Value parse(const std::string& text, const std::string& source);

}  // namespace fh::json
