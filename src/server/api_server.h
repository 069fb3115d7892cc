// The OpenAI-compatible API on top of HttpServer: routing, API-key auth, and the endpoints
// /v1/chat/completions, /v1/completions, /v1/models, /tokenize, /detokenize, /health,
// /metrics and /version. Starts out "loading" (503) until set_ready() gives it the engine;
// begin_shutdown() makes new requests 503 and abort_in_flight() ends running ones.
// handle() is called concurrently from connection threads; the rest from the owner's thread.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "server/http_server.h"
#include "server/metrics.h"
#include "server/model_text.h"
#include "server/openai_request.h"
#include "swallow/engine.h"

namespace swallow::server {

struct ApiServerOptions {
  std::vector<std::string> served_model_names;  // the first is reported in responses
  std::optional<std::string> api_key;           // required as "Authorization: Bearer KEY"
  bool protect_metrics = false;                 // /metrics behind the key too
  bool allow_special_in_content = false;        // HF parity: message content may hold special tokens
  std::string version;
};

class ApiServer {
 public:
  explicit ApiServer(ApiServerOptions options);

  // The model is loaded; the engine and text must outlive every request handled after this.
  // `limits` and `defaults` replace the options' (the model's context and vocabulary are known now).
  void set_ready(Engine& engine, const ModelText& text, const SchemaLimits& limits, const SamplingDefaults& defaults);
  void begin_shutdown() { shutting_down_.store(true); }
  void abort_in_flight() { abort_all_.store(true); }
  // Completion requests being answered right now.
  int in_flight() const { return in_flight_.load(); }

  void handle(const HttpRequest& request, HttpResponder& out);
  // Error body of the HTTP layer's own refusals (413, 431, ...), as OpenAI error JSON.
  static std::string error_body(int status, const std::string& message);

 private:
  void route(const HttpRequest& request, HttpResponder& out);
  bool authorized(const HttpRequest& request) const;
  void check_model(const std::optional<std::string>& model) const;
  void completions(Endpoint endpoint, const HttpRequest& request, HttpResponder& out);
  void tokenize(const HttpRequest& request, HttpResponder& out);
  void detokenize(const HttpRequest& request, HttpResponder& out);
  void models(HttpResponder& out);

  ApiServerOptions options_;
  ServerMetrics metrics_;
  std::atomic<Engine*> engine_{nullptr};
  // Set by set_ready before engine_ is published; read only after engine_ was seen non-null.
  const ModelText* text_ = nullptr;
  SchemaLimits limits_;
  SamplingDefaults defaults_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> abort_all_{false};
  std::atomic<int> in_flight_{0};
  int64_t created_ = 0;
};

}  // namespace swallow::server
