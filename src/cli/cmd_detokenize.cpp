// `swallow detokenize`: prints the text of token ids (from --ids 1,2,3, else a JSON array on
// stdin) byte for byte, without an added newline, exactly as HF tokenizers' decode gives it.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace swallow::cli {
namespace {

struct DetokenizeOptions {
  std::string model_dir;
  std::string tokenizer_file;
  std::string ids;
  bool skip_special = false;
};

std::vector<int64_t> parse_id_list(const std::string& list) {
  std::vector<int64_t> ids;
  if (list.find_first_not_of(" \t") == std::string::npos) return ids;
  size_t pos = 0;
  while (true) {
    const size_t comma = std::min(list.find(',', pos), list.size());
    std::string_view entry(list.data() + pos, comma - pos);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t')) entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    int64_t id = 0;
    const auto [ptr, ec] = std::from_chars(entry.data(), entry.data() + entry.size(), id);
    if (entry.empty() || ec != std::errc() || ptr != entry.data() + entry.size()) {
      throw invalid_argument("--ids: \"" + std::string(entry) + "\" is not an integer (expected ids separated by commas)");
    }
    ids.push_back(id);
    if (comma == list.size()) break;
    pos = comma + 1;
  }
  return ids;
}

std::vector<int64_t> parse_stdin_ids() {
  std::string data;
  char buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), stdin)) > 0) data.append(buffer, n);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(data);
  } catch (const nlohmann::json::parse_error& e) {
    throw invalid_argument(std::string("stdin is not a JSON array of token ids: ") + e.what());
  }
  if (!json.is_array()) throw invalid_argument("stdin must hold a JSON array of token ids");
  std::vector<int64_t> ids;
  for (const auto& value : json) {
    if (!value.is_number_integer()) throw invalid_argument("stdin: " + value.dump() + " is not an integer token id");
    ids.push_back(value.get<int64_t>());
  }
  return ids;
}

int run_detokenize(const DetokenizeOptions& options, bool ids_given) {
  if (options.model_dir.empty() == options.tokenizer_file.empty()) {
    throw invalid_argument("detokenize needs exactly one of --model DIR or --tokenizer FILE");
  }
  const Tokenizer tokenizer = options.model_dir.empty() ? Tokenizer::from_file(options.tokenizer_file)
                                                        : Tokenizer::from_model_dir(options.model_dir);
  const std::vector<int64_t> raw = ids_given ? parse_id_list(options.ids) : parse_stdin_ids();
  std::vector<int32_t> ids;
  ids.reserve(raw.size());
  for (const int64_t id : raw) {
    if (id < 0 || id >= tokenizer.n_vocab() || tokenizer.token_bytes(static_cast<int32_t>(id)).empty()) {
      throw invalid_argument("token id " + std::to_string(id) + " is not in the vocabulary (ids 0.." +
                             std::to_string(tokenizer.n_vocab() - 1) + ")");
    }
    ids.push_back(static_cast<int32_t>(id));
  }
  const std::string text = tokenizer.decode(ids, options.skip_special);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

const SubcommandRegistration kRegistration(
    "detokenize", "Print the text of token ids, byte for byte", [](CLI::App& sub) -> SubcommandRun {
      auto options = std::make_shared<DetokenizeOptions>();
      sub.add_option("--model", options->model_dir, "Model folder holding tokenizer.json");
      sub.add_option("--tokenizer", options->tokenizer_file, "Path of a tokenizer.json");
      CLI::Option* ids = sub.add_option("--ids", options->ids, "Comma-separated ids (default: a JSON array on stdin)");
      sub.add_flag("--skip-special", options->skip_special, "Leave special tokens out of the text");
      return [options, ids]() { return run_detokenize(*options, ids->count() > 0); };
    });

}  // namespace
}  // namespace swallow::cli
