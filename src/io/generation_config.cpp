// parse_generation_config / load_generation_config: generation_config.json -> GenerationConfig.
// Only fields the engine uses are read; each is type- and range-checked.
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "io/json_fields.h"
#include "io/model_config.h"

namespace swallow {
namespace {

// A number that must satisfy `ok`, else the error says `expected`.
template <class Ok>
std::optional<double> checked_number(const JsonFields& f, const char* key, Ok ok, const char* expected) {
  std::optional<double> v = f.optional_number(key);
  if (v && !ok(*v)) f.fail(key, expected);
  return v;
}

}  // namespace

GenerationConfig parse_generation_config(const nlohmann::json& config, const std::string& path_for_errors) {
  JsonFields f(config, path_for_errors);
  GenerationConfig g;
  g.eos_token_ids = f.token_ids("eos_token_id");
  if (std::optional<int64_t> bos = f.optional_integer("bos_token_id", 0, std::numeric_limits<int32_t>::max())) {
    g.bos_token_id = static_cast<int32_t>(*bos);
  }
  g.do_sample = f.optional_bool("do_sample");
  g.temperature = checked_number(f, "temperature", [](double v) { return v >= 0; }, "must be >= 0");
  g.top_p = checked_number(f, "top_p", [](double v) { return v > 0 && v <= 1; }, "must be in (0, 1]");
  g.min_p = checked_number(f, "min_p", [](double v) { return v >= 0 && v <= 1; }, "must be in [0, 1]");
  g.repetition_penalty = checked_number(f, "repetition_penalty", [](double v) { return v > 0; }, "must be > 0");
  g.top_k = f.optional_integer("top_k", 0);
  g.max_new_tokens = f.optional_integer("max_new_tokens", 0);
  return g;
}

GenerationConfig load_generation_config(const std::string& model_dir) {
  std::string path = model_dir + "/generation_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  return parse_generation_config(read_json_file(path), path);
}

}  // namespace swallow
