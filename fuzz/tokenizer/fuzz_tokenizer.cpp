// libFuzzer target for the tokenizer (built and run by scripts/fuzz-tokenizer.sh). On arbitrary
// bytes it checks the invariants: valid UTF-8 encodes (with and without special tokens, and with
// plain spans) to in-range ids whose decode is the input; invalid UTF-8 is refused with
// kInvalidArgument; decoding arbitrary ids gives valid UTF-8, and streaming decode equals it.
// The tokenizer is $SWALLOW_TOKENIZER_JSON, else the Llama 3.1 one in the set-up cache.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/tokenizer.h"

namespace {

const swallow::Tokenizer* tokenizer = nullptr;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    __builtin_trap();
  }
}

std::string tokenizer_path() {
  if (const char* path = std::getenv("SWALLOW_TOKENIZER_JSON"); path && *path) return path;
  const char* cache = std::getenv("SWALLOW_CACHE");
  const char* home = std::getenv("HOME");
  const std::string dir = cache && *cache ? std::string(cache) : std::string(home ? home : ".") + "/.cache/swallow";
  return dir + "/llama3.1-tokenizer/tokenizer.json";
}

void check_encode(std::string_view text, bool valid, bool parse_special) {
  try {
    const std::vector<int32_t> ids = tokenizer->encode(text, {.add_special_tokens = false, .parse_special = parse_special});
    check(valid, "invalid UTF-8 was encoded");
    for (const int32_t id : ids) check(id >= 0 && id < tokenizer->n_vocab(), "id out of range");
    check(tokenizer->decode(ids, false) == text, "decode(encode(text)) != text");
  } catch (const swallow::Error& e) {
    check(!valid && e.kind() == swallow::ErrorKind::kInvalidArgument, "valid UTF-8 refused");
  }
}

void check_plain_spans(std::string_view text) {
  // Spans cut from the first bytes: [a, b) with a <= b clamped into the text.
  std::vector<swallow::TextSpan> spans;
  size_t at = 0;
  for (size_t i = 0; i + 1 < text.size() && i < 8; i += 2) {
    const size_t begin = at + static_cast<unsigned char>(text[i]) % 16;
    const size_t end = begin + static_cast<unsigned char>(text[i + 1]) % 32;
    if (end > text.size()) break;
    spans.push_back({begin, end});
    at = end;
  }
  const std::vector<int32_t> ids = tokenizer->encode_with_plain_spans(text, spans, true);
  check(tokenizer->decode(ids, true) == text, "decode(encode_with_plain_spans(text)) != text");
}

void check_decode(const uint8_t* data, size_t size) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i + 2 < size; i += 3) {
    const uint32_t raw = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16);
    ids.push_back(static_cast<int32_t>(raw % static_cast<uint32_t>(tokenizer->n_vocab() + 8)));
  }
  for (const bool skip : {false, true}) {
    const std::string text = tokenizer->decode(ids, skip);
    check(!swallow::find_invalid_utf8(text).has_value(), "decode produced invalid UTF-8");
    swallow::StreamingDetokenizer stream(*tokenizer, skip);
    std::string streamed;
    for (const int32_t id : ids) {
      const std::string piece = stream.push(id);
      check(!swallow::find_invalid_utf8(piece).has_value(), "streaming piece is not valid UTF-8");
      streamed += piece;
    }
    streamed += stream.finish();
    check(streamed == text, "streaming decode != decode");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static const swallow::Tokenizer loaded = swallow::Tokenizer::from_file(tokenizer_path());
  tokenizer = &loaded;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool valid = !swallow::find_invalid_utf8(text).has_value();
  check_encode(text, valid, false);
  check_encode(text, valid, true);
  if (valid) check_plain_spans(text);
  check_decode(data, size);
  return 0;
}
