// Helpers for the io unit tests: a temporary folder that removes itself, raw file writing, raw
// safetensors assembly (for malformed files), and an assertion that a call throws swallow::Error
// of a given kind whose message contains given parts (file name, tensor, field).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace swallow::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

void write_bytes(const std::string& path, std::string_view bytes);

// An 8-byte little-endian header length (the header's size unless `header_len` is given), the
// header text, then the data bytes.
std::string safetensors_bytes(std::string_view header, std::string_view data,
                              std::optional<uint64_t> header_len = std::nullopt);

// Success when `f` throws swallow::Error of `kind` whose message contains every part.
template <class F>
::testing::AssertionResult throws_error(F&& f, ErrorKind kind, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const Error& e) {
    std::string message = e.what();
    if (e.kind() != kind) {
      return ::testing::AssertionFailure() << "error kind " << error_kind_name(e.kind()) << ", expected "
                                           << error_kind_name(kind) << ": " << message;
    }
    for (const std::string& part : parts) {
      if (message.find(part) == std::string::npos) {
        return ::testing::AssertionFailure() << "message lacks '" << part << "': " << message;
      }
    }
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-swallow exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "no error thrown";
}

}  // namespace swallow::test
