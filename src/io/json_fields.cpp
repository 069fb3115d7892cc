// JsonFields: typed field reads with errors that name file and field.
#include "io/json_fields.h"

#include "core/error.h"
#include "core/mmap_file.h"

namespace swallow {

nlohmann::json read_json_file(const std::string& path) {
  std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw invalid_file(path, std::string("not valid JSON: ") + e.what());
  }
}

JsonFields::JsonFields(const nlohmann::json& object, std::string path, std::string prefix)
    : object_(object), path_(std::move(path)), prefix_(std::move(prefix)) {
  if (!object_.is_object()) {
    std::string what = prefix_.empty() ? "the top level" : "field '" + prefix_.substr(0, prefix_.size() - 1) + "'";
    throw invalid_file(path_, what + " must be a JSON object");
  }
}

const nlohmann::json* JsonFields::find(std::string_view key) const {
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

void JsonFields::fail(std::string_view key, const std::string& expected) const {
  std::string got;
  if (const nlohmann::json* value = find(key)) {
    got = value->dump();
    if (got.size() > 60) got = got.substr(0, 57) + "...";
  } else {
    got = "nothing";
  }
  throw invalid_file(path_, "field '" + field_name(key) + "' " + expected + " (got " + got + ")");
}

std::optional<int64_t> JsonFields::optional_integer(std::string_view key, int64_t min, int64_t max) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  std::string expected = "must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (value->is_number_unsigned()) {
    uint64_t v = value->get<uint64_t>();
    if (v > static_cast<uint64_t>(max)) fail(key, expected);
    return static_cast<int64_t>(v);
  }
  if (!value->is_number_integer()) fail(key, expected);
  int64_t v = value->get<int64_t>();
  if (v < min || v > max) fail(key, expected);
  return v;
}

int64_t JsonFields::integer(std::string_view key, int64_t min, int64_t max) const {
  std::optional<int64_t> v = optional_integer(key, min, max);
  if (!v) fail(key, "is required (an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "])");
  return *v;
}

std::optional<double> JsonFields::optional_number(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number()) fail(key, "must be a number");
  return value->get<double>();
}

double JsonFields::number(std::string_view key) const {
  std::optional<double> v = optional_number(key);
  if (!v) fail(key, "is required (a number)");
  return *v;
}

std::optional<bool> JsonFields::optional_bool(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) fail(key, "must be true or false");
  return value->get<bool>();
}

std::optional<std::string> JsonFields::optional_string(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) fail(key, "must be a string");
  return value->get<std::string>();
}

std::vector<int32_t> JsonFields::token_ids(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return {};
  const std::string expected = "must be a token id or a list of token ids (integers in [0, 2147483647])";
  auto to_id = [&](const nlohmann::json& v) -> int32_t {
    constexpr int64_t kMaxId = std::numeric_limits<int32_t>::max();
    if (v.is_number_unsigned() && v.get<uint64_t>() <= static_cast<uint64_t>(kMaxId)) {
      return static_cast<int32_t>(v.get<uint64_t>());
    }
    if (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= kMaxId) {
      return static_cast<int32_t>(v.get<int64_t>());
    }
    fail(key, expected);
  };
  if (!value->is_array()) return {to_id(*value)};
  std::vector<int32_t> ids;
  for (const nlohmann::json& v : *value) ids.push_back(to_id(v));
  return ids;
}

}  // namespace swallow
