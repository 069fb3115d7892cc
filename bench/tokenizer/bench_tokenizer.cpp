// bench_tokenizer: single-thread Tokenizer::encode and decode throughput (MB/s of UTF-8 text) on
// Japanese and English prose. Each encode run is on a fresh thread, so the per-thread caches
// (piece and merge caches) start empty and only help with repetition inside the text; the
// "warm" column re-encodes on one thread (caches full: an upper bound for a server thread). Texts come from files (--ja, --en) or, by default, from the
// tokenizer corpus (the ja_prose / en_prose cases joined by newlines, as
// tools/tokenizer/bench_reference.py does for tiktoken and HF tokenizers). Prints a table; with
// --json FILE also writes the results, the machine and a same-run memcpy bandwidth ceiling.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/mmap_file.h"
#include "tokenizer/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;
using swallow::Tokenizer;

struct Options {
  std::string tokenizer_path;
  std::string corpus_path = std::string(SWALLOW_SOURCE_DIR) + "/tests/golden/tokenizer/data/corpus.jsonl";
  std::string ja_path;
  std::string en_path;
  std::string json_path;
  double min_seconds = 2.0;
};

struct Result {
  std::string name;
  size_t bytes = 0;
  size_t tokens = 0;
  double encode_mb_s = 0;       // fresh thread per run, by thread CPU time
  double encode_wall_mb_s = 0;  // fresh thread per run, by wall time
  double encode_warm_mb_s = 0;  // same thread again and again (caches full), CPU time
  double decode_mb_s = 0;
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// CPU time of the calling thread: unlike wall time, not inflated when other processes share the
// cores (on an idle machine the two agree).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Timing {
  double cpu_s = 1e30;   // fastest run, thread CPU time
  double wall_s = 1e30;  // fastest run, wall time
};

// Runs `work` until min_seconds of its CPU time have passed (at least 3 times), each run on a
// new thread when `fresh_thread`.
template <class Work>
Timing best_time(double min_seconds, bool fresh_thread, Work&& work) {
  Timing best;
  double total_cpu = 0;
  for (int runs = 0; runs < 3 || total_cpu < min_seconds; ++runs) {
    auto run = [&] {
      const Clock::time_point wall_start = Clock::now();
      const double cpu_start = thread_cpu_seconds();
      work();
      const double cpu = thread_cpu_seconds() - cpu_start;
      total_cpu += cpu;
      best.cpu_s = std::min(best.cpu_s, cpu);
      best.wall_s = std::min(best.wall_s, seconds_since(wall_start));
    };
    if (fresh_thread) {
      std::thread(run).join();
    } else {
      run();
    }
  }
  return best;
}

std::string default_tokenizer_path() {
  const char* cache = std::getenv("SWALLOW_CACHE");
  const char* home = std::getenv("HOME");
  const std::string dir = cache && *cache ? std::string(cache) : std::string(home ? home : ".") + "/.cache/swallow";
  return dir + "/llama3.1-tokenizer/tokenizer.json";
}

// The corpus texts of one source, joined by newlines.
std::string corpus_text(const std::string& corpus_path, const std::string& source) {
  std::ifstream in(corpus_path, std::ios::binary);
  if (!in) throw swallow::not_found(corpus_path + ": cannot open the corpus (pass --ja/--en files instead)");
  std::string line;
  std::string joined;
  while (std::getline(in, line)) {
    const nlohmann::json record = nlohmann::json::parse(line);
    if (record.value("source", "") != source) continue;
    if (!joined.empty()) joined += '\n';
    joined += record.at("text").get<std::string>();
  }
  if (joined.empty()) throw swallow::invalid_argument(corpus_path + " has no case with source " + source);
  return joined;
}

Result measure(const Tokenizer& tokenizer, const std::string& name, const std::string& text, double min_seconds) {
  Result r{name, text.size()};
  std::vector<int32_t> ids;
  const auto mb_s = [&](double seconds) { return static_cast<double>(text.size()) / seconds / 1e6; };
  const Timing encode = best_time(min_seconds, true, [&] { ids = tokenizer.encode(text, {}); });
  r.tokens = ids.size();
  r.encode_mb_s = mb_s(encode.cpu_s);
  r.encode_wall_mb_s = mb_s(encode.wall_s);
  r.encode_warm_mb_s = mb_s(best_time(min_seconds / 2, false, [&] { ids = tokenizer.encode(text, {}); }).cpu_s);
  std::string decoded;
  const Timing decode = best_time(min_seconds / 4, false, [&] { decoded = tokenizer.decode(ids, false); });
  r.decode_mb_s = static_cast<double>(decoded.size()) / decode.cpu_s / 1e6;
  if (decoded != text) throw swallow::internal_error("decode(encode(" + name + ")) differs from the text");
  return r;
}

// Single-thread memcpy bandwidth over 64 MiB buffers: the memory ceiling of this run.
double memcpy_gb_s() {
  std::vector<char> a(64 << 20, 1), b(64 << 20, 0);
  const Timing t = best_time(0.3, false, [&] { std::memcpy(b.data(), a.data(), a.size()); });
  return static_cast<double>(a.size()) / t.cpu_s / 1e9;
}

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

Options parse_args(int argc, char** argv) {
  Options o;
  o.tokenizer_path = default_tokenizer_path();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw swallow::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--tokenizer") o.tokenizer_path = value();
    else if (arg == "--model") o.tokenizer_path = value() + "/tokenizer.json";
    else if (arg == "--corpus") o.corpus_path = value();
    else if (arg == "--ja") o.ja_path = value();
    else if (arg == "--en") o.en_path = value();
    else if (arg == "--json") o.json_path = value();
    else if (arg == "--min-seconds") o.min_seconds = std::stod(value());
    else throw swallow::invalid_argument("unknown argument " + arg +
                                         " (use --tokenizer FILE | --model DIR, --corpus FILE, --ja FILE, --en FILE,"
                                         " --json FILE, --min-seconds S)");
  }
  return o;
}

int run(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  const Clock::time_point load_start = Clock::now();
  const Tokenizer tokenizer = Tokenizer::from_file(o.tokenizer_path);
  const double load_s = seconds_since(load_start);
  const std::string ja = o.ja_path.empty() ? corpus_text(o.corpus_path, "ja_prose") : swallow::read_file(o.ja_path);
  const std::string en = o.en_path.empty() ? corpus_text(o.corpus_path, "en_prose") : swallow::read_file(o.en_path);

  std::vector<Result> results;
  results.push_back(measure(tokenizer, "japanese_prose", ja, o.min_seconds));
  results.push_back(measure(tokenizer, "english_prose", en, o.min_seconds));
  const double ceiling = memcpy_gb_s();

  std::printf("bench_tokenizer  cpu: %s  load: %.2f s  memcpy: %.1f GB/s (1 thread)\n", cpu_name().c_str(), load_s,
              ceiling);
  std::printf("MB/s per thread CPU second; (wall): per wall second, lower when cores are shared;\n"
              "warm: re-encoding on one thread with full caches\n");
  std::printf("%-16s %10s %9s %12s %9s %9s %12s\n", "text", "bytes", "tokens", "encode MB/s", "(wall)", "warm",
              "decode MB/s");
  for (const Result& r : results) {
    std::printf("%-16s %10zu %9zu %12.2f %9.2f %9.2f %12.2f\n", r.name.c_str(), r.bytes, r.tokens, r.encode_mb_s,
                r.encode_wall_mb_s, r.encode_warm_mb_s, r.decode_mb_s);
  }
  if (!o.json_path.empty()) {
    nlohmann::json out = {{"benchmark", "tokenizer"},
                          {"machine", {{"cpu", cpu_name()}, {"threads", 1}, {"memcpy_gb_s", ceiling}}},
                          {"tokenizer", o.tokenizer_path},
                          {"load_seconds", load_s},
                          {"results", nlohmann::json::array()}};
    for (const Result& r : results) {
      out["results"].push_back({{"text", r.name}, {"bytes", r.bytes}, {"tokens", r.tokens},
                                {"encode_mb_s", r.encode_mb_s}, {"encode_wall_mb_s", r.encode_wall_mb_s},
                                {"encode_warm_mb_s", r.encode_warm_mb_s},
                                {"decode_mb_s", r.decode_mb_s}});
    }
    std::ofstream(o.json_path) << out.dump(2) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
