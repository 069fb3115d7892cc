// `swallow generate`: one raw completion through the engine. The prompt (--prompt, or
// --prompt-file, "-" for stdin, read byte for byte) gets the tokenizer's BOS. Text format
// streams the completion to stdout as whole UTF-8 characters and prints a summary on stderr;
// json prints one object: text, token ids, finish reason, usage and timings.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.h"
#include "cli/engine_session.h"
#include "cli/sampling_flags.h"
#include "core/error.h"
#include "core/mmap_file.h"

namespace swallow::cli {
namespace {

struct GenerateOptions {
  ModelOptions model;
  EngineFlags engine;
  SamplingFlags sampling;
  std::string prompt;
  std::string prompt_file;
  std::string format = "text";
};

struct Completion {
  std::string text;
  std::vector<int32_t> token_ids;
  RequestEvent last;  // the kFinished event
};

std::string prompt_text(const GenerateOptions& o, bool prompt_given) {
  if (prompt_given == !o.prompt_file.empty()) throw invalid_argument("give exactly one of --prompt or --prompt-file");
  if (prompt_given) return o.prompt;
  return read_file(o.prompt_file == "-" ? "/dev/stdin" : o.prompt_file);
}

Completion complete(Engine& engine, GenerationRequest request, bool stream_text) {
  std::shared_ptr<RequestStream> stream = engine.submit(std::move(request));
  Completion out;
  RequestEvent event;
  while (stream->next(event)) {
    if (event.kind == RequestEvent::Kind::kError) throw internal_error("generation failed: " + event.error);
    out.text += event.text;
    out.token_ids.insert(out.token_ids.end(), event.token_ids.begin(), event.token_ids.end());
    if (stream_text && !event.text.empty()) {
      std::fwrite(event.text.data(), 1, event.text.size(), stdout);
      std::fflush(stdout);
    }
    if (event.kind == RequestEvent::Kind::kFinished) out.last = event;
  }
  return out;
}

nlohmann::json to_json(const Completion& c) {
  const RequestEvent& e = c.last;
  const RequestTimings& t = e.timings;
  nlohmann::json stop_reason = nullptr;
  if (e.stop_reason) stop_reason = *e.stop_reason;
  if (e.stop_token_id) stop_reason = *e.stop_token_id;
  return {{"text", c.text},
          {"token_ids", c.token_ids},
          {"finish_reason", e.finish_reason ? finish_reason_name(*e.finish_reason) : "abort"},
          {"stop_reason", stop_reason},
          {"usage",
           {{"prompt_tokens", e.prompt_tokens},
            {"completion_tokens", e.completion_tokens},
            {"total_tokens", e.prompt_tokens + e.completion_tokens}}},
          {"timings",
           {{"queue_s", t.queue_s},
            {"time_to_first_token_s", t.time_to_first_token_s},
            {"time_per_output_token_s", t.time_per_output_token_s},
            {"total_s", t.total_s}}}};
}

int run_generate(const GenerateOptions& o, bool prompt_given) {
  GenerationRequest request;
  request.prompt_text = prompt_text(o, prompt_given);
  std::unique_ptr<EngineSession> session = start_engine(o.model, o.engine);
  apply_sampling_flags(o.sampling, session->model.generation, request);
  const bool text = o.format == "text";
  Completion c = complete(*session->engine, std::move(request), text);
  if (!text) {
    std::string json = to_json(c).dump(2) + "\n";
    std::fwrite(json.data(), 1, json.size(), stdout);
    return 0;
  }
  if (::isatty(STDOUT_FILENO) != 0) std::fputc('\n', stdout);
  const RequestTimings& t = c.last.timings;
  std::fprintf(stderr, "[%d prompt tokens, %d generated (%s); first token after %.2f s, then %.2f tok/s]\n",
               c.last.prompt_tokens, c.last.completion_tokens,
               c.last.finish_reason ? finish_reason_name(*c.last.finish_reason) : "?", t.time_to_first_token_s,
               t.time_per_output_token_s > 0 ? 1.0 / t.time_per_output_token_s : 0.0);
  return 0;
}

const SubcommandRegistration kRegistration(
    "generate", "Complete a raw prompt (with BOS) through the engine", [](CLI::App& sub) -> SubcommandRun {
      auto options = std::make_shared<GenerateOptions>();
      add_model_options(sub, options->model);
      add_engine_flags(sub, options->engine);
      add_sampling_flags(sub, options->sampling);
      CLI::Option* prompt = sub.add_option("--prompt", options->prompt, "prompt text");
      sub.add_option("--prompt-file", options->prompt_file, "file holding the prompt, byte for byte ('-': stdin)");
      sub.add_option("--format", options->format, "text or json")
          ->check(CLI::IsMember({"text", "json"}))
          ->capture_default_str();
      return [options, prompt]() { return run_generate(*options, prompt->count() > 0); };
    });

}  // namespace
}  // namespace swallow::cli
