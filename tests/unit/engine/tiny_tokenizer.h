// A tiny synthetic Llama-3-style tokenizer for engine tests: byte-level BPE with the 256 byte
// tokens as ids 0..255, four merges ("he", "ll", "hell", "hello" = 256..259) and the special
// tokens <|begin_of_text|> (BOS, prepended by the post-processor) and <|eot_id|>.
#pragma once

#include <cstdint>

#include "tokenizer/tokenizer.h"

namespace swallow::test {

constexpr int32_t kBos = 260;
constexpr int32_t kEot = 261;

Tokenizer tiny_tokenizer();

}  // namespace swallow::test
