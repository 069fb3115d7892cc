// StreamingDetokenizer: appends each token's bytes to the held tail and emits the longest prefix
// that from_utf8_lossy would already decide, keeping a trailing incomplete character back.
#include "core/utf8.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace swallow {

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}

std::string StreamingDetokenizer::push(int32_t id) {
  const Tokenizer::Impl& impl = *tokenizer_.impl_;
  std::string out;
  if (!impl.has_token(id) || (skip_special_tokens_ && impl.special[id])) return out;
  pending_ += impl.token_bytes.get(id);
  const size_t consumed = append_utf8_lossy(out, pending_, false);
  pending_.erase(0, consumed);
  return out;
}

std::string StreamingDetokenizer::finish() {
  std::string out;
  append_utf8_lossy(out, pending_, true);
  pending_.clear();
  return out;
}

}  // namespace swallow
