// `swallow chat`: a conversation through the model's chat template and the engine. With
// --prompt it answers once; otherwise each line of stdin is a user turn (the prompt "> " is shown
// on stderr when stdin is a terminal) and the history is kept. Answers stream to stdout as whole
// UTF-8 characters; after each one, tokens and tokens/s go to stderr.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/command.h"
#include "cli/engine_session.h"
#include "cli/sampling_flags.h"
#include "core/error.h"

namespace swallow::cli {
namespace {

struct ChatOptions {
  ModelOptions model;
  EngineFlags engine;
  SamplingFlags sampling;
  std::string system;
  std::string prompt;
};

nlohmann::ordered_json message(const std::string& role, const std::string& content) {
  return {{"role", role}, {"content", content}};
}

// Streams one answer to stdout and returns its text.
std::string answer(Engine& engine, GenerationRequest request) {
  std::shared_ptr<RequestStream> stream = engine.submit(std::move(request));
  std::string text;
  RequestEvent event;
  while (stream->next(event)) {
    if (event.kind == RequestEvent::Kind::kError) throw internal_error("generation failed: " + event.error);
    std::fwrite(event.text.data(), 1, event.text.size(), stdout);
    std::fflush(stdout);
    text += event.text;
    if (event.kind != RequestEvent::Kind::kFinished) continue;
    const RequestTimings& t = event.timings;
    const double rate = t.total_s > 0 ? event.completion_tokens / t.total_s : 0.0;
    const double decode_rate = t.time_per_output_token_s > 0 ? 1.0 / t.time_per_output_token_s : 0.0;
    std::fputc('\n', stdout);
    std::fflush(stdout);
    std::fprintf(stderr, "[%d tokens, %.2f tok/s (decoding %.2f tok/s); first token after %.2f s; %s]\n",
                 event.completion_tokens, rate, decode_rate, t.time_to_first_token_s,
                 event.finish_reason ? finish_reason_name(*event.finish_reason) : "?");
  }
  return text;
}

int run_chat(const ChatOptions& o, bool one_shot) {
  std::unique_ptr<EngineSession> session = start_engine(o.model, o.engine);
  GenerationRequest base;
  apply_sampling_flags(o.sampling, session->model.generation, base);
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  if (!o.system.empty()) messages.push_back(message("system", o.system));

  const bool interactive = ::isatty(STDIN_FILENO) != 0;
  std::string line;
  for (;;) {
    if (one_shot) {
      line = o.prompt;
    } else {
      if (interactive) std::fputs("> ", stderr);
      if (!std::getline(std::cin, line)) break;
      if (line.empty()) continue;
    }
    messages.push_back(message("user", line));
    GenerationRequest request = base;
    request.chat = nlohmann::ordered_json{{"messages", messages}};
    messages.push_back(message("assistant", answer(*session->engine, std::move(request))));
    if (one_shot) break;
  }
  return 0;
}

const SubcommandRegistration kRegistration(
    "chat", "Chat with a model through its chat template", [](CLI::App& sub) -> SubcommandRun {
      auto options = std::make_shared<ChatOptions>();
      add_model_options(sub, options->model);
      add_engine_flags(sub, options->engine);
      add_sampling_flags(sub, options->sampling);
      sub.add_option("--system", options->system, "system message");
      CLI::Option* prompt = sub.add_option("--prompt", options->prompt, "answer this one message and exit");
      return [options, prompt]() { return run_chat(*options, prompt->count() > 0); };
    });

}  // namespace
}  // namespace swallow::cli
