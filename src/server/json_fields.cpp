// FieldReader: typed field access with parameter-named errors.
#include "server/json_fields.h"

#include <cmath>
#include <limits>

#include "server/api_error.h"

namespace swallow::server {

namespace {

std::string format_bound(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e18) return std::to_string(static_cast<int64_t>(v));
  return nlohmann::json(v).dump();
}

std::string range_text(double min, double max) {
  std::string text = "[";
  text.append(format_bound(min)).append(", ").append(format_bound(max)).append("]");
  return text;
}

}  // namespace

std::string json_type_name(const nlohmann::json& value) {
  if (value.is_number_float()) return "number";
  if (value.is_number()) return "integer";
  return value.type_name();
}

FieldReader::FieldReader(const nlohmann::json& object, std::string prefix) : object_(object), prefix_(std::move(prefix)) {}

const nlohmann::json* FieldReader::raw(const std::string& name) {
  read_.insert(name);
  auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<bool> FieldReader::boolean(const std::string& name) {
  const nlohmann::json* value = raw(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) throw bad_param(param(name), "expected a boolean, got " + json_type_name(*value), "invalid_type");
  return value->get<bool>();
}

std::optional<int64_t> FieldReader::integer(const std::string& name, int64_t min, int64_t max) {
  const nlohmann::json* value = raw(name);
  if (value == nullptr) return std::nullopt;
  return integer_value(*value, param(name), min, max);
}

int64_t integer_value(const nlohmann::json& value, const std::string& param, int64_t min, int64_t max) {
  const std::string expected = "expected an integer in " + range_text(static_cast<double>(min), static_cast<double>(max));
  if (value.is_number_unsigned()) {
    uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(max) || (min > 0 && v < static_cast<uint64_t>(min))) {
      throw bad_param(param, expected + ", got " + value.dump());
    }
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    if (v < min || v > max) throw bad_param(param, expected + ", got " + value.dump());
    return v;
  }
  if (value.is_number_float()) {
    double v = value.get<double>();
    if (!std::isfinite(v) || v != std::floor(v)) throw bad_param(param, expected + ", got " + value.dump(), "invalid_type");
    // 2^63 itself is not representable as int64: compare against the bounds as doubles first.
    if (v < static_cast<double>(min) || v >= static_cast<double>(max) + 1.0) throw bad_param(param, expected + ", got " + value.dump());
    return static_cast<int64_t>(v);
  }
  throw bad_param(param, expected + ", got " + json_type_name(value), "invalid_type");
}

std::optional<double> FieldReader::number(const std::string& name, double min, double max) {
  const nlohmann::json* value = raw(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number()) {
    throw bad_param(param(name), "expected a number, got " + json_type_name(*value), "invalid_type");
  }
  double v = value->get<double>();
  if (!std::isfinite(v) || v < min || v > max) {
    throw bad_param(param(name), "expected a number in " + range_text(min, max) + ", got " + value->dump());
  }
  return v;
}

std::optional<std::string> FieldReader::string(const std::string& name) {
  const nlohmann::json* value = raw(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) throw bad_param(param(name), "expected a string, got " + json_type_name(*value), "invalid_type");
  return value->get<std::string>();
}

std::vector<std::string> FieldReader::unread() const {
  std::vector<std::string> names;
  for (const auto& [key, value] : object_.items()) {
    if (!read_.count(key)) names.push_back(key);
  }
  return names;
}

}  // namespace swallow::server
