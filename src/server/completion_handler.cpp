// Engine streams -> OpenAI responses (see completion_handler.h).
#include "server/completion_handler.h"

#include <chrono>
#include <ctime>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "server/api_error.h"
#include "server/openai_response.h"
#include "server/response_collector.h"

namespace swallow::server {

namespace {

using namespace std::chrono_literals;

struct Submitted {
  std::shared_ptr<RequestStream> stream;
  int32_t first_index = 0;  // choice index of this prompt's sample 0
  int32_t remaining = 0;    // samples not finished yet
};

enum class PumpEnd { kDone, kClientGone, kShutdown };

std::string random_id(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char hex[33];
  std::snprintf(hex, sizeof(hex), "%016llx%016llx", static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()));
  return std::string(prefix) + hex;
}

std::vector<Submitted> submit_all(const CompletionDeps& deps, ApiRequest& request, const std::string& id) {
  std::vector<Submitted> submitted;
  try {
    for (size_t p = 0; p < request.prompts.size(); ++p) {
      GenerationRequest& gen = request.prompts[p];
      gen.request_id = request.prompts.size() == 1 ? id : id + "-" + std::to_string(p);
      Submitted s;
      s.first_index = static_cast<int32_t>(p) * request.n;
      s.remaining = request.n;
      s.stream = deps.engine->submit(std::move(gen));
      submitted.push_back(std::move(s));
    }
  } catch (const Error& e) {
    for (const Submitted& s : submitted) deps.engine->abort(s.stream->request_id());
    throw from_library_error(e);
  }
  return submitted;
}

void abort_unfinished(const CompletionDeps& deps, const std::vector<Submitted>& submitted, const char* reason) {
  int64_t n = 0;
  for (const Submitted& s : submitted) {
    if (s.remaining > 0) {
      deps.engine->abort(s.stream->request_id());
      ++n;
    }
  }
  if (n > 0) deps.metrics->record_aborted(reason, n);
}

// Reads events of all streams until every sample has finished, passing each to on_event;
// stops early (aborting what is left) when the client goes away or at the shutdown deadline.
template <typename OnEvent>
PumpEnd pump(const CompletionDeps& deps, std::vector<Submitted>& submitted, HttpResponder& out, OnEvent&& on_event) {
  auto unfinished = [&] {
    for (const Submitted& s : submitted) {
      if (s.remaining > 0) return true;
    }
    return false;
  };
  while (unfinished()) {
    bool got = false;
    for (Submitted& s : submitted) {
      // One stream: block on it (100 ms, then look at the client); several: poll each in turn.
      auto timeout = submitted.size() == 1 ? 100ms : 0ms;
      RequestEvent event;
      while (s.remaining > 0 && s.stream->next(event, timeout)) {
        got = true;
        timeout = 0ms;
        if (event.kind == RequestEvent::Kind::kFinished) {
          --s.remaining;
          deps.metrics->record_finished(event);
        } else if (event.kind == RequestEvent::Kind::kError) {
          s.remaining = 0;
        }
        if (!on_event(s, event)) {
          abort_unfinished(deps, submitted, "client_disconnect");
          return PumpEnd::kClientGone;
        }
      }
    }
    if (out.client_gone()) {
      abort_unfinished(deps, submitted, "client_disconnect");
      return PumpEnd::kClientGone;
    }
    if (deps.abort_all->load()) {
      abort_unfinished(deps, submitted, "shutdown");
      return PumpEnd::kShutdown;
    }
    if (!got && submitted.size() > 1) std::this_thread::sleep_for(5ms);
  }
  return PumpEnd::kDone;
}

ApiError engine_failure(const std::string& message) { return internal_server_error("generation failed: " + message); }

void run_blocking(const CompletionDeps& deps, const ApiRequest& request, ResponseContext& ctx,
                  std::vector<Submitted>& submitted, HttpResponder& out) {
  ResponseCollector collector(static_cast<int32_t>(request.prompts.size()) * request.n);
  PumpEnd end = pump(deps, submitted, out, [&](Submitted& s, const RequestEvent& event) {
    collector.add(s.first_index, event);
    return true;
  });
  if (end == PumpEnd::kClientGone) return;
  if (end == PumpEnd::kShutdown || collector.failed()) {
    ApiError failure = end == PumpEnd::kShutdown ? unavailable("the server is shutting down") : engine_failure(collector.error());
    out.respond(failure.status(), "application/json", to_wire(failure.to_json()));
    return;
  }
  for (const Submitted& s : submitted) collector.add_prompt_tokens(s.stream->prompt_tokens());
  out.respond(200, "application/json", to_wire(build_response(ctx, collector.choices(), collector.usage())));
}

void run_streaming(const CompletionDeps& deps, const ApiRequest& request, ResponseContext& ctx,
                   std::vector<Submitted>& submitted, HttpResponder& out) {
  if (!out.start_stream(200, "text/event-stream")) return abort_unfinished(deps, submitted, "client_disconnect");
  const int32_t n_choices = static_cast<int32_t>(request.prompts.size()) * request.n;
  if (ctx.endpoint == Endpoint::kChatCompletions) {
    for (int32_t i = 0; i < n_choices; ++i) {
      if (!out.write_chunk(sse_event(build_role_chunk(ctx, i)))) return abort_unfinished(deps, submitted, "client_disconnect");
    }
  }
  std::vector<size_t> text_offsets(static_cast<size_t>(n_choices), 0);
  Usage usage;
  std::string error;
  PumpEnd end = pump(deps, submitted, out, [&](Submitted& s, const RequestEvent& event) {
    if (event.kind == RequestEvent::Kind::kError) {
      error = event.error.empty() ? "unknown engine error" : event.error;
      return true;
    }
    ChoiceOutput delta;
    delta.index = s.first_index + event.index;
    delta.text = event.text;
    delta.logprobs = event.logprobs;
    if (event.kind == RequestEvent::Kind::kFinished) {
      delta.finish_reason = event.finish_reason;
      delta.stop_reason = event.stop_reason;
      delta.stop_token_id = event.stop_token_id;
      usage.completion_tokens += event.completion_tokens;
    } else if (delta.text.empty() && delta.logprobs.empty()) {
      return true;  // nothing a client could see yet (a partial UTF-8 character)
    }
    return out.write_chunk(sse_event(build_delta_chunk(ctx, delta, text_offsets.at(static_cast<size_t>(delta.index)))));
  });
  if (end == PumpEnd::kClientGone) return;
  if (end == PumpEnd::kShutdown || !error.empty()) {
    ApiError failure = end == PumpEnd::kShutdown ? unavailable("the server is shutting down") : engine_failure(error);
    out.write_chunk(sse_event(failure.to_json()));
  } else if (request.include_usage) {
    for (const Submitted& s : submitted) usage.prompt_tokens += s.stream->prompt_tokens();
    out.write_chunk(sse_event(build_usage_chunk(ctx, usage)));
  }
  out.write_chunk(kSseDone);
  out.end_stream();
}

}  // namespace

void run_completion(const CompletionDeps& deps, ApiRequest request, HttpResponder& out) {
  ResponseContext ctx;
  ctx.endpoint = request.endpoint;
  ctx.id = random_id(request.endpoint == Endpoint::kChatCompletions ? "chatcmpl-" : "cmpl-");
  ctx.created = static_cast<int64_t>(std::time(nullptr));
  ctx.model = deps.model_name;
  ctx.logprobs = request.logprobs;
  const ModelText* text = deps.text;
  ctx.token_bytes = [text](int32_t id) { return text->token_bytes(id); };
  std::vector<Submitted> submitted = submit_all(deps, request, ctx.id);
  if (request.stream) {
    run_streaming(deps, request, ctx, submitted, out);
  } else {
    run_blocking(deps, request, ctx, submitted, out);
  }
}

}  // namespace swallow::server
