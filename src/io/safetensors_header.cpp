// Streaming (SAX) parser of safetensors headers: a small state machine over nlohmann's events
// that accepts exactly {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}}.
#include "io/safetensors_header.h"

#include <array>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/error.h"
#include "io/safetensors.h"

namespace swallow {
namespace {

using Json = nlohmann::json;

std::optional<DType> supported_dtype(std::string_view name) {
  if (name == "F32") return DType::kF32;
  if (name == "F16") return DType::kF16;
  if (name == "BF16") return DType::kBF16;
  if (name == "I32") return DType::kI32;
  return std::nullopt;
}

// Dtypes of the safetensors format that this program does not handle.
bool is_other_safetensors_dtype(std::string_view name) {
  static constexpr std::array<std::string_view, 16> kOthers = {
      "BOOL", "U8", "I8", "U16", "I16", "U32", "U64", "I64", "F64", "F8_E4M3", "F8_E5M2",
      "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"};
  for (std::string_view other : kOthers) {
    if (name == other) return true;
  }
  return false;
}

class HeaderHandler {
 public:
  explicit HeaderHandler(ParsedHeader& out) : out_(out) {}

  const std::string& error() const { return error_; }
  ErrorKind error_kind() const { return error_kind_; }

  // --- nlohmann SAX interface; returning false stops the parse ---
  bool null() { return unexpected("null"); }
  bool boolean(bool) { return unexpected("a boolean"); }
  bool binary(Json::binary_t&) { return unexpected("binary data"); }
  bool number_float(Json::number_float_t, const std::string& text) { return unexpected(text); }

  bool number_integer(Json::number_integer_t value) {
    if (value < 0) return unexpected(std::to_string(value));
    return number_unsigned(static_cast<Json::number_unsigned_t>(value));
  }

  bool number_unsigned(Json::number_unsigned_t value) {
    if (state_ == State::kShape) {
      if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return unexpected(std::to_string(value));
      }
      if (entry_.shape.size() == kMaxTensorRank) {
        return fail(tensor_context() + "shape has more than " + std::to_string(kMaxTensorRank) +
                    " dimensions");
      }
      entry_.shape.push_back(static_cast<int64_t>(value));
      return true;
    }
    if (state_ == State::kOffsets) {
      if (n_offsets_ == 2) return unexpected("a third offset");
      offsets_[n_offsets_++] = value;
      return true;
    }
    return unexpected(std::to_string(value));
  }

  bool string(std::string& value) {
    if (state_ == State::kMetadata) {
      out_.metadata[key_] = value;
      return true;
    }
    if (state_ == State::kTensor && field_ == "dtype") return set_dtype(value);
    return unexpected("a string");
  }

  bool start_object(std::size_t) {
    if (state_ == State::kStart) {
      state_ = State::kRoot;
      return true;
    }
    if (state_ != State::kRoot) return unexpected("an object");
    if (key_ == "__metadata__") {
      state_ = State::kMetadata;
      return true;
    }
    if (!names_.insert(key_).second) return fail("tensor '" + key_ + "' appears twice in the header");
    entry_ = HeaderEntry{};
    entry_.name = key_;
    fields_seen_.clear();
    field_.clear();
    state_ = State::kTensor;
    return true;
  }

  bool key(std::string& name) {
    if (state_ != State::kTensor) {
      key_ = name;
      return true;
    }
    if (name != "dtype" && name != "shape" && name != "data_offsets") {
      return fail(tensor_context() + "unexpected field '" + name + "' (expected dtype, shape, data_offsets)");
    }
    if (!fields_seen_.insert(name).second) return fail(tensor_context() + "field '" + name + "' appears twice");
    field_ = name;
    return true;
  }

  bool end_object() {
    switch (state_) {
      case State::kMetadata:
        state_ = State::kRoot;
        return true;
      case State::kTensor:
        for (const char* required : {"dtype", "shape", "data_offsets"}) {
          if (fields_seen_.count(required) == 0) {
            return fail(tensor_context() + "missing field '" + required + "'");
          }
        }
        out_.entries.push_back(std::move(entry_));
        state_ = State::kRoot;
        return true;
      case State::kRoot:
        state_ = State::kDone;
        return true;
      default:
        return unexpected("'}'");
    }
  }

  bool start_array(std::size_t) {
    if (state_ == State::kTensor && field_ == "shape") {
      state_ = State::kShape;
      return true;
    }
    if (state_ == State::kTensor && field_ == "data_offsets") {
      state_ = State::kOffsets;
      n_offsets_ = 0;
      return true;
    }
    return unexpected("an array");
  }

  bool end_array() {
    if (state_ == State::kOffsets) {
      if (n_offsets_ != 2) return unexpected(std::to_string(n_offsets_) + " value(s)");
      entry_.begin = offsets_[0];
      entry_.end = offsets_[1];
    }
    state_ = State::kTensor;  // start_array only enters kShape / kOffsets
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    return fail(std::string("header is not valid JSON: ") + e.what());
  }

 private:
  enum class State { kStart, kRoot, kMetadata, kTensor, kShape, kOffsets, kDone };

  bool fail(const std::string& message, ErrorKind kind = ErrorKind::kInvalidFile) {
    if (error_.empty()) {
      error_ = message;
      error_kind_ = kind;
    }
    return false;
  }

  std::string tensor_context() const { return "tensor '" + entry_.name + "': "; }

  // Describes what the current position requires, then what was found instead.
  bool unexpected(const std::string& found) {
    std::string expected;
    switch (state_) {
      case State::kStart: expected = "the header must be a JSON object"; break;
      case State::kRoot:
        expected = key_ == "__metadata__" ? "__metadata__ must be an object of strings"
                                          : "tensor '" + key_ + "' must be an object with dtype, shape and data_offsets";
        break;
      case State::kMetadata: expected = "__metadata__ value '" + key_ + "' must be a string"; break;
      case State::kTensor:
      case State::kShape:
      case State::kOffsets:
        if (field_ == "dtype") {
          expected = tensor_context() + "dtype must be a string";
        } else if (field_ == "shape") {
          expected = tensor_context() + "shape must be an array of non-negative integers (int64)";
        } else {
          expected = tensor_context() + "data_offsets must be an array of two non-negative integers";
        }
        break;
      case State::kDone: expected = "nothing may follow the header object"; break;
    }
    return fail(expected + ", found " + found);
  }

  bool set_dtype(const std::string& name) {
    if (std::optional<DType> dtype = supported_dtype(name)) {
      entry_.dtype = *dtype;
      return true;
    }
    if (is_other_safetensors_dtype(name)) {
      return fail(tensor_context() + "dtype " + name + " is not supported (supported: BF16, F16, F32, I32)",
                  ErrorKind::kUnsupported);
    }
    return fail(tensor_context() + "unknown dtype '" + name + "'");
  }

  ParsedHeader& out_;
  State state_ = State::kStart;
  std::string key_;    // current key of the root or __metadata__ object
  std::string field_;  // current field of a tensor object
  std::set<std::string> fields_seen_;
  std::set<std::string> names_;
  HeaderEntry entry_;
  std::array<uint64_t, 2> offsets_{};
  size_t n_offsets_ = 0;
  std::string error_;
  ErrorKind error_kind_ = ErrorKind::kInvalidFile;
};

}  // namespace

ParsedHeader parse_safetensors_header(std::string_view json, const std::string& path) {
  ParsedHeader out;
  HeaderHandler handler(out);
  bool ok = Json::sax_parse(json.data(), json.data() + json.size(), &handler);
  if (!ok) {
    std::string message = handler.error().empty() ? "header is not valid JSON" : handler.error();
    throw Error(handler.error_kind(), path + ": " + message);
  }
  return out;
}

}  // namespace swallow
