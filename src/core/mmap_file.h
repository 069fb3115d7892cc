// A read-only memory-mapped file. Owns the mapping; movable, not copyable. The mapped bytes
// may be read from any thread. Empty files map to an empty span.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace swallow {

class MmapFile {
 public:
  MmapFile() = default;
  // Throws swallow::Error (not_found / invalid_file) naming the path.
  explicit MmapFile(const std::string& path);
  ~MmapFile();
  MmapFile(MmapFile&& other) noexcept;
  MmapFile& operator=(MmapFile&& other) noexcept;
  MmapFile(const MmapFile&) = delete;
  MmapFile& operator=(const MmapFile&) = delete;

  const std::string& path() const { return path_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  void release();
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Reads a whole file into a string; throws swallow::Error naming the path.
std::string read_file(const std::string& path);

}  // namespace swallow
