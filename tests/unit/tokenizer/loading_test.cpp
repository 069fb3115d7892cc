// Loading tokenizer.json: what is accepted, and that everything else is refused with an error
// naming the file and the field (never loaded and encoded differently from HF tokenizers).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "core/error.h"
#include "synthetic_tokenizer.h"

using namespace swallow;
using nlohmann::json;
using swallow::test::load;
using swallow::test::synthetic_tokenizer_json;

namespace {

// Loads a mutated synthetic tokenizer.json and expects an error of `kind` mentioning `field`.
void expect_refused(const std::function<void(json&)>& mutate, ErrorKind kind, const std::string& field) {
  json j = synthetic_tokenizer_json({{"a", "b"}});
  mutate(j);
  try {
    load(j);
    ADD_FAILURE() << "loaded a tokenizer.json with an unsupported or malformed " << field;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    const std::string message = e.what();
    EXPECT_NE(message.find(field), std::string::npos) << message;
    EXPECT_NE(message.find("synthetic tokenizer.json"), std::string::npos) << message;
  }
}

}  // namespace

TEST(Loading, RefusesUnsupportedComponents) {
  const auto unsupported = ErrorKind::kUnsupported;
  expect_refused([](json& j) { j["normalizer"] = {{"type", "NFC"}}; }, unsupported, "normalizer");
  expect_refused([](json& j) { j["model"]["type"] = "WordPiece"; }, unsupported, "model.type");
  expect_refused([](json& j) { j["model"]["type"] = "Unigram"; }, unsupported, "model.type");
  expect_refused([](json& j) { j["model"]["dropout"] = 0.1; }, unsupported, "model.dropout");
  expect_refused([](json& j) { j["model"]["byte_fallback"] = true; }, unsupported, "model.byte_fallback");
  expect_refused([](json& j) { j["model"]["continuing_subword_prefix"] = "##"; }, unsupported,
                 "model.continuing_subword_prefix");
  expect_refused([](json& j) { j["pre_tokenizer"] = {{"type", "Metaspace"}}; }, unsupported, "pre_tokenizer.type");
  expect_refused([](json& j) { j["pre_tokenizer"] = nullptr; }, unsupported, "pre_tokenizer");
  expect_refused([](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+"; }, unsupported,
                 "pre_tokenizer.pretokenizers[0].pattern.Regex");
  expect_refused([](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed"; }, unsupported,
                 "pre_tokenizer.pretokenizers[0].behavior");
  expect_refused([](json& j) { j["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true; }, unsupported,
                 "pre_tokenizer.pretokenizers[1].add_prefix_space");
  expect_refused([](json& j) { j["pre_tokenizer"]["pretokenizers"][1]["use_regex"] = true; }, unsupported,
                 "pre_tokenizer.pretokenizers[1].use_regex");
  expect_refused([](json& j) { j["decoder"] = {{"type", "WordPiece"}}; }, unsupported, "decoder.type");
  expect_refused([](json& j) { j["decoder"] = nullptr; }, unsupported, "decoder");
  expect_refused([](json& j) { j["post_processor"] = {{"type", "BertProcessing"}}; }, unsupported,
                 "post_processor.type");
  expect_refused([](json& j) { j["truncation"] = {{"max_length", 8}}; }, unsupported, "truncation");
  expect_refused([](json& j) { j["padding"] = {{"strategy", "BatchLongest"}}; }, unsupported, "padding");
  expect_refused(
      [](json& j) {
        j["model"]["vocab"].erase(test::byte_level("\xFF"));
        j["model"]["vocab"]["zz"] = 255;
      },
      unsupported, "model.vocab");
}

TEST(Loading, RefusesMalformedFields) {
  const auto malformed = ErrorKind::kInvalidFile;
  expect_refused([](json& j) { j["model"]["merges"][0] = "a b c"; }, malformed, "model.merges[0]");
  expect_refused([](json& j) { j["model"]["merges"][0] = json::array({"a"}); }, malformed, "model.merges[0]");
  expect_refused([](json& j) { j["model"]["merges"][0] = "a zz"; }, malformed, "model.merges[0]");
  expect_refused([](json& j) { j["model"]["vocab"]["a"] = "one"; }, malformed, "model.vocab");
  expect_refused([](json& j) { j["model"].erase("vocab"); }, malformed, "model.vocab");
  expect_refused([](json& j) { j["added_tokens"][0].erase("content"); }, malformed, "added_tokens[0].content");
  expect_refused([](json& j) { j["post_processor"]["single"][0]["SpecialToken"]["id"] = "</s>"; }, malformed,
                 "post_processor.special_tokens");
  try {
    Tokenizer::from_json_text("{\"model\": ", "broken.json");
    ADD_FAILURE() << "parsed broken JSON";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidFile);
    EXPECT_NE(std::string(e.what()).find("broken.json: not valid JSON"), std::string::npos) << e.what();
  }
}

TEST(Loading, AcceptsTheSupportedVariants) {
  json j = synthetic_tokenizer_json({{"a", "b"}});
  const int32_t bos = load(j).bos_id().value();
  // Llama 3.1's post-processor: Sequence[ByteLevel, TemplateProcessing].
  json sequence = j;
  sequence["post_processor"] = {{"type", "Sequence"},
                                {"processors", {{{"type", "ByteLevel"}, {"trim_offsets", false}}, j["post_processor"]}}};
  EXPECT_EQ(load(sequence).encode("ab", {.add_special_tokens = true}), (std::vector<int32_t>{bos, 256}));
  // No post-processor: add_special_tokens adds nothing.
  json none = j;
  none["post_processor"] = nullptr;
  EXPECT_FALSE(load(none).bos_id().has_value());
  EXPECT_EQ(load(none).encode("ab", {.add_special_tokens = true}), (std::vector<int32_t>{256}));
  // A template with a token after the sequence.
  json suffix = j;
  suffix["post_processor"]["single"] = {{{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                        {{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}};
  EXPECT_EQ(load(suffix).encode("ab", {.add_special_tokens = true}), (std::vector<int32_t>{256, bos}));
  EXPECT_FALSE(load(suffix).bos_id().has_value());
  // GPT-2 style: a bare ByteLevel pre-tokenizer with its own regex.
  json gpt2 = j;
  gpt2["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  EXPECT_EQ(load(gpt2).decode(load(gpt2).encode("I'M 12345 ab", {}), false), "I'M 12345 ab");
}

TEST(Loading, FromFileAndModelDir) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "swallow_tokenizer_loading_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << synthetic_tokenizer_json({{"a", "b"}}).dump();
  EXPECT_EQ(Tokenizer::from_file((dir / "tokenizer.json").string()).encode("ab", {}), (std::vector<int32_t>{256}));
  EXPECT_EQ(Tokenizer::from_model_dir(dir.string()).n_vocab(), 258);
  std::filesystem::remove_all(dir);
  try {
    Tokenizer::from_model_dir(dir.string());
    ADD_FAILURE() << "loaded from a missing folder";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
  EXPECT_THROW(Tokenizer::from_file((dir / "missing.json").string()), Error);
}
