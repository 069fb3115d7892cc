// Typed reads of the fields of one JSON object from a config file (internal to src/io). Errors
// are invalid_file naming the file, the field ("rope_scaling.factor") and what was expected; a
// field that is absent or null counts as absent. Holds a reference to the JSON: use it while the
// JSON lives. Thread-safe for concurrent reads.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swallow {

// Parses a JSON file: not_found when it is missing, invalid_file (naming it) when not JSON.
nlohmann::json read_json_file(const std::string& path);

class JsonFields {
 public:
  // `prefix` is prepended to field names in messages, e.g. "rope_scaling.".
  JsonFields(const nlohmann::json& object, std::string path, std::string prefix = "");

  const std::string& path() const { return path_; }
  // prefix + key, as shown in messages.
  std::string field_name(std::string_view key) const { return prefix_ + std::string(key); }
  // nullptr when the field is absent or null.
  const nlohmann::json* find(std::string_view key) const;

  int64_t integer(std::string_view key, int64_t min = 0,
                  int64_t max = std::numeric_limits<int64_t>::max()) const;
  std::optional<int64_t> optional_integer(std::string_view key, int64_t min = 0,
                                          int64_t max = std::numeric_limits<int64_t>::max()) const;
  double number(std::string_view key) const;
  std::optional<double> optional_number(std::string_view key) const;
  std::optional<bool> optional_bool(std::string_view key) const;
  std::optional<std::string> optional_string(std::string_view key) const;
  // A token id or a list of them (each in [0, 2^31-1]); empty when absent.
  std::vector<int32_t> token_ids(std::string_view key) const;

  // Throws invalid_file: "<path>: field '<prefix><key>' <expected> (got <value>)".
  [[noreturn]] void fail(std::string_view key, const std::string& expected) const;

 private:
  const nlohmann::json& object_;
  std::string path_;
  std::string prefix_;
};

}  // namespace swallow
