// SafetensorsFile: maps a file and validates its layout (8-byte little-endian header length,
// JSON header, data section tiled exactly by the tensors).
#include "io/safetensors.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "core/error.h"
#include "io/safetensors_header.h"

namespace swallow {
namespace {

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string offsets_string(const HeaderEntry& e) {
  return "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
}

// Size in bytes of a tensor, or nullopt when it does not fit in int64.
std::optional<uint64_t> tensor_bytes(const std::vector<int64_t>& shape, DType dtype) {
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  uint64_t bytes = dtype_size(dtype);
  for (int64_t dim : shape) {
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes)) return std::nullopt;
  }
  if (bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return bytes;
}

// Each tensor's offsets must match its shape and lie inside the data section.
void check_tensor_extent(const HeaderEntry& e, uint64_t data_size, const std::string& path) {
  std::string tensor = "tensor '" + e.name + "': ";
  if (e.begin > e.end) throw invalid_file(path, tensor + offsets_string(e) + " end before they begin");
  if (e.end > data_size) {
    throw invalid_file(path, tensor + offsets_string(e) + " lie outside the data section (" +
                                 std::to_string(data_size) + " bytes)");
  }
  std::optional<uint64_t> bytes = tensor_bytes(e.shape, e.dtype);
  std::string what = "shape " + shape_string(e.shape) + " of " + dtype_name(e.dtype);
  if (!bytes) throw invalid_file(path, tensor + what + " is too large (its byte size overflows int64)");
  if (*bytes != e.end - e.begin) {
    throw invalid_file(path, tensor + what + " needs " + std::to_string(*bytes) + " bytes but " + offsets_string(e) +
                                 " hold " + std::to_string(e.end - e.begin));
  }
}

// The tensors, sorted by offsets, must tile [0, data_size) with no overlap and no gap.
void check_tiling(const std::vector<HeaderEntry>& sorted, uint64_t data_size, const std::string& path) {
  uint64_t covered = 0;
  const HeaderEntry* previous = nullptr;
  for (const HeaderEntry& e : sorted) {
    if (e.begin < covered) {
      throw invalid_file(path, "tensors '" + previous->name + "' (" + offsets_string(*previous) + ") and '" + e.name +
                                   "' (" + offsets_string(e) + ") overlap");
    }
    if (e.begin > covered) {
      throw invalid_file(path, "bytes [" + std::to_string(covered) + ", " + std::to_string(e.begin) +
                                   ") of the data section belong to no tensor (gap before tensor '" + e.name + "')");
    }
    covered = e.end;
    previous = &e;
  }
  if (covered != data_size) {
    throw invalid_file(path, "bytes [" + std::to_string(covered) + ", " + std::to_string(data_size) +
                                 ") at the end of the data section belong to no tensor");
  }
}

}  // namespace

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t dim : shape) {
    if (dim == 0) return 0;
  }
  for (int64_t dim : shape) n *= dim;  // validated on load: cannot overflow
  return n;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path) {
  std::span<const uint8_t> bytes = file_.bytes();
  if (bytes.size() < 8) {
    throw invalid_file(path, "file is " + std::to_string(bytes.size()) +
                                 " bytes, too short for a safetensors file (8-byte header length, then the header)");
  }
  uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > kMaxSafetensorsHeaderBytes) {
    throw invalid_file(path, "header length " + std::to_string(header_len) + " bytes exceeds the limit of " +
                                 std::to_string(kMaxSafetensorsHeaderBytes) + " bytes (100 MB)");
  }
  if (header_len > bytes.size() - 8) {
    throw invalid_file(path, "header length " + std::to_string(header_len) + " bytes is larger than the file (" +
                                 std::to_string(bytes.size()) + " bytes)");
  }
  std::string_view json(reinterpret_cast<const char*>(bytes.data() + 8), header_len);
  ParsedHeader header = parse_safetensors_header(json, path);
  std::span<const uint8_t> data = bytes.subspan(8 + header_len);

  for (const HeaderEntry& e : header.entries) check_tensor_extent(e, data.size(), path);
  std::stable_sort(header.entries.begin(), header.entries.end(), [](const HeaderEntry& a, const HeaderEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  check_tiling(header.entries, data.size(), path);

  tensors_.reserve(header.entries.size());
  for (HeaderEntry& e : header.entries) {
    index_.emplace(e.name, tensors_.size());
    tensors_.push_back(TensorInfo{std::move(e.name), e.dtype, std::move(e.shape), data.subspan(e.begin, e.end - e.begin), path});
  }
  metadata_ = std::move(header.metadata);
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace swallow
