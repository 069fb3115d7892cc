// Builds small byte-level BPE tokenizer.json documents for tests: the 256 single-byte tokens
// (id = byte value), then the tokens and merges a test adds, Llama 3's pre-tokenizer, decoder
// and a BOS template. Tests edit the JSON to probe one field at a time.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace swallow::test {

// The byte-level spelling of raw bytes ("Ġ" for a space).
std::string byte_level(const std::string& bytes);

// A tokenizer.json with byte tokens 0-255, `merges` (raw-byte pairs, in rank order; each
// merged token gets the next id), `extra_tokens` (vocabulary entries without merges, raw bytes),
// and <s> (special, id after the vocabulary) as BOS.
nlohmann::json synthetic_tokenizer_json(const std::vector<std::pair<std::string, std::string>>& merges,
                                        const std::vector<std::string>& extra_tokens = {});

Tokenizer load(const nlohmann::json& tokenizer_json);

}  // namespace swallow::test
