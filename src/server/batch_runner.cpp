// run_batch: parse lines, keep a window of them in the engine, write results in order.
#include "server/batch_runner.h"

#include <chrono>
#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "server/api_error.h"
#include "server/json_fields.h"
#include "server/openai_response.h"
#include "server/response_collector.h"

namespace swallow::server {

namespace {

using nlohmann::json;

std::string random_hex() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char hex[33];
  std::snprintf(hex, sizeof(hex), "%016llx%016llx", static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()));
  return hex;
}

// One input line on its way through the engine.
struct Line {
  json custom_id;  // as given (null when the line could not be read)
  std::optional<ApiError> error;
  ApiRequest request;
  ResponseContext ctx;
  std::vector<std::shared_ptr<RequestStream>> streams;  // one per prompt
};

Line start_line(Engine& engine, const ModelText& text, const std::string& raw, int64_t number, const BatchOptions& options) {
  Line line;
  try {
    json item = parse_json_body(raw, options.limits.max_json_depth);
    FieldReader fields(item);
    if (const json* id = fields.raw("custom_id")) line.custom_id = *id;
    auto method = fields.string("method");
    if (method && *method != "POST") throw bad_param("method", "only POST is supported, got " + *method);
    auto url = fields.string("url");
    if (!url) throw bad_param("url", "is required", "missing_required_parameter");
    if (*url != "/v1/chat/completions" && *url != "/v1/completions") {
      throw bad_param("url", "expected /v1/chat/completions or /v1/completions, got " + *url);
    }
    const json* body = fields.raw("body");
    if (body == nullptr || !body->is_object()) throw bad_param("body", "expected the request object", "invalid_type");
    const Endpoint endpoint = *url == "/v1/chat/completions" ? Endpoint::kChatCompletions : Endpoint::kCompletions;
    line.request = parse_api_request(endpoint, *body, options.limits, options.defaults);
    if (line.request.model && *line.request.model != options.model_name) {
      throw ApiError(404, "not_found_error", "model '" + *line.request.model + "' does not exist; this run uses '" +
                                                 options.model_name + "'", "model", "model_not_found");
    }
    if (line.request.stream) throw bad_param("stream", "streaming is not available in a batch file", "unsupported");
    line.ctx.endpoint = endpoint;
    line.ctx.id = (endpoint == Endpoint::kChatCompletions ? "chatcmpl-" : "cmpl-") + random_hex();
    line.ctx.created = static_cast<int64_t>(std::time(nullptr));
    line.ctx.model = options.model_name;
    line.ctx.logprobs = line.request.logprobs;
    line.ctx.token_bytes = [&text](int32_t id) { return text.token_bytes(id); };
    for (size_t p = 0; p < line.request.prompts.size(); ++p) {
      GenerationRequest gen = line.request.prompts[p];
      gen.allow_special_in_content = options.allow_special_in_content;
      gen.request_id = "batch-" + std::to_string(number) + "-" + std::to_string(p) + "-" + random_hex().substr(0, 8);
      line.streams.push_back(engine.submit(std::move(gen)));
    }
  } catch (const ApiError& e) {
    line.error = e;
  } catch (const Error& e) {
    line.error = from_library_error(e);
  }
  if (line.error) {
    for (const auto& stream : line.streams) engine.abort(stream->request_id());
    line.streams.clear();
  }
  return line;
}

json error_line(const Line& line, const ApiError& error) {
  json body = error.to_json()["error"];
  body["status_code"] = error.status();
  return {{"id", "batch-" + random_hex()}, {"custom_id", line.custom_id}, {"response", nullptr}, {"error", std::move(body)}};
}

// Waits for every sample of the line and returns its output line.
json finish_line(Line& line, BatchProgress& progress) {
  if (line.error) return error_line(line, *line.error);
  ResponseCollector collector(static_cast<int32_t>(line.streams.size()) * line.request.n);
  for (size_t p = 0; p < line.streams.size(); ++p) {
    const int32_t first = static_cast<int32_t>(p) * line.request.n;
    int32_t remaining = line.request.n;
    RequestEvent event;
    while (remaining > 0 && line.streams[p]->next(event)) {
      collector.add(first, event);
      if (event.kind == RequestEvent::Kind::kFinished) --remaining;
      if (event.kind == RequestEvent::Kind::kError) remaining = 0;
    }
    collector.add_prompt_tokens(line.streams[p]->prompt_tokens());
  }
  if (collector.failed()) return error_line(line, internal_server_error("generation failed: " + collector.error()));
  progress.prompt_tokens += collector.usage().prompt_tokens;
  progress.completion_tokens += collector.usage().completion_tokens;
  json response = {{"status_code", 200}, {"request_id", line.ctx.id}, {"body", build_response(line.ctx, collector.choices(), collector.usage())}};
  return {{"id", "batch-" + random_hex()}, {"custom_id", line.custom_id}, {"response", std::move(response)}, {"error", nullptr}};
}

}  // namespace

BatchProgress run_batch(Engine& engine, const ModelText& text, std::istream& input, std::ostream& output,
                        const BatchOptions& options, const BatchProgressFn& on_progress) {
  std::vector<std::string> raw_lines;
  for (std::string raw; std::getline(input, raw);) {
    if (raw.find_first_not_of(" \t\r") != std::string::npos) raw_lines.push_back(std::move(raw));
  }
  BatchProgress progress;
  progress.lines_total = static_cast<int64_t>(raw_lines.size());
  const auto start = std::chrono::steady_clock::now();
  std::deque<Line> in_flight;
  size_t next = 0;
  while (next < raw_lines.size() || !in_flight.empty()) {
    while (next < raw_lines.size() && static_cast<int32_t>(in_flight.size()) < options.max_lines_in_flight) {
      in_flight.push_back(start_line(engine, text, raw_lines[next], static_cast<int64_t>(next), options));
      raw_lines[next].clear();
      raw_lines[next].shrink_to_fit();
      ++next;
    }
    json result = finish_line(in_flight.front(), progress);
    in_flight.pop_front();
    if (!result["error"].is_null()) ++progress.lines_failed;
    output << to_wire(result) << '\n';
    ++progress.lines_done;
    progress.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (on_progress) on_progress(progress);
  }
  output.flush();
  return progress;
}

}  // namespace swallow::server
