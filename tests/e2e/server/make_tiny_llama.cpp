// Writes the e2e suite's model: a tiny random-weight Llama (hidden 32, 2 layers, bf16, tied
// embeddings) with the real Llama 3.1 vocabulary, and the set-up cache's Llama 3.1 tokenizer
// files beside it, so `swallow serve --model DIR` runs it fast with real text.
// Usage: make_tiny_llama OUT_DIR. Exit 77 (skipped) when the tokenizer is not installed.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "tiny_llama.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_tiny_llama OUT_DIR\n");
    return 2;
  }
  const std::string out = argv[1];
  const std::string tokenizer = swallow::test::llama31_tokenizer_dir();
  if (tokenizer.empty()) {
    std::fprintf(stderr, "missing test data: the Llama 3.1 tokenizer (run scripts/setup.sh)\n");
    return swallow::test::in_ci() ? 1 : 77;
  }
  swallow::test::TinySpec spec;
  spec.vocab = 128256;
  spec.hidden = 32;
  spec.intermediate = 64;
  spec.n_heads = 4;
  spec.n_kv_heads = 2;
  spec.head_dim = 8;
  spec.max_positions = 2048;
  spec.tied = true;
  spec.dtype = swallow::DType::kBF16;
  fs::remove_all(out);
  swallow::test::write_tiny_checkpoint(out, spec, swallow::test::make_tiny_tensors(spec, 20251126));
  // The real vocabulary's special tokens instead of the helper's small-vocabulary ids.
  nlohmann::json config = nlohmann::json::parse(std::ifstream(out + "/config.json"));
  config["bos_token_id"] = 128000;
  config["eos_token_id"] = {128001, 128008, 128009};
  std::ofstream(out + "/config.json") << config.dump(2);
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"}) {
    fs::copy_file(tokenizer + "/" + file, out + "/" + file, fs::copy_options::overwrite_existing);
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
