// write_safetensors: header JSON padded with spaces to a multiple of 8 bytes, then the tensor
// data, largest element size first so every tensor is aligned to its element size.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "io/safetensors.h"

namespace swallow {
namespace {

uint64_t expected_bytes(const TensorToWrite& t) {
  uint64_t bytes = dtype_size(t.dtype);
  bool has_zero = false;
  for (int64_t dim : t.shape) {
    if (dim < 0) throw invalid_argument("tensor '" + t.name + "': negative dimension " + std::to_string(dim));
    has_zero = has_zero || dim == 0;
    if (!has_zero && __builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes)) {
      throw invalid_argument("tensor '" + t.name + "': shape too large");
    }
  }
  return has_zero ? 0 : bytes;
}

}  // namespace

void write_safetensors(const std::string& path, std::span<const TensorToWrite> tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::set<std::string_view> names;
  for (const TensorToWrite& t : tensors) {
    if (t.name == "__metadata__") throw invalid_argument("tensor name '__metadata__' is reserved by safetensors");
    if (!names.insert(t.name).second) throw invalid_argument("tensor '" + t.name + "' is given twice");
    uint64_t bytes = expected_bytes(t);
    if (bytes != t.bytes.size()) {
      throw invalid_argument("tensor '" + t.name + "': shape and dtype " + dtype_name(t.dtype) + " need " +
                             std::to_string(bytes) + " bytes, got " + std::to_string(t.bytes.size()));
    }
  }

  std::vector<const TensorToWrite*> order;
  for (const TensorToWrite& t : tensors) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const TensorToWrite* a, const TensorToWrite* b) {
    return dtype_size(a->dtype) > dtype_size(b->dtype);
  });

  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorToWrite* t : order) {
    header[t->name] = {{"dtype", dtype_name(t->dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->bytes.size()}}};
    offset += t->bytes.size();
  }
  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::exception&) {
    throw invalid_argument(path + ": tensor names and metadata must be valid UTF-8");
  }
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw invalid_argument(path + ": cannot be written: " + std::strerror(errno));
  uint64_t header_len = header_text.size();
  char prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>((header_len >> (8 * i)) & 0xff);
  out.write(prefix, 8);
  out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
  for (const TensorToWrite* t : order) {
    out.write(reinterpret_cast<const char*>(t->bytes.data()), static_cast<std::streamsize>(t->bytes.size()));
  }
  out.close();
  if (!out) throw invalid_argument(path + ": write failed: " + std::strerror(errno));
}

}  // namespace swallow
