// Loading tokenizer.json: every field that changes ids or text is checked against what this
// tokenizer implements, and anything else is refused with the field's path, so a file is either
// encoded exactly as HF tokenizers would or not loaded at all. Accepted: model BPE (vocab, merges
// as "a b" or ["a", "b"], ignore_merges), added_tokens, normalizer null, pre_tokenizer
// Sequence[Split(Llama 3 or GPT-2 regex, Isolated), ByteLevel(use_regex false)] or
// ByteLevel(use_regex true), post_processor TemplateProcessing / ByteLevel / Sequence of those,
// decoder ByteLevel, truncation and padding null.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <unordered_set>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer_impl.h"

namespace swallow {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kGpt2Regex = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
constexpr int64_t kMaxId = (int64_t{1} << 24) - 1;

// Error helpers that prefix the file name and field path.
class Fields {
 public:
  explicit Fields(std::string source) : source_(std::move(source)) {}
  [[noreturn]] void malformed(const std::string& path, const std::string& what) const {
    throw invalid_file(source_, path + ": " + what);
  }
  [[noreturn]] void unsupported_field(const std::string& path, const std::string& what) const {
    throw Error(ErrorKind::kUnsupported, source_ + ": " + path + ": " + what);
  }
  const Json* find(const Json& object, const char* key) const {
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }
  const Json& require(const Json& object, const char* key, const std::string& path) const {
    const Json* value = find(object, key);
    if (value == nullptr) malformed(path + "." + key, "missing");
    return *value;
  }
  std::string string_at(const Json& object, const char* key, const std::string& path) const {
    const Json& value = require(object, key, path);
    if (!value.is_string()) malformed(path + "." + key, "expected a string");
    return value.get<std::string>();
  }
  bool bool_at(const Json& object, const char* key, bool fallback, const std::string& path) const {
    const Json* value = find(object, key);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) malformed(path + "." + key, "expected true or false");
    return value->get<bool>();
  }
  int32_t id_at(const Json& value, const std::string& path) const {
    if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > kMaxId) {
      malformed(path, "expected a token id (integer from 0 to " + std::to_string(kMaxId) + ")");
    }
    return static_cast<int32_t>(value.get<int64_t>());
  }
  std::string type_of(const Json& object, const std::string& path) const {
    if (!object.is_object()) malformed(path, "expected an object");
    return string_at(object, "type", path);
  }

 private:
  std::string source_;
};

std::string json_quoted(std::string_view s) { return Json(std::string(s)).dump(); }

// Bytes the ByteLevel decoder makes of a token's text: the byte each character stands for, or
// the text's own UTF-8 when some character is outside the byte-level alphabet.
std::string decoded_bytes(const std::string& token_text) {
  std::optional<std::string> bytes = byte_level::to_bytes(token_text);
  return bytes ? *bytes : token_text;
}

struct ModelSpec {
  std::vector<std::pair<std::string, int32_t>> vocab;  // spelling, id
  std::vector<std::pair<std::string, std::string>> merges;
  bool ignore_merges = false;
};

ModelSpec parse_model(const Fields& f, const Json& root) {
  const Json& model = f.require(root, "model", "(root)");
  const std::string type = f.type_of(model, "model");
  if (type != "BPE") f.unsupported_field("model.type", json_quoted(type) + " is not supported (only BPE)");
  if (const Json* dropout = f.find(model, "dropout"); dropout && !(dropout->is_number() && dropout->get<double>() == 0)) {
    f.unsupported_field("model.dropout", "BPE dropout is not supported (expected null)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const Json* value = f.find(model, key);
    if (value && !(value->is_string() && value->get<std::string>().empty())) {
      f.unsupported_field(std::string("model.") + key, "is not supported (expected null)");
    }
  }
  if (f.bool_at(model, "byte_fallback", false, "model")) {
    f.unsupported_field("model.byte_fallback", "is not supported (expected false)");
  }
  ModelSpec spec;
  spec.ignore_merges = f.bool_at(model, "ignore_merges", false, "model");
  const Json& vocab = f.require(model, "vocab", "model");
  if (!vocab.is_object()) f.malformed("model.vocab", "expected an object of token -> id");
  spec.vocab.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    spec.vocab.emplace_back(it.key(), f.id_at(it.value(), "model.vocab." + json_quoted(it.key())));
  }
  const Json& merges = f.require(model, "merges", "model");
  if (!merges.is_array()) f.malformed("model.merges", "expected an array");
  spec.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const Json& merge = merges[i];
    const std::string path = "model.merges[" + std::to_string(i) + "]";
    if (merge.is_string()) {
      const std::string& line = merge.get_ref<const std::string&>();
      if (line.starts_with("#version")) continue;
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        f.malformed(path, "expected \"a b\" (two tokens separated by one space)");
      }
      spec.merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      spec.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      f.malformed(path, "expected \"a b\" or [\"a\", \"b\"]");
    }
  }
  return spec;
}

// Added tokens with the ids HF tokenizers assigns when it registers them one by one (the file's
// ids are only checked by HF, with a warning): an existing added token or vocabulary entry keeps
// its id; a new one gets the next id after the vocabulary / the highest added id.
std::vector<AddedToken> parse_added_tokens(const Fields& f, const Json& root,
                                           const std::unordered_map<std::string, int32_t>& vocab) {
  std::vector<AddedToken> tokens;
  const Json* list = f.find(root, "added_tokens");
  if (list == nullptr) return tokens;
  if (!list->is_array()) f.malformed("added_tokens", "expected an array");
  std::unordered_map<std::string, size_t> index_of;
  std::optional<int32_t> max_added;
  const auto vocab_size = static_cast<int64_t>(vocab.size());
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    const std::string path = "added_tokens[" + std::to_string(i) + "]";
    if (!item.is_object()) f.malformed(path, "expected an object");
    AddedToken token;
    token.content = f.string_at(item, "content", path);
    token.id = f.id_at(f.require(item, "id", path), path + ".id");
    token.special = f.bool_at(item, "special", false, path);
    token.single_word = f.bool_at(item, "single_word", false, path);
    token.lstrip = f.bool_at(item, "lstrip", false, path);
    token.rstrip = f.bool_at(item, "rstrip", false, path);
    token.normalized = f.bool_at(item, "normalized", !token.special, path);
    if (token.content.empty()) continue;  // HF ignores empty added tokens
    if (auto seen = index_of.find(token.content); seen != index_of.end()) {
      const AddedToken& first = tokens[seen->second];
      if (first.special == token.special && first.single_word == token.single_word && first.lstrip == token.lstrip &&
          first.rstrip == token.rstrip && first.normalized == token.normalized && first.id == token.id) {
        continue;  // an exact repeat, ignored by HF too
      }
      f.unsupported_field(path, "repeats the content " + json_quoted(token.content) + " of an earlier added token with other settings");
    }
    int32_t assigned = 0;
    if (auto in_vocab = vocab.find(token.content); in_vocab != vocab.end()) {
      assigned = in_vocab->second;
    } else if (!max_added) {
      assigned = static_cast<int32_t>(vocab_size);
    } else {
      assigned = (*max_added >= vocab_size || vocab_size == 0) ? *max_added + 1 : static_cast<int32_t>(vocab_size);
    }
    if (assigned != token.id) {
      f.unsupported_field(path + ".id", "is " + std::to_string(token.id) + " but HF tokenizers would give " +
                                            json_quoted(token.content) + " id " + std::to_string(assigned));
    }
    max_added = std::max(max_added.value_or(assigned), assigned);
    index_of.emplace(token.content, tokens.size());
    tokens.push_back(std::move(token));
  }
  return tokens;
}

SplitPattern parse_pre_tokenizer(const Fields& f, const Json& root) {
  const Json* pre = f.find(root, "pre_tokenizer");
  if (pre == nullptr) f.unsupported_field("pre_tokenizer", "null is not supported (expected a byte-level pre-tokenizer)");
  const std::string type = f.type_of(*pre, "pre_tokenizer");
  auto check_byte_level = [&](const Json& bl, const std::string& path, bool want_regex) {
    if (f.bool_at(bl, "add_prefix_space", true, path)) {
      f.unsupported_field(path + ".add_prefix_space", "true is not supported");
    }
    if (f.bool_at(bl, "use_regex", true, path) != want_regex) {
      f.unsupported_field(path + ".use_regex", want_regex ? "expected true" : "expected false after a Split");
    }
  };
  if (type == "ByteLevel") {
    check_byte_level(*pre, "pre_tokenizer", true);
    return SplitPattern::kGpt2;
  }
  if (type != "Sequence") f.unsupported_field("pre_tokenizer.type", json_quoted(type) + " is not supported");
  const Json& items = f.require(*pre, "pretokenizers", "pre_tokenizer");
  if (!items.is_array() || items.size() != 2) {
    f.unsupported_field("pre_tokenizer.pretokenizers", "expected exactly [Split, ByteLevel]");
  }
  const std::string split_path = "pre_tokenizer.pretokenizers[0]";
  if (f.type_of(items[0], split_path) != "Split") f.unsupported_field(split_path + ".type", "expected Split");
  const Json& pattern = f.require(items[0], "pattern", split_path);
  const Json* regex = pattern.is_object() ? f.find(pattern, "Regex") : nullptr;
  if (regex == nullptr || !regex->is_string()) {
    f.unsupported_field(split_path + ".pattern", "only a {\"Regex\": ...} pattern is supported");
  }
  SplitPattern result = SplitPattern::kLlama3;
  if (regex->get<std::string>() == kGpt2Regex) {
    result = SplitPattern::kGpt2;
  } else if (regex->get<std::string>() != kLlama3Regex) {
    f.unsupported_field(split_path + ".pattern.Regex", "only the Llama 3 and GPT-2 split regexes are supported");
  }
  if (f.string_at(items[0], "behavior", split_path) != "Isolated") {
    f.unsupported_field(split_path + ".behavior", "only Isolated is supported");
  }
  if (f.bool_at(items[0], "invert", false, split_path)) f.unsupported_field(split_path + ".invert", "expected false");
  const std::string bl_path = "pre_tokenizer.pretokenizers[1]";
  if (f.type_of(items[1], bl_path) != "ByteLevel") f.unsupported_field(bl_path + ".type", "expected ByteLevel");
  check_byte_level(items[1], bl_path, false);
  return result;
}

void parse_template(const Fields& f, const Json& tp, const std::string& path, Tokenizer::Impl& impl) {
  const Json& single = f.require(tp, "single", path);
  if (!single.is_array()) f.malformed(path + ".single", "expected an array");
  const Json* specials = f.find(tp, "special_tokens");
  bool seen_sequence = false;
  for (size_t i = 0; i < single.size(); ++i) {
    const std::string piece_path = path + ".single[" + std::to_string(i) + "]";
    const Json& piece = single[i];
    if (const Json* seq = piece.is_object() ? f.find(piece, "Sequence") : nullptr) {
      if (f.string_at(*seq, "id", piece_path + ".Sequence") != "A" || seen_sequence) {
        f.unsupported_field(piece_path, "a single-sequence template must hold sequence A exactly once");
      }
      seen_sequence = true;
      continue;
    }
    const Json* special = piece.is_object() ? f.find(piece, "SpecialToken") : nullptr;
    if (special == nullptr) f.malformed(piece_path, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    const std::string name = f.string_at(*special, "id", piece_path + ".SpecialToken");
    const Json* entry = specials && specials->is_object() ? f.find(*specials, name.c_str()) : nullptr;
    if (entry == nullptr) f.malformed(path + ".special_tokens", "has no entry " + json_quoted(name));
    const Json& ids = f.require(*entry, "ids", path + ".special_tokens." + json_quoted(name));
    if (!ids.is_array()) f.malformed(path + ".special_tokens." + json_quoted(name) + ".ids", "expected an array");
    for (const Json& id : ids) {
      (seen_sequence ? impl.template_suffix : impl.template_prefix).push_back(f.id_at(id, path + ".special_tokens"));
    }
  }
  if (!seen_sequence) f.unsupported_field(path + ".single", "has no sequence A");
}

void parse_post_processor(const Fields& f, const Json& root, Tokenizer::Impl& impl) {
  const Json* pp = f.find(root, "post_processor");
  if (pp == nullptr) return;
  std::vector<std::pair<const Json*, std::string>> parts;
  const std::string type = f.type_of(*pp, "post_processor");
  if (type == "Sequence") {
    const Json& list = f.require(*pp, "processors", "post_processor");
    if (!list.is_array()) f.malformed("post_processor.processors", "expected an array");
    for (size_t i = 0; i < list.size(); ++i) parts.emplace_back(&list[i], "post_processor.processors[" + std::to_string(i) + "]");
  } else {
    parts.emplace_back(pp, "post_processor");
  }
  bool seen_template = false;
  for (const auto& [part, path] : parts) {
    const std::string part_type = f.type_of(*part, path);
    if (part_type == "ByteLevel") continue;  // only adjusts offsets
    if (part_type != "TemplateProcessing" || seen_template) {
      f.unsupported_field(path + ".type", json_quoted(part_type) + " is not supported (ByteLevel and one TemplateProcessing)");
    }
    seen_template = true;
    parse_template(f, *part, path, impl);
  }
}

void check_simple_fields(const Fields& f, const Json& root) {
  if (const Json* version = f.find(root, "version"); version && *version != "1.0") {
    f.unsupported_field("version", "expected \"1.0\"");
  }
  for (const char* key : {"truncation", "padding"}) {
    if (f.find(root, key)) f.unsupported_field(key, "is not supported (expected null)");
  }
  if (const Json* normalizer = f.find(root, "normalizer")) {
    const std::string type = normalizer->is_object() && normalizer->contains("type") ? normalizer->at("type").dump() : "?";
    f.unsupported_field("normalizer", "type " + type + " is not supported (expected null)");
  }
  const Json* decoder = f.find(root, "decoder");
  if (decoder == nullptr) f.unsupported_field("decoder", "null is not supported (expected ByteLevel)");
  if (const std::string type = f.type_of(*decoder, "decoder"); type != "ByteLevel") {
    f.unsupported_field("decoder.type", json_quoted(type) + " is not supported (expected ByteLevel)");
  }
}

}  // namespace

std::shared_ptr<const Tokenizer::Impl> load_tokenizer(std::string_view json_text, const std::string& source) {
  const Fields f(source);
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::parse_error& e) {
    throw invalid_file(source, std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object()) f.malformed("(root)", "expected a JSON object");
  check_simple_fields(f, root);
  const SplitPattern pattern = parse_pre_tokenizer(f, root);
  ModelSpec model = parse_model(f, root);
  root.erase("model");  // the large part is copied out; free it early

  std::unordered_map<std::string, int32_t> vocab;
  vocab.reserve(model.vocab.size());
  int32_t max_id = -1;
  for (const auto& [text, id] : model.vocab) {
    vocab.emplace(text, id);
    max_id = std::max(max_id, id);
  }
  const std::vector<AddedToken> added = parse_added_tokens(f, root, vocab);
  for (const AddedToken& token : added) max_id = std::max(max_id, token.id);

  auto impl = std::make_shared<Tokenizer::Impl>(static_cast<size_t>(max_id + 1), pattern);
  impl->source = source;
  std::vector<bool> seen(static_cast<size_t>(max_id + 1), false);
  std::vector<int32_t> alphabet_ids;
  alphabet_ids.reserve(model.vocab.size());
  for (const auto& [text, id] : model.vocab) {
    if (seen[id]) f.malformed("model.vocab", "id " + std::to_string(id) + " is used by more than one token");
    seen[id] = true;
    if (std::optional<std::string> bytes = byte_level::to_bytes(text)) {
      impl->token_bytes.set(id, *bytes);
      alphabet_ids.push_back(id);
    } else {
      impl->token_bytes.set(id, text);
      impl->vocab_outside_alphabet.emplace(text, id);
    }
  }
  std::unordered_set<std::string> special_content;
  for (const AddedToken& token : added) {
    if (!seen[token.id]) impl->token_bytes.set(token.id, decoded_bytes(token.content));
    seen[token.id] = true;
    impl->added_by_content.emplace(token.content, token.id);
    if (token.special) special_content.insert(token.content);
  }
  impl->token_bytes.finish();
  // HF decides "special" by the token's text, for added and vocabulary ids alike.
  for (const auto& [text, id] : model.vocab) impl->special[id] = special_content.contains(text);
  for (const AddedToken& token : added) impl->special[token.id] = token.special;

  if (!MergeTable::fits(static_cast<size_t>(max_id + 1), model.merges.size())) {
    f.unsupported_field("model", "vocabulary and merges too large to index (ids < " + std::to_string(max_id + 1) +
                                     ", " + std::to_string(model.merges.size()) + " merges)");
  }
  BpeModel::Parts parts{&impl->token_bytes, std::move(alphabet_ids),
                        MergeTable(static_cast<size_t>(max_id + 1), model.merges.size()), {}, model.ignore_merges};
  for (int b = 0; b < 256; ++b) {
    std::string text;
    append_utf8(text, byte_level::char_for_byte(static_cast<uint8_t>(b)));
    auto it = vocab.find(text);
    if (it == vocab.end()) f.unsupported_field("model.vocab", "has no token for byte " + std::to_string(b) + " (" + json_quoted(text) + ")");
    parts.byte_ids[b] = it->second;
  }
  for (size_t rank = 0; rank < model.merges.size(); ++rank) {
    const auto& [left, right] = model.merges[rank];
    auto id_of = [&](const std::string& text) {
      auto it = vocab.find(text);
      if (it == vocab.end()) {
        f.malformed("model.merges[" + std::to_string(rank) + "]", "token " + json_quoted(text) + " is not in model.vocab");
      }
      return it->second;
    };
    parts.merges.set(id_of(left), id_of(right), static_cast<uint32_t>(rank), id_of(left + right));
  }
  impl->model.emplace(std::move(parts));
  impl->added.emplace(added);
  parse_post_processor(f, root, *impl);
  return impl;
}

}  // namespace swallow
