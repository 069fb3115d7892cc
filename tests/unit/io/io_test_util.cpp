// Temporary folders and raw file writing for the io unit tests.
#include "io_test_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace swallow::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "swallow_io_XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  dir_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void write_bytes(const std::string& path, std::string_view bytes) {
  // Replace rather than truncate: ext4 flushes a truncated file on close, which is slow.
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string safetensors_bytes(std::string_view header, std::string_view data, std::optional<uint64_t> header_len) {
  uint64_t len = header_len.value_or(header.size());
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  out += header;
  out += data;
  return out;
}

}  // namespace swallow::test
