// Prometheus metrics of the server: HTTP responses by status, finished requests by reason,
// TTFT / time-per-output-token / end-to-end / queue-time histograms, plus the engine's gauges
// and counters (running, waiting, KV usage, prefix cache, preemptions, tokens) read at render
// time. Names follow vLLM's with the "swallow:" prefix. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "swallow/engine.h"

namespace swallow::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Appends the _bucket/_sum/_count lines of `name` with `labels` ("model_name=\"m\"").
  void render(const std::string& name, const std::string& labels, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bound, not cumulative; last entry is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  explicit ServerMetrics(std::string model_name);
  void record_http_status(int status);
  // Called once per finished sample (a kFinished event).
  void record_finished(const RequestEvent& finished);
  // Engine requests the server aborted: reason "client_disconnect" or "shutdown".
  void record_aborted(const std::string& reason, int64_t n_requests);
  // The text exposition format, with the engine's statistics (none while loading).
  std::string render(const EngineStats* stats) const;

 private:
  std::string labels_;
  mutable std::mutex mutex_;
  std::map<int, uint64_t> http_status_;
  std::map<std::string, uint64_t> finished_;
  std::map<std::string, uint64_t> aborted_;
  Histogram ttft_;
  Histogram tpot_;
  Histogram e2e_;
  Histogram queue_;
};

}  // namespace swallow::server
