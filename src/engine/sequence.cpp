// make_request_state: a GenerationRequest's fields sorted into the scheduler's RequestState.
#include "engine/sequence.h"

namespace swallow {

std::unique_ptr<RequestState> make_request_state(GenerationRequest request, std::vector<int32_t> prompt,
                                                 int32_t max_tokens, const std::vector<int32_t>& eos_token_ids) {
  auto state = std::make_unique<RequestState>();
  state->id = std::move(request.request_id);
  state->prompt = std::move(prompt);
  state->n = request.n;
  state->priority = request.priority;
  state->sampling = std::move(request.sampling);
  if (request.seed) state->sampling.seed = *request.seed;
  state->skip_special_tokens = request.skip_special_tokens;
  StopRules& stop = state->stop;
  if (!request.ignore_eos) stop.eos_token_ids = eos_token_ids;
  stop.stop_token_ids = std::move(request.stop_token_ids);
  stop.stop = std::move(request.stop);
  stop.min_tokens = request.min_tokens;
  stop.max_tokens = max_tokens;
  stop.logprobs = state->sampling.n_logprobs >= 0;
  return state;
}

}  // namespace swallow
