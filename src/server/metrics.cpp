// Histograms and the Prometheus text rendering of ServerMetrics.
#include "server/metrics.h"

#include <algorithm>
#include <cstdio>

#include "server/openai_response.h"

namespace swallow::server {

namespace {

std::string number(double v) {
  char text[40];
  std::snprintf(text, sizeof(text), "%.17g", v);
  return text;
}

void metric(std::string& out, const std::string& name, const char* type, const char* help, const std::string& labels,
            double value) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  out += name + "{" + labels + "} " + number(value) + "\n";
}

void header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

// A Prometheus label value: backslash, quote and newline escaped.
std::string label_value(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out += {'\\', c};
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(const std::string& name, const std::string& labels, std::string& out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + ",le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum{" + labels + "} " + number(sum_) + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(count_) + "\n";
}

ServerMetrics::ServerMetrics(std::string model_name)
    : labels_("model_name=\"" + label_value(model_name) + "\""),
      ttft_({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}),
      tpot_({0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}),
      e2e_({0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0}),
      queue_({0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0}) {}

void ServerMetrics::record_http_status(int status) {
  std::lock_guard lock(mutex_);
  ++http_status_[status];
}

void ServerMetrics::record_finished(const RequestEvent& finished) {
  std::lock_guard lock(mutex_);
  ++finished_[finished.finish_reason ? openai_finish_reason(*finished.finish_reason) : "error"];
  if (finished.completion_tokens > 0) ttft_.observe(finished.timings.time_to_first_token_s);
  if (finished.completion_tokens > 1) tpot_.observe(finished.timings.time_per_output_token_s);
  e2e_.observe(finished.timings.total_s);
  queue_.observe(finished.timings.queue_s);
}

void ServerMetrics::record_aborted(const std::string& reason, int64_t n_requests) {
  std::lock_guard lock(mutex_);
  aborted_[reason] += static_cast<uint64_t>(n_requests);
}

std::string ServerMetrics::render(const EngineStats* stats) const {
  std::string out;
  if (stats != nullptr) {
    metric(out, "swallow:num_requests_running", "gauge", "Requests in the running batch.", labels_, stats->running);
    metric(out, "swallow:num_requests_waiting", "gauge", "Requests waiting to be scheduled.", labels_, stats->waiting);
    metric(out, "swallow:kv_cache_usage_perc", "gauge", "Fraction of KV cache blocks in use (0..1).", labels_, stats->kv_usage);
    metric(out, "swallow:kv_cache_blocks_total", "gauge", "KV cache blocks.", labels_, static_cast<double>(stats->kv_blocks_total));
    metric(out, "swallow:kv_cache_blocks_free", "gauge", "Free KV cache blocks.", labels_, static_cast<double>(stats->kv_blocks_free));
    metric(out, "swallow:prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.", labels_,
           static_cast<double>(stats->prefix_cache_queries));
    metric(out, "swallow:prefix_cache_hits_total", "counter", "Prompt tokens found in the prefix cache.", labels_,
           static_cast<double>(stats->prefix_cache_hits));
    double hit_rate = stats->prefix_cache_queries > 0
                          ? static_cast<double>(stats->prefix_cache_hits) / static_cast<double>(stats->prefix_cache_queries)
                          : 0.0;
    metric(out, "swallow:prefix_cache_hit_rate", "gauge", "Prefix cache hits / queries since start.", labels_, hit_rate);
    metric(out, "swallow:num_preemptions_total", "counter", "Preemptions by recompute.", labels_, static_cast<double>(stats->preemptions));
    metric(out, "swallow:prompt_tokens_total", "counter", "Prompt tokens processed.", labels_,
           static_cast<double>(stats->prompt_tokens_total));
    metric(out, "swallow:generation_tokens_total", "counter", "Tokens generated.", labels_,
           static_cast<double>(stats->generation_tokens_total));
  }
  std::lock_guard lock(mutex_);
  header(out, "swallow:request_success_total", "counter", "Finished samples by finish reason.");
  for (const char* reason : {"stop", "length", "abort", "error"}) {
    auto it = finished_.find(reason);
    out += "swallow:request_success_total{" + labels_ + ",finished_reason=\"" + reason + "\"} " +
           std::to_string(it == finished_.end() ? 0 : it->second) + "\n";
  }
  header(out, "swallow:request_aborted_total", "counter", "Engine requests aborted by the server, by reason.");
  for (const char* reason : {"client_disconnect", "shutdown"}) {
    auto it = aborted_.find(reason);
    out += "swallow:request_aborted_total{" + labels_ + ",reason=\"" + reason + "\"} " +
           std::to_string(it == aborted_.end() ? 0 : it->second) + "\n";
  }
  header(out, "swallow:http_requests_total", "counter", "HTTP responses by status code.");
  for (const auto& [status, count] : http_status_) {
    out += "swallow:http_requests_total{" + labels_ + ",status=\"" + std::to_string(status) + "\"} " + std::to_string(count) + "\n";
  }
  header(out, "swallow:time_to_first_token_seconds", "histogram", "Time to first token.");
  ttft_.render("swallow:time_to_first_token_seconds", labels_, out);
  header(out, "swallow:time_per_output_token_seconds", "histogram", "Time per output token after the first.");
  tpot_.render("swallow:time_per_output_token_seconds", labels_, out);
  header(out, "swallow:e2e_request_latency_seconds", "histogram", "Request latency from submit to finish.");
  e2e_.render("swallow:e2e_request_latency_seconds", labels_, out);
  header(out, "swallow:request_queue_time_seconds", "histogram", "Time from submit to first scheduled.");
  queue_.render("swallow:request_queue_time_seconds", labels_, out);
  return out;
}

}  // namespace swallow::server
