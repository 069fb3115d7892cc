// `swallow batch --model DIR --input requests.jsonl --output results.jsonl`: the OpenAI Batch
// file format that vLLM's run_batch reads and writes, every line through the engine at once
// (continuous batching), results in input order; progress with tokens/s on stderr when it is a
// terminal. Exit code 0 even when some lines failed (their error lines say why).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/serving_setup.h"
#include "core/error.h"
#include "core/log.h"
#include "server/batch_runner.h"

namespace swallow::cli {
namespace {

struct BatchCliOptions {
  ServingFlags serving;
  std::string input;
  std::string output;
};

void print_progress(const server::BatchProgress& p) {
  const double tok_s = p.elapsed_s > 0 ? static_cast<double>(p.completion_tokens) / p.elapsed_s : 0.0;
  std::fprintf(stderr, "\r[batch] %lld/%lld lines (%lld failed), %.1f output tok/s, %.1f s",
               static_cast<long long>(p.lines_done), static_cast<long long>(p.lines_total),
               static_cast<long long>(p.lines_failed), tok_s, p.elapsed_s);
  if (p.lines_done == p.lines_total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

int run_batch_command(const BatchCliOptions& o) {
  std::ifstream input_file;
  if (o.input != "-") {
    input_file.open(o.input, std::ios::binary);
    if (!input_file) throw not_found("--input " + o.input + ": cannot open the file");
  }
  std::ofstream output_file;
  if (o.output != "-") {
    output_file.open(o.output, std::ios::binary | std::ios::trunc);
    if (!output_file) throw invalid_argument("--output " + o.output + ": cannot create the file");
  }
  ServingModel model = load_serving_model(o.serving);
  server::BatchOptions options;
  options.model_name = model.name;
  options.limits = model.limits;
  options.defaults = model.defaults;
  options.allow_special_in_content = o.serving.allow_special_in_content;
  options.max_lines_in_flight = std::max(1, o.serving.max_waiting);
  const bool show_progress = ::isatty(STDERR_FILENO) == 1;
  server::BatchProgress done = server::run_batch(
      *model.engine, *model.text, o.input == "-" ? std::cin : input_file, o.output == "-" ? std::cout : output_file, options,
      show_progress ? server::BatchProgressFn(print_progress) : nullptr);
  if (o.output != "-" && !output_file) throw internal_error("--output " + o.output + ": write failed");
  log_info("batch: " + std::to_string(done.lines_done) + " lines (" + std::to_string(done.lines_failed) + " failed), " +
           std::to_string(done.prompt_tokens) + " prompt + " + std::to_string(done.completion_tokens) +
           " generated tokens in " + std::to_string(done.elapsed_s) + " s");
  return 0;
}

const SubcommandRegistration kRegistration(
    "batch", "Run an OpenAI Batch JSONL file through the engine (vLLM run_batch format)", [](CLI::App& sub) -> SubcommandRun {
      auto o = std::make_shared<BatchCliOptions>();
      add_serving_flags(sub, o->serving);
      sub.add_option("-i,--input", o->input, "Requests, one JSON object a line ('-': stdin)")->required();
      sub.add_option("-o,--output", o->output, "Results, one JSON object a line ('-': stdout)")->required();
      return [o]() { return run_batch_command(*o); };
    });

}  // namespace
}  // namespace swallow::cli
