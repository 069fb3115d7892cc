// `swallow logits`: runs token ids through the model and prints the f32 logits of every (or the
// chosen) position: JSON by default (full rows, shortest round-trip floats), or a top-10 summary
// per position with --format text. For debugging and golden comparisons.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "model/single_sequence.h"

namespace swallow::cli {
namespace {

struct LogitsOptions {
  ModelOptions model;
  std::string ids;
  std::string positions = "all";
  std::string format = "json";
};

std::vector<int32_t> parse_int_list(const std::string& text, const std::string& flag) {
  std::vector<int32_t> out;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  while (p < end) {
    int32_t v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || (next < end && *next != ',')) {
      throw invalid_argument(flag + " '" + text + "': expected comma-separated integers such as 1,2,3");
    }
    out.push_back(v);
    p = next < end ? next + 1 : next;
  }
  if (out.empty()) throw invalid_argument(flag + ": no values given");
  return out;
}

std::vector<int32_t> chosen_positions(const std::string& spec, int32_t n) {
  if (spec == "last") return {n - 1};
  std::vector<int32_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  if (spec == "all") return all;
  std::vector<int32_t> chosen = parse_int_list(spec, "--positions");
  for (int32_t p : chosen) {
    if (p < 0 || p >= n) {
      throw invalid_argument("--positions: " + std::to_string(p) + " is not a position of the " + std::to_string(n) +
                             " ids");
    }
  }
  return chosen;
}

void append_float(std::string& out, float v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// One position as JSON ({"position", "token", "logits"}) or as a text line with the top 10.
std::string format_row(const std::string& format, int32_t position, int32_t token, std::span<const float> row) {
  std::string out;
  if (format == "json") {
    out = "{\"position\":" + std::to_string(position) + ",\"token\":" + std::to_string(token) + ",\"logits\":[";
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out += ',';
      append_float(out, row[i]);
    }
    return out + "]}";
  }
  std::vector<int32_t> order(row.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t top = std::min<size_t>(10, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(top), order.end(),
                    [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
  out = "position " + std::to_string(position) + " token " + std::to_string(token) + " top:";
  for (size_t i = 0; i < top; ++i) {
    out += ' ' + std::to_string(order[i]) + '=';
    append_float(out, row[order[i]]);
  }
  return out;
}

int run_logits(const LogitsOptions& o) {
  const std::vector<int32_t> ids = parse_int_list(o.ids, "--ids");
  ModelOptions model_options = o.model;
  if (model_options.max_model_len == 0) model_options.max_model_len = static_cast<int64_t>(ids.size());
  LoadedModel model = load_model(model_options);
  const int32_t vocab = model.runner->vocab_size();
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab) {
      throw invalid_argument("--ids: " + std::to_string(id) + " is outside the vocabulary (" + std::to_string(vocab) + ")");
    }
  }
  const auto n = static_cast<int32_t>(ids.size());
  const std::vector<int32_t> positions = chosen_positions(o.positions, n);
  SingleSequence seq(*model.runner);
  const bool json = o.format == "json";
  if (json) {
    std::string head = "{\"model\":" + nlohmann::json(model.name).dump() + ",\"vocab_size\":" + std::to_string(vocab) +
                       ",\"ids\":" + nlohmann::json(ids).dump() + ",\"positions\":[";
    std::fputs(head.c_str(), stdout);
  }
  // Prefill in chunks of 512 ids, printing each chunk's rows as they come (bounded memory).
  constexpr int32_t kChunk = 512;
  bool first_row = true;
  for (int32_t begin = 0; begin < n; begin += kChunk) {
    const int32_t end = std::min(n, begin + kChunk);
    std::vector<int32_t> here;
    for (int32_t p : positions) {
      if (p >= begin && p < end) here.push_back(p);
    }
    const std::vector<float> logits = seq.append(std::span(ids).subspan(begin, end - begin), here);
    for (size_t r = 0; r < here.size(); ++r) {
      std::span<const float> row(logits.data() + r * static_cast<size_t>(vocab), static_cast<size_t>(vocab));
      std::string line = format_row(o.format, here[r], ids[here[r]], row);
      if (json && !first_row) std::fputc(',', stdout);
      std::fputs(line.c_str(), stdout);
      if (!json) std::fputc('\n', stdout);
      first_row = false;
    }
  }
  if (json) std::fputs("]}\n", stdout);
  return 0;
}

const SubcommandRegistration kRegistration(
    "logits", "Print the f32 logits of token ids at every (or chosen) position", [](CLI::App& sub) -> SubcommandRun {
      auto o = std::make_shared<LogitsOptions>();
      add_model_options(sub, o->model);
      sub.add_option("--ids", o->ids, "comma-separated token ids, e.g. 128000,9906,1917")->required();
      sub.add_option("--positions", o->positions, "all, last, or comma-separated positions")->capture_default_str();
      sub.add_option("--format", o->format, "json (full rows) or text (top 10 per position)")
          ->check(CLI::IsMember({"json", "text"}))
          ->capture_default_str();
      return [o]() { return run_logits(*o); };
    });

}  // namespace
}  // namespace swallow::cli
