// The Llama 3 family tokenizer: byte-level BPE loaded from a Hugging Face tokenizer.json, giving
// exactly the ids and text HF tokenizers gives (encode with added/special tokens, BOS from the
// TemplateProcessing post-processor, ByteLevel decode with from_utf8_lossy), plus a streaming
// detokenizer for generated ids. A Tokenizer is immutable after loading, cheap to copy (shared
// state) and all its methods are thread-safe (each encoding thread keeps its own BPE caches,
// about 1.5 MB, up to 6 MB); a StreamingDetokenizer belongs to one stream.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/text_span.h"

namespace swallow {

struct EncodeOptions {
  bool add_special_tokens = false;  // apply the post-processor template (Llama 3: prepend BOS)
  bool parse_special = false;       // special-token text in the input becomes its id (HF default);
                                    // when false it is plain text (HF encode_special_tokens=true)
};

class Tokenizer {
 public:
  // Loads tokenizer.json. Throws swallow::Error naming the file and field on anything malformed
  // (kInvalidFile) or not supported (kUnsupported) — it never loads something it would encode
  // differently from HF tokenizers.
  static Tokenizer from_file(const std::string& tokenizer_json_path);
  // Loads DIR/tokenizer.json of a Hugging Face model folder.
  static Tokenizer from_model_dir(const std::string& model_dir);
  // The same from the file's text; `source_name` names it in error messages.
  static Tokenizer from_json_text(std::string_view json_text, const std::string& source_name);

  // Token ids of `text`. Text that is not valid UTF-8 throws swallow::Error (kInvalidArgument)
  // naming the byte offset of the first invalid byte.
  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options) const;

  // Special-token text is recognised everywhere except where it overlaps one of `plain_spans`
  // (sorted, disjoint byte ranges of `text`); non-special added tokens are recognised everywhere.
  // Used to encode rendered chat prompts so message content cannot inject <|eot_id|>; equal to
  // encode(text, {add_special_tokens, parse_special = true}) when no span holds special-token text.
  std::vector<int32_t> encode_with_plain_spans(std::string_view text, std::span<const TextSpan> plain_spans,
                                               bool add_special_tokens) const;

  // HF tokenizers' decode (no clean_up_tokenization_spaces): the bytes of the tokens, invalid
  // UTF-8 replaced by U+FFFD as from_utf8_lossy does. Ids without a token are skipped, as in HF.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const;

  // The bytes a token stands for in decoded text ("" for an id without a token): the byte-level
  // decoding of a vocabulary entry; an added token's content.
  std::string_view token_bytes(int32_t id) const;
  // Highest id + 1, added tokens included.
  int32_t n_vocab() const;
  // Id of a vocabulary entry (its tokenizer.json spelling, e.g. "Ġthe") or added token content.
  std::optional<int32_t> token_to_id(std::string_view token_text) const;
  bool is_special(int32_t id) const;
  // The id the post-processor puts first when add_special_tokens is set, if any (Llama 3: BOS).
  std::optional<int32_t> bos_id() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
  friend class StreamingDetokenizer;
};

// Turns generated ids into text as they arrive. push() returns only whole UTF-8 characters:
// bytes of a character split over several tokens are held until it is complete. A byte sequence
// that can no longer become valid is emitted as U+FFFD as soon as that is certain; finish()
// flushes what is held. The concatenation of all returned pieces equals decode(all ids).
class StreamingDetokenizer {
 public:
  StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens);
  std::string push(int32_t id);
  std::string finish();

 private:
  Tokenizer tokenizer_;
  bool skip_special_tokens_;
  std::string pending_;  // bytes of an incomplete character
};

}  // namespace swallow
