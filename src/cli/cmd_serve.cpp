// `swallow serve`: the OpenAI-compatible HTTP server (vLLM's flags where the concept is the
// same). Listens first (GET /health answers 503 while the model loads), then serves. SIGTERM or
// SIGINT: stop accepting, let running requests finish for up to --shutdown-timeout seconds,
// end the rest with an error chunk, exit 0. Signals are taken by one sigwait thread.
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "cli/command.h"
#include "cli/serving_setup.h"
#include "core/error.h"
#include "core/log.h"
#include "server/api_server.h"
#include "server/http_server.h"

namespace swallow::cli {
namespace {

struct ServeOptions {
  ServingFlags serving;
  server::HttpServerOptions http;
  std::string api_key;
  std::string api_key_file;
  bool protect_metrics = false;
  double shutdown_timeout_s = 30;
};

std::string read_api_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw not_found("--api-key-file " + path + ": cannot open the file");
  std::stringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.empty()) throw invalid_argument("--api-key-file " + path + " is empty");
  return key;
}

// Delivers SIGINT/SIGTERM (blocked in every thread) to wait(): one flag, set once.
class SignalWaiter {
 public:
  SignalWaiter() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);  // before any thread starts: all inherit it
    thread_ = std::thread([this] {
      timespec tick{0, 200 * 1000 * 1000};
      while (!done_.load()) {
        int signal = sigtimedwait(&set_, nullptr, &tick);
        if (signal == SIGINT || signal == SIGTERM) {
          log_info(std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
          std::lock_guard lock(mutex_);
          signalled_ = true;
          cv_.notify_all();
        }
      }
    });
  }
  ~SignalWaiter() {
    done_.store(true);
    thread_.join();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return signalled_; });
  }
  bool signalled() {
    std::lock_guard lock(mutex_);
    return signalled_;
  }

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool signalled_ = false;
  std::thread thread_;
};

// Waits until no completion request is being answered, up to `timeout_s`; true if none is left.
bool wait_drained(const server::ApiServer& api, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (api.in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return api.in_flight() == 0;
}

int run_serve(ServeOptions& o) {
  if (!o.api_key.empty() && !o.api_key_file.empty()) throw invalid_argument("give --api-key or --api-key-file, not both");
  if (o.shutdown_timeout_s < 0) throw invalid_argument("--shutdown-timeout must be >= 0");
  SignalWaiter signals;
  server::ApiServerOptions api_options;
  api_options.served_model_names = {served_model_name(o.serving)};
  if (!o.api_key.empty()) api_options.api_key = o.api_key;
  if (!o.api_key_file.empty()) api_options.api_key = read_api_key_file(o.api_key_file);
  api_options.protect_metrics = o.protect_metrics;
  api_options.allow_special_in_content = o.serving.allow_special_in_content;
  api_options.version = SWALLOW_VERSION;
  server::ApiServer api(api_options);
  auto http = std::make_unique<server::HttpServer>(
      o.http, [&api](const server::HttpRequest& request, server::HttpResponder& out) { api.handle(request, out); },
      server::ApiServer::error_body);
  http->listen();
  std::thread accept_thread([&http] { http->run(); });
  const std::string url = "http://" + o.http.host + ":" + std::to_string(http->port());
  log_info("listening on " + url + " (loading the model)");

  std::unique_ptr<ServingModel> model;
  try {
    model = std::make_unique<ServingModel>(load_serving_model(o.serving));
  } catch (...) {
    http->stop();
    accept_thread.join();
    throw;
  }
  if (!signals.signalled()) {
    api.set_ready(*model->engine, *model->text, model->limits, model->defaults);
    log_info("serving '" + model->name + "' on " + url + " (max_model_len " + std::to_string(model->limits.max_model_len) + ")");
    signals.wait();
  }
  http->stop();
  accept_thread.join();
  api.begin_shutdown();
  int exit_code = 0;
  if (!wait_drained(api, o.shutdown_timeout_s)) {
    log_warn("shutdown timeout: ending " + std::to_string(api.in_flight()) + " running request(s)");
    api.abort_in_flight();
    if (!wait_drained(api, 10)) exit_code = 1;
  }
  http.reset();  // closes idle connections and joins their threads while the model still exists
  model.reset();
  log_info("stopped");
  return exit_code;
}

const SubcommandRegistration kRegistration(
    "serve", "OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions, ...)", [](CLI::App& sub) -> SubcommandRun {
      auto o = std::make_shared<ServeOptions>();
      add_serving_flags(sub, o->serving);
      sub.add_option("--host", o->http.host, "Address to listen on")->capture_default_str();
      sub.add_option("--port", o->http.port, "Port to listen on (0: any free port)")->capture_default_str();
      sub.add_option("--api-key", o->api_key, "Require 'Authorization: Bearer KEY'")->envname("SWALLOW_API_KEY");
      sub.add_option("--api-key-file", o->api_key_file, "Read the API key from a file");
      sub.add_flag("--protect-metrics", o->protect_metrics, "Put /metrics behind the API key too");
      sub.add_option("--max-body-bytes", o->http.max_body_bytes, "Largest request body (larger: 413)")->capture_default_str();
      sub.add_option("--max-header-bytes", o->http.max_header_bytes, "Largest request head (larger: 431)")->capture_default_str();
      sub.add_option("--max-connections", o->http.max_connections, "Open connections at most (more: 503)")->capture_default_str();
      sub.add_option("--shutdown-timeout", o->shutdown_timeout_s, "Seconds running requests get to finish on SIGTERM/SIGINT")
          ->capture_default_str();
      return [o]() { return run_serve(*o); };
    });

}  // namespace
}  // namespace swallow::cli
