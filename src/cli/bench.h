// `swallow bench <kind>`: each kind (latency, throughput, serve, ...) lives in its own
// src/cli/bench_<kind>.cpp and registers itself with a static BenchRegistration, like
// subcommands do. Also the measurements every kind reports in its JSON (one schema for all):
// machine name, same-run memory bandwidth, peak RSS. Setup runs on the main thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cli/command.h"
#include "cli/model_options.h"

namespace swallow::cli {

struct BenchKind {
  std::string name;
  std::string description;
  SubcommandSetup setup;  // adds the kind's options; returns what runs it
};

// All registered kinds (registration order).
std::vector<BenchKind>& bench_kinds();

struct BenchRegistration {
  BenchRegistration(std::string name, std::string description, SubcommandSetup setup) {
    bench_kinds().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

struct MachineInfo {
  std::string cpu;                    // /proc/cpuinfo model name
  int n_cpus = 0;                     // hardware threads
  double memory_bandwidth_gbs = 0;    // host memcpy, bytes read + written per second / 1e9
  std::string memory_bandwidth_method;
};

// Names the machine and measures host memory bandwidth with `n_threads` threads (<= 0: all).
MachineInfo measure_machine(int n_threads);

// Peak resident set size of this process so far.
uint64_t peak_rss_bytes();

// The fields every bench JSON starts with: bench kind, model, device, backend, threads, machine,
// memory bandwidth, weight bytes and parameter count.
nlohmann::json bench_json(const std::string& kind, const LoadedModel& model, const ModelOptions& options,
                          const MachineInfo& machine);

// Prints "key  value" rows under a title, aligned.
void print_table(const std::string& title, const std::vector<std::pair<std::string, std::string>>& rows);

}  // namespace swallow::cli
