// Tokenizer: encode = validate UTF-8 -> cut out added tokens -> split the rest with the
// pre-tokenizer -> BPE each piece -> post-processor template; decode = token bytes joined, then
// from_utf8_lossy. Per-call scratch lives on the stack or in thread_local buffers.
#include "tokenizer/tokenizer.h"

#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/mmap_file.h"
#include "core/utf8.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer_impl.h"

namespace swallow {
namespace {

void require_utf8(std::string_view text) {
  if (const std::optional<size_t> bad = find_invalid_utf8(text)) {
    char byte[8];
    std::snprintf(byte, sizeof(byte), "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(text[*bad])));
    throw invalid_argument("text to tokenize is not valid UTF-8: byte " + std::string(byte) + " at offset " +
                           std::to_string(*bad) + " does not start a valid character");
  }
}

void require_spans(std::span<const TextSpan> spans, size_t text_size) {
  size_t previous_end = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    const TextSpan& s = spans[i];
    if (s.begin > s.end || s.end > text_size || s.begin < previous_end) {
      throw invalid_argument("plain span " + std::to_string(i) + " [" + std::to_string(s.begin) + ", " +
                             std::to_string(s.end) + ") is not sorted, disjoint and inside the text (" +
                             std::to_string(text_size) + " bytes)");
    }
    previous_end = s.end;
  }
}

}  // namespace

std::vector<int32_t> Tokenizer::Impl::encode(std::string_view text, const SpecialTokenPolicy& policy,
                                             bool add_special_tokens) const {
  require_utf8(text);
  thread_local std::vector<TextSplit> splits;
  splits.clear();
  added->split(text, policy, splits);
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 2 + template_prefix.size() + template_suffix.size());
  if (add_special_tokens) ids.insert(ids.end(), template_prefix.begin(), template_prefix.end());
  for (const TextSplit& split : splits) {
    if (split.token_id >= 0) {
      ids.push_back(split.token_id);
      continue;
    }
    pre_tokenizer.split(text.substr(split.begin, split.end - split.begin),
                        [&](std::string_view piece) { model->encode_piece(piece, ids); });
  }
  if (add_special_tokens) ids.insert(ids.end(), template_suffix.begin(), template_suffix.end());
  return ids;
}

Tokenizer Tokenizer::from_file(const std::string& tokenizer_json_path) {
  const std::string text = read_file(tokenizer_json_path);
  return Tokenizer(load_tokenizer(text, tokenizer_json_path));
}

Tokenizer Tokenizer::from_model_dir(const std::string& model_dir) {
  const std::string path = model_dir + "/tokenizer.json";
  if (!std::filesystem::exists(path)) throw not_found("model folder " + model_dir + " has no tokenizer.json");
  return from_file(path);
}

Tokenizer Tokenizer::from_json_text(std::string_view json_text, const std::string& source_name) {
  return Tokenizer(load_tokenizer(json_text, source_name));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  return impl_->encode(text, SpecialTokenPolicy{options.parse_special, {}}, options.add_special_tokens);
}

std::vector<int32_t> Tokenizer::encode_with_plain_spans(std::string_view text, std::span<const TextSpan> plain_spans,
                                                        bool add_special_tokens) const {
  require_spans(plain_spans, text.size());
  return impl_->encode(text, SpecialTokenPolicy{true, plain_spans}, add_special_tokens);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string bytes;
  for (const int32_t id : ids) {
    if (!impl_->has_token(id) || (skip_special_tokens && impl_->special[id])) continue;
    bytes += impl_->token_bytes.get(id);
  }
  if (!find_invalid_utf8(bytes)) return bytes;
  return utf8_lossy(bytes);
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  return impl_->has_token(id) ? impl_->token_bytes.get(id) : std::string_view();
}

int32_t Tokenizer::n_vocab() const { return static_cast<int32_t>(impl_->token_bytes.size()); }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token_text) const {
  if (auto it = impl_->added_by_content.find(std::string(token_text)); it != impl_->added_by_content.end()) {
    return it->second;
  }
  if (auto it = impl_->vocab_outside_alphabet.find(std::string(token_text)); it != impl_->vocab_outside_alphabet.end()) {
    return it->second;
  }
  if (find_invalid_utf8(token_text)) return std::nullopt;
  const std::optional<std::string> bytes = byte_level::to_bytes(token_text);
  if (!bytes) return std::nullopt;
  return impl_->model->find_vocab(*bytes);
}

bool Tokenizer::is_special(int32_t id) const { return impl_->has_token(id) && impl_->special[id]; }

std::optional<int32_t> Tokenizer::bos_id() const {
  if (impl_->template_prefix.empty()) return std::nullopt;
  return impl_->template_prefix.front();
}

}  // namespace swallow
