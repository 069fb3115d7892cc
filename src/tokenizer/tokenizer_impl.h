// Internal state of a loaded Tokenizer (shared, immutable): token bytes and flags per id, the
// added-token matcher, pre-tokenizer, BPE model and post-processor template. Built only by
// load_tokenizer (tokenizer_json.cpp); read by tokenizer.cpp and streaming_detokenizer.cpp.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/flat_maps.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace swallow {

struct Tokenizer::Impl {
  Impl(size_t n_ids, SplitPattern pattern) : token_bytes(n_ids), special(n_ids, false), pre_tokenizer(pattern) {}

  std::string source;                 // tokenizer.json path, for messages
  TokenBytes token_bytes;             // [n_vocab] decoded bytes of each id
  std::vector<bool> special;          // [n_vocab] decode(skip_special_tokens) drops these
  std::unordered_map<std::string, int32_t> added_by_content;
  std::unordered_map<std::string, int32_t> vocab_outside_alphabet;  // vocab spellings not byte-level
  std::optional<AddedVocabulary> added;
  PreTokenizer pre_tokenizer;
  std::optional<BpeModel> model;
  std::vector<int32_t> template_prefix;  // ids the post-processor puts before the sequence
  std::vector<int32_t> template_suffix;  // and after it

  bool has_token(int32_t id) const { return token_bytes.has(id); }
  std::vector<int32_t> encode(std::string_view text, const SpecialTokenPolicy& policy, bool add_special_tokens) const;
};

// Parses and validates tokenizer.json text; throws swallow::Error naming `source` and the field.
std::shared_ptr<const Tokenizer::Impl> load_tokenizer(std::string_view json_text, const std::string& source);

}  // namespace swallow
