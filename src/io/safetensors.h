// Safetensors files: SafetensorsFile maps and validates one file, Checkpoint gathers all weights
// of a Hugging Face model folder (one file, index-listed shards, or every *.safetensors), and
// write_safetensors writes one. TensorInfo::data points into the owning file's mapping and stays
// valid as long as that SafetensorsFile / Checkpoint lives. Both classes are immutable after
// construction; reads are thread-safe. Malformed files throw swallow::Error naming file and tensor.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/mmap_file.h"

namespace swallow {

// Largest header accepted (as the reference safetensors implementation).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;
// Largest number of dimensions accepted for one tensor.
inline constexpr size_t kMaxTensorRank = 16;

// A view of one tensor inside a mapped file.
struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;      // validated: non-negative, element count x dtype size fits
  std::span<const uint8_t> data;   // exactly n_elements() * dtype_size(dtype) bytes
  std::string file;                // path of the file holding it, for error messages

  int64_t n_elements() const;
};

// One memory-mapped .safetensors file, validated completely on construction: header length,
// JSON structure, dtypes, shapes, and that the tensors tile the data section exactly.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_.path(); }
  // All tensors, ordered by their position in the file.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // nullptr when the file has no tensor of that name.
  const TensorInfo* find(std::string_view name) const;
  // The header's "__metadata__" (string -> string), empty when absent.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  MmapFile file_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

// All weights of a Hugging Face model folder: model.safetensors.index.json (its weight_map names
// the shard of every tensor) if present, else model.safetensors, else every *.safetensors file
// in the folder (a tensor name in two files is an error). Movable, not copyable.
class Checkpoint {
 public:
  static Checkpoint open(const std::string& model_dir);

  // nullptr when absent.
  const TensorInfo* find(std::string_view name) const;
  // All tensor names, sorted.
  std::vector<std::string> names() const;
  // Sum of the tensors' data sizes in bytes.
  uint64_t total_bytes() const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorInfo*, std::less<>> tensors_;  // points into files_
};

// One tensor to write: bytes must hold exactly prod(shape) * dtype_size(dtype) bytes.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::span<const uint8_t> bytes;
};

// Writes tensors (F32/F16/BF16/I32) and string metadata to a .safetensors file. Tensor data is
// laid out by decreasing element size so that every tensor is aligned to its element size.
// Throws invalid_argument for a bad tensor (named) or a path that cannot be written.
void write_safetensors(const std::string& path, std::span<const TensorToWrite> tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace swallow
