// `swallow perplexity`: perplexity of a text file as llama-perplexity computes it: the text is
// tokenized with BOS, cut into chunks of --context tokens whose first token is replaced by BOS,
// and in each chunk the second half of the tokens is scored given everything before it. Prints
// the running estimate after each chunk and the final PPL with its standard error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "core/mmap_file.h"
#include "model/single_sequence.h"
#include "tokenizer/tokenizer.h"

namespace swallow::cli {
namespace {

struct PerplexityOptions {
  ModelOptions model;
  std::string file;
  int32_t context = 512;
  int32_t max_chunks = 0;  // 0: all
  std::string format = "text";
};

// -log softmax(row)[token], in double.
double negative_log_likelihood(std::span<const float> row, int32_t token) {
  const float max_logit = *std::max_element(row.begin(), row.end());
  double sum = 0;
  for (float v : row) sum += std::exp(static_cast<double>(v) - max_logit);
  return -(static_cast<double>(row[token]) - max_logit - std::log(sum));
}

int run_perplexity(const PerplexityOptions& o) {
  ModelOptions model_options = o.model;
  if (model_options.max_model_len == 0) model_options.max_model_len = o.context;
  LoadedModel model = load_model(model_options);
  if (model.tokenizer_dir.empty()) throw not_found("perplexity: no tokenizer.json in the --model folder");
  const Tokenizer tokenizer = Tokenizer::from_model_dir(model.tokenizer_dir);
  const std::vector<int32_t> tokens = tokenizer.encode(read_file(o.file), {.add_special_tokens = true});
  const int32_t n_ctx = o.context;
  if (n_ctx < 4) throw invalid_argument("--context must be at least 4");
  if (n_ctx > model.runner->max_model_len()) {
    throw invalid_argument("--context " + std::to_string(n_ctx) + " exceeds max_model_len " +
                           std::to_string(model.runner->max_model_len()));
  }
  int64_t n_chunks = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (o.max_chunks > 0) n_chunks = std::min<int64_t>(n_chunks, o.max_chunks);
  if (n_chunks == 0) {
    throw invalid_argument(o.file + " has " + std::to_string(tokens.size()) + " tokens, fewer than one --context of " +
                           std::to_string(n_ctx));
  }
  const int32_t first = n_ctx / 2;  // positions [first, n_ctx - 1) are scored
  std::vector<int32_t> scored(static_cast<size_t>(n_ctx - 1 - first));
  std::iota(scored.begin(), scored.end(), first);
  const bool text = o.format == "text";
  if (text) {
    std::printf("perplexity: %zu tokens, %lld chunks of %d, scoring the last %d tokens of each\n", tokens.size(),
                static_cast<long long>(n_chunks), n_ctx, n_ctx - first - 1);
  }

  SingleSequence seq(*model.runner);
  const size_t vocab = static_cast<size_t>(model.runner->vocab_size());
  double nll = 0, nll2 = 0;
  int64_t count = 0;
  std::vector<double> running;  // ppl after each chunk
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::vector<int32_t> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
    if (tokenizer.bos_id()) chunk[0] = *tokenizer.bos_id();
    seq.clear();
    const std::vector<float> logits = seq.append(chunk, scored);  // [scored, vocab]
    for (size_t i = 0; i < scored.size(); ++i) {
      const double v = negative_log_likelihood(std::span(logits).subspan(i * vocab, vocab), chunk[scored[i] + 1]);
      nll += v;
      nll2 += v * v;
      ++count;
    }
    running.push_back(std::exp(nll / static_cast<double>(count)));
    if (text) {
      std::printf("[%lld]%.4f,", static_cast<long long>(c + 1), running.back());
      std::fflush(stdout);
    }
  }
  const double mean = nll / static_cast<double>(count);
  const double variance = nll2 / static_cast<double>(count) - mean * mean;
  const double ppl = std::exp(mean);
  const double ppl_error = variance > 0 ? ppl * std::sqrt(variance / static_cast<double>(count - 1)) : 0.0;
  if (text) {
    std::printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", ppl, ppl_error);
  } else {
    nlohmann::json out = {{"model", model.name}, {"file", o.file},           {"n_tokens", tokens.size()},
                          {"context", n_ctx},    {"n_chunks", n_chunks},     {"n_scored", count},
                          {"ppl", ppl},          {"ppl_stderr", ppl_error},  {"chunk_running_ppl", running}};
    std::printf("%s\n", out.dump().c_str());
  }
  return 0;
}

const SubcommandRegistration kRegistration(
    "perplexity", "Perplexity of a text file, computed as llama-perplexity does", [](CLI::App& sub) -> SubcommandRun {
      auto o = std::make_shared<PerplexityOptions>();
      add_model_options(sub, o->model);
      sub.add_option("--file", o->file, "text file, read byte for byte")->required();
      sub.add_option("--context", o->context, "tokens per chunk")->capture_default_str();
      sub.add_option("--chunks", o->max_chunks, "score at most this many chunks (0: all)")->capture_default_str();
      sub.add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
      return [o]() { return run_perplexity(*o); };
    });

}  // namespace
}  // namespace swallow::cli
