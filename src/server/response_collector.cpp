// ResponseCollector (see response_collector.h).
#include "server/response_collector.h"

namespace swallow::server {

ResponseCollector::ResponseCollector(int32_t n_choices) : choices_(static_cast<size_t>(n_choices)) {
  for (size_t i = 0; i < choices_.size(); ++i) choices_[i].index = static_cast<int32_t>(i);
}

void ResponseCollector::add(int32_t first_index, const RequestEvent& event) {
  if (event.kind == RequestEvent::Kind::kError) {
    if (!failed_) error_ = event.error.empty() ? "unknown engine error" : event.error;
    failed_ = true;
    return;
  }
  ChoiceOutput& choice = choices_.at(static_cast<size_t>(first_index + event.index));
  choice.text += event.text;
  choice.logprobs.insert(choice.logprobs.end(), event.logprobs.begin(), event.logprobs.end());
  if (event.kind == RequestEvent::Kind::kFinished) {
    choice.finish_reason = event.finish_reason;
    choice.stop_reason = event.stop_reason;
    choice.stop_token_id = event.stop_token_id;
    usage_.completion_tokens += event.completion_tokens;
  }
}

}  // namespace swallow::server
