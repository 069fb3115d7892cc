// ChatTemplate: parsing, JSON variables -> values (with content taint), error translation.
#include "chat/chat_template.h"

#include "chat/ast.h"
#include "chat/budget.h"
#include "chat/builtins.h"
#include "chat/interpreter.h"
#include "chat/lexer.h"
#include "chat/parser.h"
#include "chat/unicode_text.h"
#include "core/error.h"

namespace swallow {

using jinja::Value;

namespace {

template <typename Json>
Value to_value(const Json& json, bool tainted, int depth) {
  if (depth > jinja::kMaxValueNesting) throw invalid_argument("chat template variables are nested too deeply");
  switch (json.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded: return Value::none();
    case Json::value_t::boolean: return Value::boolean(json.template get<bool>());
    case Json::value_t::number_integer: return Value::integer(json.template get<int64_t>());
    case Json::value_t::number_unsigned: {
      const auto u = json.template get<uint64_t>();
      return u <= static_cast<uint64_t>(INT64_MAX) ? Value::integer(static_cast<int64_t>(u))
                                                    : Value::number(static_cast<double>(u));
    }
    case Json::value_t::number_float: return Value::number(json.template get<double>());
    case Json::value_t::string: {
      const auto& text = json.template get_ref<const std::string&>();
      if (find_invalid_utf8(text)) throw invalid_argument("chat template variables contain a string that is not valid UTF-8");
      return Value::string(jinja::TString(text, tainted));
    }
    case Json::value_t::binary: throw invalid_argument("chat template variables cannot hold binary values");
    case Json::value_t::array: {
      jinja::ValueList items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(to_value(item, tainted, depth + 1));
      return Value::list(std::move(items));
    }
    case Json::value_t::object: {
      jinja::DictObject dict;
      for (const auto& [key, item] : json.items()) dict.set(Value::string(key), to_value(item, tainted, depth + 1));
      return Value::dict(std::move(dict));
    }
  }
  return Value::none();
}

// A message's content (a string, or a list of parts with `text`) is user text: taint it.
template <typename Json>
Value content_to_value(const Json& content) {
  if (!content.is_array()) return to_value(content, content.is_string(), 1);
  jinja::ValueList parts;
  for (const auto& part : content) {
    if (!part.is_object()) {
      parts.push_back(to_value(part, false, 2));
      continue;
    }
    jinja::DictObject dict;
    for (const auto& [key, item] : part.items()) dict.set(Value::string(key), to_value(item, key == "text" && item.is_string(), 3));
    parts.push_back(Value::dict(std::move(dict)));
  }
  return Value::list(std::move(parts));
}

template <typename Json>
Value messages_to_value(const Json& messages) {
  if (!messages.is_array()) return to_value(messages, false, 0);
  jinja::ValueList items;
  for (const auto& message : messages) {
    if (!message.is_object()) {
      items.push_back(to_value(message, false, 1));
      continue;
    }
    jinja::DictObject dict;
    for (const auto& [key, item] : message.items()) {
      dict.set(Value::string(key), key == "content" ? content_to_value(item) : to_value(item, false, 1));
    }
    items.push_back(Value::dict(std::move(dict)));
  }
  return Value::list(std::move(items));
}

template <typename Json>
RenderedPrompt render_with(const jinja::TemplateAst& ast, const Json& variables, const RenderLimits& limits) {
  if (!variables.is_object()) throw invalid_argument("chat template variables must be a JSON object");
  auto globals = std::make_shared<jinja::Scope>();
  jinja::add_globals(*globals);
  auto scope = std::make_shared<jinja::Scope>(globals);
  jinja::Budget budget(limits.max_output_bytes, limits.max_steps, limits.max_depth);
  jinja::Interpreter interpreter(ast, budget);
  try {
    for (const auto& [key, value] : variables.items()) {
      scope->set(key, key == "messages" ? messages_to_value(value) : to_value(value, false, 0));
    }
    jinja::TString out = interpreter.render(scope);
    return RenderedPrompt{std::move(out.text), std::move(out.spans)};
  } catch (const jinja::RenderFailure& failure) {
    const std::string where = interpreter.failure_offset()
                                  ? " at " + jinja::describe_location(ast.source, *interpreter.failure_offset())
                                  : std::string();
    switch (failure.kind()) {
      case jinja::FailureKind::kRaised: throw invalid_argument(failure.what());
      case jinja::FailureKind::kBudget: throw resource_exhausted("chat template" + where + ": " + failure.what());
      case jinja::FailureKind::kUnsupported: throw unsupported("chat template" + where + ": " + failure.what());
      case jinja::FailureKind::kTemplate: break;
    }
    throw invalid_argument("chat template error" + where + ": " + failure.what());
  }
}

}  // namespace

ChatTemplate::ChatTemplate(std::string source) {
  if (find_invalid_utf8(source)) throw invalid_argument("chat template is not valid UTF-8");
  ast_ = std::make_shared<const jinja::TemplateAst>(jinja::parse_template(jinja::normalize_source(source)));
}

RenderedPrompt ChatTemplate::render(const nlohmann::ordered_json& variables, const RenderLimits& limits) const {
  return render_with(*ast_, variables, limits);
}

RenderedPrompt ChatTemplate::render(const nlohmann::json& variables, const RenderLimits& limits) const {
  return render_with(*ast_, variables, limits);
}

}  // namespace swallow
