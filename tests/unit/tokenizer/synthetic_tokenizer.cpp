// Synthetic tokenizer.json builder (see synthetic_tokenizer.h).
#include "synthetic_tokenizer.h"

#include "core/utf8.h"
#include "tokenizer/byte_level.h"

namespace swallow::test {

std::string byte_level(const std::string& bytes) { return byte_level::from_bytes(bytes); }

nlohmann::json synthetic_tokenizer_json(const std::vector<std::pair<std::string, std::string>>& merges,
                                        const std::vector<std::string>& extra_tokens) {
  nlohmann::json vocab = nlohmann::json::object();
  int next_id = 0;
  for (int b = 0; b < 256; ++b) vocab[byte_level(std::string(1, static_cast<char>(b)))] = next_id++;
  nlohmann::json merge_list = nlohmann::json::array();
  for (const auto& [left, right] : merges) {
    merge_list.push_back(byte_level(left) + " " + byte_level(right));
    if (!vocab.contains(byte_level(left + right))) vocab[byte_level(left + right)] = next_id++;
  }
  for (const std::string& token : extra_tokens) vocab[byte_level(token)] = next_id++;
  const int bos = next_id;
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens",
       {{{"id", bos}, {"content", "<s>"}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
         {"normalized", false}, {"special", true}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern",
            {{"Regex",
              "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
              "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair", nlohmann::json::array()},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {bos}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", true},
        {"vocab", vocab},
        {"merges", merge_list}}},
  };
}

Tokenizer load(const nlohmann::json& tokenizer_json) {
  return Tokenizer::from_json_text(tokenizer_json.dump(), "synthetic tokenizer.json");
}

}  // namespace swallow::test
