// Runs a parsed chat/completions request on the engine and answers the client: one JSON
// response, or an SSE stream of chunks ending in "data: [DONE]". Watches the client while it
// waits: a client that goes away (queued, in prefill or decoding) has its engine requests
// aborted at once. Called on the connection's thread; the dependencies are shared and
// thread-safe.
#pragma once

#include <atomic>
#include <string>

#include "server/http_server.h"
#include "server/metrics.h"
#include "server/model_text.h"
#include "server/openai_request.h"
#include "swallow/engine.h"

namespace swallow::server {

struct CompletionDeps {
  Engine* engine = nullptr;
  const ModelText* text = nullptr;
  ServerMetrics* metrics = nullptr;
  const std::atomic<bool>* abort_all = nullptr;  // set when the shutdown grace period is over
  std::string model_name;                        // reported in responses
};

// Throws ApiError when the engine refuses the request (nothing has been sent then); after
// that, failures end the response (an error chunk when streaming).
void run_completion(const CompletionDeps& deps, ApiRequest request, HttpResponder& out);

}  // namespace swallow::server
