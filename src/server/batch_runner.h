// The offline batch front end (`swallow batch`): reads OpenAI Batch file lines
// {custom_id, method, url, body}, runs them all through the engine concurrently (up to a window
// of lines in flight), and writes one result line per input line, in input order:
// {id, custom_id, response: {status_code, request_id, body}, error: null}, or for a line that
// cannot be run {id, custom_id, response: null, error: {...}}. Runs on the caller's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>

#include "server/model_text.h"
#include "server/openai_request.h"
#include "swallow/engine.h"

namespace swallow::server {

struct BatchOptions {
  std::string model_name;  // reported in response bodies; a body's "model" must match it if given
  SchemaLimits limits;
  SamplingDefaults defaults;
  bool allow_special_in_content = false;
  int32_t max_lines_in_flight = 4096;
};

struct BatchProgress {
  int64_t lines_total = 0;
  int64_t lines_done = 0;
  int64_t lines_failed = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double elapsed_s = 0;
};

// Called after each finished line (for a progress display).
using BatchProgressFn = std::function<void(const BatchProgress&)>;

BatchProgress run_batch(Engine& engine, const ModelText& text, std::istream& input, std::ostream& output,
                        const BatchOptions& options, const BatchProgressFn& on_progress = nullptr);

}  // namespace swallow::server
