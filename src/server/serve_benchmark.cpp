// Client threads, request timing and percentile statistics of `swallow bench serve`.
#include "server/serve_benchmark.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/error.h"
#include "server/http_client.h"

namespace swallow::server {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct RequestPlan {
  std::vector<int32_t> prompt;
  int32_t max_tokens = 0;
  double start_s = 0;  // offset from the benchmark start (Poisson arrivals)
};

struct RequestResult {
  bool ok = false;
  std::string error;
  double ttft_s = 0;
  double e2e_s = 0;
  int64_t prompt_tokens = 0;
  int64_t output_tokens = 0;
  std::vector<double> itl_s;  // gaps between content chunks after the first
};

int32_t sample_length(const LengthDistribution& d, std::mt19937_64& rng) {
  double v = d.a;
  if (d.kind == LengthDistribution::Kind::kUniform) v = std::uniform_real_distribution<double>(d.a, d.b + 1)(rng);
  if (d.kind == LengthDistribution::Kind::kNormal) v = std::normal_distribution<double>(d.a, d.b)(rng);
  return std::max<int32_t>(1, static_cast<int32_t>(v));
}

std::vector<RequestPlan> plan_requests(const ServeBenchmarkOptions& o) {
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int32_t> token(100, std::max(101, o.max_token_id - 1));
  std::exponential_distribution<double> gap(o.request_rate > 0 ? o.request_rate : 1.0);
  std::vector<RequestPlan> plans(static_cast<size_t>(o.num_requests));
  double t = 0;
  for (RequestPlan& plan : plans) {
    plan.prompt.resize(static_cast<size_t>(sample_length(o.prompt_tokens, rng)));
    for (int32_t& id : plan.prompt) id = token(rng);
    plan.max_tokens = sample_length(o.output_tokens, rng);
    plan.start_s = t;
    if (o.request_rate > 0) t += gap(rng);
  }
  return plans;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

RequestResult send_request(const HttpUrl& url, const std::string& model, const ServeBenchmarkOptions& o, const RequestPlan& plan) {
  RequestResult result;
  result.prompt_tokens = static_cast<int64_t>(plan.prompt.size());
  json body = {{"model", model}, {"prompt", plan.prompt}, {"max_tokens", plan.max_tokens}, {"ignore_eos", true},
               {"temperature", 0}, {"stream", true}, {"stream_options", {{"include_usage", true}}}};
  HttpHeaders headers = {{"Content-Type", "application/json"}};
  if (o.api_key) headers.emplace_back("Authorization", "Bearer " + *o.api_key);
  const Clock::time_point t0 = Clock::now();
  double last_token_s = -1;
  bool usage_seen = false;
  SseSplitter splitter([&](std::string_view data) {
    if (data == "[DONE]") return;
    json chunk = json::parse(data, nullptr, false);
    if (chunk.is_discarded()) return;
    if (chunk.contains("error")) result.error = chunk["error"].value("message", "error chunk");
    if (chunk.contains("usage") && chunk["usage"].is_object()) {
      result.output_tokens = chunk["usage"].value("completion_tokens", int64_t{0});
      usage_seen = true;
    }
    if (!chunk.contains("choices") || chunk["choices"].empty() || chunk["choices"][0].value("text", "").empty()) return;
    const double now = seconds_since(t0);
    if (last_token_s < 0) result.ttft_s = now;
    else result.itl_s.push_back(now - last_token_s);
    last_token_s = now;
  });
  try {
    HttpClientResponse response = HttpClient(url.host, url.port).request(
        "POST", url.prefix + "/v1/completions", body.dump(), headers, [&](std::string_view piece) {
          splitter.feed(piece);
          return true;
        });
    if (response.status != 200) result.error = "HTTP " + std::to_string(response.status);
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  result.e2e_s = seconds_since(t0);
  result.ok = result.error.empty() && usage_seen && last_token_s >= 0;
  if (result.ok == false && result.error.empty()) result.error = "incomplete stream";
  return result;
}

std::string fetch_model(const HttpUrl& url, const ServeBenchmarkOptions& o) {
  HttpHeaders headers;
  if (o.api_key) headers.emplace_back("Authorization", "Bearer " + *o.api_key);
  HttpClientResponse response = HttpClient(url.host, url.port, 30).request("GET", url.prefix + "/v1/models", "", headers);
  json models = json::parse(response.body, nullptr, false);
  if (response.status != 200 || models.is_discarded() || !models.contains("data") || models["data"].empty()) {
    throw not_found("cannot list models at " + o.base_url + "/v1/models (HTTP " + std::to_string(response.status) + ")");
  }
  return models["data"][0].value("id", "");
}

// Mean, median, p90, p99 of milliseconds.
json summary(std::vector<double> seconds) {
  if (seconds.empty()) return {{"mean", nullptr}, {"median", nullptr}, {"p90", nullptr}, {"p99", nullptr}};
  std::sort(seconds.begin(), seconds.end());
  auto pct = [&](double p) {
    double rank = p / 100.0 * static_cast<double>(seconds.size() - 1);
    size_t lo = static_cast<size_t>(rank);
    size_t hi = std::min(lo + 1, seconds.size() - 1);
    return 1000.0 * (seconds[lo] + (seconds[hi] - seconds[lo]) * (rank - static_cast<double>(lo)));
  };
  double sum = 0;
  for (double s : seconds) sum += s;
  return {{"mean", 1000.0 * sum / static_cast<double>(seconds.size())}, {"median", pct(50)}, {"p90", pct(90)}, {"p99", pct(99)}};
}

json distribution_json(const LengthDistribution& d) {
  switch (d.kind) {
    case LengthDistribution::Kind::kFixed: return {{"kind", "fixed"}, {"value", d.a}};
    case LengthDistribution::Kind::kUniform: return {{"kind", "uniform"}, {"min", d.a}, {"max", d.b}};
    case LengthDistribution::Kind::kNormal: return {{"kind", "normal"}, {"mean", d.a}, {"std", d.b}};
  }
  return nullptr;
}

}  // namespace

LengthDistribution LengthDistribution::parse(const std::string& text, const std::string& flag) {
  const Error malformed = invalid_argument(flag + ": expected N, uniform:MIN:MAX or normal:MEAN:STD, got '" + text + "'");
  auto number = [&](const std::string& s) {
    try {
      size_t used = 0;
      double v = std::stod(s, &used);
      if (used == s.size() && std::isfinite(v) && v >= 0) return v;
    } catch (const std::exception&) {
    }
    throw malformed;
  };
  LengthDistribution d;
  size_t c1 = text.find(':');
  if (c1 == std::string::npos) {
    d.a = number(text);
    if (d.a < 1) throw invalid_argument(flag + " must be >= 1");
    return d;
  }
  size_t c2 = text.find(':', c1 + 1);
  if (c2 == std::string::npos) throw malformed;
  std::string kind = text.substr(0, c1);
  d.a = number(text.substr(c1 + 1, c2 - c1 - 1));
  d.b = number(text.substr(c2 + 1));
  if (kind == "uniform" && d.a >= 1 && d.b >= d.a) d.kind = Kind::kUniform;
  else if (kind == "normal" && d.a >= 1) d.kind = Kind::kNormal;
  else throw malformed;
  return d;
}

json run_serve_benchmark(const ServeBenchmarkOptions& o) {
  if (o.num_requests < 1) throw invalid_argument("--num-requests must be >= 1");
  const HttpUrl url = parse_http_url(o.base_url);
  const std::string model = o.model ? *o.model : fetch_model(url, o);
  const std::vector<RequestPlan> plans = plan_requests(o);
  std::vector<RequestResult> results(plans.size());
  const int32_t n_threads = std::min<int32_t>(o.num_requests, o.concurrency > 0 ? o.concurrency : 1024);
  std::atomic<size_t> next{0};
  const Clock::time_point t0 = Clock::now();
  std::vector<std::thread> workers;
  for (int32_t w = 0; w < n_threads; ++w) {
    workers.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < plans.size();) {
        std::this_thread::sleep_until(t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(plans[i].start_s)));
        results[i] = send_request(url, model, o, plans[i]);
      }
    });
  }
  for (std::thread& t : workers) t.join();
  const double duration = seconds_since(t0);

  std::vector<double> ttft, tpot, itl, e2e;
  int64_t completed = 0, input_tokens = 0, output_tokens = 0;
  json errors = json::array();
  for (const RequestResult& r : results) {
    if (!r.ok) {
      if (errors.size() < 5) errors.push_back(r.error);
      continue;
    }
    ++completed;
    input_tokens += r.prompt_tokens;
    output_tokens += r.output_tokens;
    ttft.push_back(r.ttft_s);
    e2e.push_back(r.e2e_s);
    if (r.output_tokens > 1) tpot.push_back((r.e2e_s - r.ttft_s) / static_cast<double>(r.output_tokens - 1));
    itl.insert(itl.end(), r.itl_s.begin(), r.itl_s.end());
  }
  json config = {{"base_url", o.base_url}, {"model", model}, {"num_requests", o.num_requests},
                 {"concurrency", o.concurrency > 0 ? json(o.concurrency) : json(nullptr)},
                 {"request_rate", o.request_rate > 0 ? json(o.request_rate) : json("inf")},
                 {"prompt_tokens", distribution_json(o.prompt_tokens)}, {"output_tokens", distribution_json(o.output_tokens)},
                 {"seed", o.seed}};
  json results_json = {{"duration_s", duration}, {"completed", completed}, {"failed", o.num_requests - completed},
                       {"errors", errors}, {"total_input_tokens", input_tokens}, {"total_output_tokens", output_tokens},
                       {"request_throughput", static_cast<double>(completed) / duration},
                       {"output_throughput", static_cast<double>(output_tokens) / duration},
                       {"total_token_throughput", static_cast<double>(input_tokens + output_tokens) / duration},
                       {"ttft_ms", summary(ttft)}, {"tpot_ms", summary(tpot)}, {"itl_ms", summary(itl)}, {"e2e_latency_ms", summary(e2e)}};
  return {{"kind", "serve"}, {"config", std::move(config)}, {"results", std::move(results_json)}};
}

std::string format_serve_benchmark(const json& report) {
  const json& r = report["results"];
  std::string out;
  char line[160];
  auto row = [&](const char* name, const std::string& value) {
    std::snprintf(line, sizeof(line), "%-34s %s\n", name, value.c_str());
    out += line;
  };
  auto num = [](const json& v, const char* fmt = "%.2f") {
    if (!v.is_number()) return std::string("n/a");
    char text[64];
    std::snprintf(text, sizeof(text), fmt, v.get<double>());
    return std::string(text);
  };
  out += "============ Serving Benchmark Result ============\n";
  row("Successful requests:", num(r["completed"], "%.0f"));
  row("Failed requests:", num(r["failed"], "%.0f"));
  row("Benchmark duration (s):", num(r["duration_s"]));
  row("Total input tokens:", num(r["total_input_tokens"], "%.0f"));
  row("Total generated tokens:", num(r["total_output_tokens"], "%.0f"));
  row("Request throughput (req/s):", num(r["request_throughput"]));
  row("Output token throughput (tok/s):", num(r["output_throughput"]));
  row("Total token throughput (tok/s):", num(r["total_token_throughput"]));
  for (const auto& [key, title] : {std::pair{"ttft_ms", "Time to First Token"}, std::pair{"tpot_ms", "Time per Output Token (excl. 1st)"},
                                   std::pair{"itl_ms", "Inter-token Latency"}, std::pair{"e2e_latency_ms", "End-to-end Latency"}}) {
    out += std::string("---------------") + title + "---------------\n";
    const json& s = r[key];
    row((std::string("Mean ") + key + ":").c_str(), num(s["mean"]));
    row((std::string("Median ") + key + ":").c_str(), num(s["median"]));
    row((std::string("P90 ") + key + ":").c_str(), num(s["p90"]));
    row((std::string("P99 ") + key + ":").c_str(), num(s["p99"]));
  }
  out += "==================================================\n";
  for (const auto& e : r["errors"]) out += "error: " + e.get<std::string>() + "\n";
  return out;
}

}  // namespace swallow::server
