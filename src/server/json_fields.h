// Typed, range-checked reads of a request's JSON object fields. Every error names the field
// (OpenAI's "param") and says what was expected; absent and null fields read as "not given".
// Remembers which fields were read so the caller can log the ones it ignored (as vLLM does).
// One reader per request object; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swallow::server {

class FieldReader {
 public:
  // `object` must outlive the reader; `prefix` is prepended to field names in errors
  // ("messages[2]." -> "messages[2].role").
  explicit FieldReader(const nlohmann::json& object, std::string prefix = "");

  std::optional<bool> boolean(const std::string& name);
  // Integers; a float with no fractional part is accepted (as pydantic does).
  std::optional<int64_t> integer(const std::string& name, int64_t min, int64_t max);
  // Finite numbers in [min, max].
  std::optional<double> number(const std::string& name, double min, double max);
  std::optional<std::string> string(const std::string& name);
  // The raw value (nullptr when absent or null), for fields with their own structure.
  const nlohmann::json* raw(const std::string& name);
  // Fields present in the object that were never read, in name order.
  std::vector<std::string> unread() const;
  std::string param(const std::string& name) const { return prefix_ + name; }

 private:
  const nlohmann::json& object_;
  std::string prefix_;
  std::set<std::string> read_;
};

// An integer value in [min, max] (or an integral float), else ApiError naming `param`.
int64_t integer_value(const nlohmann::json& value, const std::string& param, int64_t min, int64_t max);

// JSON type name for error messages: "string", "array", "number", ...
std::string json_type_name(const nlohmann::json& value);

}  // namespace swallow::server
