// Routing, auth and the small endpoints of ApiServer (completions: completion_handler.cpp).
#include "server/api_server.h"

#include <ctime>

#include "core/log.h"
#include "server/api_error.h"
#include "server/completion_handler.h"
#include "server/json_fields.h"
#include "server/openai_response.h"

namespace swallow::server {

namespace {

using nlohmann::json;

constexpr const char* kJson = "application/json";

struct RecordingResponder final : HttpResponder {
  RecordingResponder(HttpResponder& inner, ServerMetrics& metrics) : inner_(inner), metrics_(metrics) {}
  void respond(int status, std::string_view type, std::string_view body, const HttpHeaders& extra) override {
    metrics_.record_http_status(status);
    inner_.respond(status, type, body, extra);
  }
  bool start_stream(int status, std::string_view type) override {
    metrics_.record_http_status(status);
    return inner_.start_stream(status, type);
  }
  bool write_chunk(std::string_view data) override { return inner_.write_chunk(data); }
  void end_stream() override { inner_.end_stream(); }
  bool client_gone() override { return inner_.client_gone(); }

  HttpResponder& inner_;
  ServerMetrics& metrics_;
};

void send_error(HttpResponder& out, const ApiError& error) {
  HttpHeaders extra;
  if (error.status() == 401) extra.emplace_back("WWW-Authenticate", "Bearer");
  out.respond(error.status(), kJson, to_wire(error.to_json()), extra);
}

// Compares without an early exit, so the key cannot be guessed byte by byte from timings.
bool same_secret(const std::string& given, const std::string& key) {
  if (given.size() != key.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < key.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ key[i]);
  return diff == 0;
}

struct InFlight {
  explicit InFlight(std::atomic<int>& count) : count_(count) { count_.fetch_add(1); }
  ~InFlight() { count_.fetch_sub(1); }
  std::atomic<int>& count_;
};

}  // namespace

ApiServer::ApiServer(ApiServerOptions options)
    : options_(std::move(options)), metrics_(options_.served_model_names.at(0)), created_(static_cast<int64_t>(std::time(nullptr))) {}

void ApiServer::set_ready(Engine& engine, const ModelText& text, const SchemaLimits& limits, const SamplingDefaults& defaults) {
  text_ = &text;
  limits_ = limits;
  defaults_ = defaults;
  engine_.store(&engine);
}

std::string ApiServer::error_body(int status, const std::string& message) {
  const char* type = status < 500 ? "invalid_request_error" : "service_unavailable_error";
  return to_wire(ApiError(status, type, message).to_json());
}

bool ApiServer::authorized(const HttpRequest& request) const {
  if (!options_.api_key) return true;
  if (request.header_count("authorization") != 1) return false;
  const std::string& value = *request.header("authorization");
  if (value.size() < 7 || (value.compare(0, 7, "Bearer ") != 0 && value.compare(0, 7, "bearer ") != 0)) return false;
  return same_secret(value.substr(7), *options_.api_key);
}

void ApiServer::handle(const HttpRequest& request, HttpResponder& raw_out) {
  RecordingResponder out(raw_out, metrics_);
  try {
    route(request, out);
  } catch (const ApiError& e) {
    send_error(out, e);
  } catch (const Error& e) {
    send_error(out, from_library_error(e));
  } catch (const std::exception& e) {
    log_error(std::string("request ") + request.method + " " + request.path + " failed: " + e.what());
    send_error(out, internal_server_error(e.what()));
  }
}

void ApiServer::route(const HttpRequest& request, HttpResponder& out) {
  const std::string& path = request.path;
  const bool is_get = request.method == "GET";
  const bool is_post = request.method == "POST";
  const bool public_route = path == "/health" || (path == "/metrics" && !options_.protect_metrics);
  if (!public_route && !authorized(request)) throw unauthorized();

  struct Route {
    const char* path;
    const char* method;
  };
  static const Route kRoutes[] = {{"/health", "GET"}, {"/metrics", "GET"}, {"/version", "GET"}, {"/v1/models", "GET"},
                                  {"/v1/chat/completions", "POST"}, {"/v1/completions", "POST"}, {"/tokenize", "POST"},
                                  {"/detokenize", "POST"}};
  const Route* found = nullptr;
  for (const Route& r : kRoutes) {
    if (path == r.path) found = &r;
  }
  if (found == nullptr) throw not_found_error("no route " + request.method + " " + path);
  if (request.method != found->method) {
    ApiError error(405, "invalid_request_error", "use " + std::string(found->method) + " for " + path);
    out.respond(405, kJson, to_wire(error.to_json()), {{"Allow", found->method}});
    return;
  }

  Engine* engine = engine_.load();
  if (is_get && path == "/health") {
    const bool healthy = engine != nullptr && !shutting_down_.load();
    out.respond(healthy ? 200 : 503, "text/plain", healthy ? "" : (engine ? "shutting down" : "loading"));
    return;
  }
  if (is_get && path == "/metrics") {
    EngineStats stats;
    if (engine != nullptr) stats = engine->stats();
    out.respond(200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render(engine ? &stats : nullptr));
    return;
  }
  if (is_get && path == "/version") {
    out.respond(200, kJson, to_wire(json{{"version", options_.version}}));
    return;
  }
  if (engine == nullptr) throw unavailable("the model is still loading");
  if (shutting_down_.load()) throw unavailable("the server is shutting down");
  if (path == "/v1/models") return models(out);
  if (path == "/tokenize") return tokenize(request, out);
  if (path == "/detokenize") return detokenize(request, out);
  if (is_post) completions(path == "/v1/chat/completions" ? Endpoint::kChatCompletions : Endpoint::kCompletions, request, out);
}

void ApiServer::check_model(const std::optional<std::string>& model) const {
  if (!model) return;
  for (const std::string& name : options_.served_model_names) {
    if (*model == name) return;
  }
  throw ApiError(404, "not_found_error", "model '" + *model + "' does not exist; this server serves '" +
                                             options_.served_model_names[0] + "'", "model", "model_not_found");
}

void ApiServer::completions(Endpoint endpoint, const HttpRequest& request, HttpResponder& out) {
  json body = parse_json_body(request.body, limits_.max_json_depth);
  ApiRequest parsed = parse_api_request(endpoint, body, limits_, defaults_);
  check_model(parsed.model);
  if (!parsed.ignored_fields.empty()) {
    std::string names;
    for (const std::string& name : parsed.ignored_fields) names += (names.empty() ? "" : ", ") + name;
    log_warn("request fields ignored (not supported): " + names);
  }
  for (GenerationRequest& gen : parsed.prompts) gen.allow_special_in_content = options_.allow_special_in_content;
  CompletionDeps deps{engine_.load(), text_, &metrics_, &abort_all_, options_.served_model_names[0]};
  InFlight counted(in_flight_);
  run_completion(deps, std::move(parsed), out);
}

void ApiServer::models(HttpResponder& out) {
  json data = json::array();
  for (const std::string& name : options_.served_model_names) {
    data.push_back({{"id", name}, {"object", "model"}, {"created", created_}, {"owned_by", "swallow"}, {"root", name},
                    {"parent", nullptr}, {"max_model_len", engine_.load()->max_model_len()}, {"permission", json::array()}});
  }
  out.respond(200, kJson, to_wire(json{{"object", "list"}, {"data", std::move(data)}}));
}

void ApiServer::tokenize(const HttpRequest& request, HttpResponder& out) {
  json body = parse_json_body(request.body, limits_.max_json_depth);
  FieldReader fields(body);
  check_model(fields.string("model"));
  const bool chat = body.contains("messages");
  const bool add_special = fields.boolean("add_special_tokens").value_or(!chat);
  const bool return_strs = fields.boolean("return_token_strs").value_or(false);
  GenerationRequest prompt;
  if (chat) {
    json chat_body = body;
    for (const char* key : {"add_special_tokens", "return_token_strs", "model"}) chat_body.erase(key);
    ApiRequest parsed = parse_api_request(Endpoint::kChatCompletions, chat_body, limits_, defaults_);
    prompt = std::move(parsed.prompts.at(0));
  } else {
    auto text = fields.string("prompt");
    if (!text) throw bad_param("prompt", "is required (or messages)", "missing_required_parameter");
    prompt.prompt_text = std::move(*text);
  }
  prompt.allow_special_in_content = options_.allow_special_in_content;
  std::vector<int32_t> ids = text_->tokenize(prompt, add_special);
  json result = {{"count", ids.size()}, {"max_model_len", engine_.load()->max_model_len()}, {"tokens", ids}, {"token_strs", nullptr}};
  if (return_strs) {
    json strs = json::array();
    for (int32_t id : ids) strs.push_back(text_->token_bytes(id));
    result["token_strs"] = std::move(strs);
  }
  out.respond(200, kJson, to_wire(result));
}

void ApiServer::detokenize(const HttpRequest& request, HttpResponder& out) {
  json body = parse_json_body(request.body, limits_.max_json_depth);
  FieldReader fields(body);
  check_model(fields.string("model"));
  const json* tokens = fields.raw("tokens");
  if (tokens == nullptr) throw bad_param("tokens", "is required", "missing_required_parameter");
  if (!tokens->is_array()) throw bad_param("tokens", "expected an array of token ids, got " + json_type_name(*tokens), "invalid_type");
  const int64_t max_id = limits_.vocab_size > 0 ? limits_.vocab_size - 1 : INT32_MAX;
  std::vector<int32_t> ids;
  for (size_t i = 0; i < tokens->size(); ++i) {
    ids.push_back(static_cast<int32_t>(integer_value((*tokens)[i], "tokens[" + std::to_string(i) + "]", 0, max_id)));
  }
  out.respond(200, kJson, to_wire(json{{"prompt", text_->detokenize(ids)}}));
}

}  // namespace swallow::server
