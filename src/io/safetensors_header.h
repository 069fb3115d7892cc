// Parser for the JSON header of a safetensors file (internal to src/io). It checks the header's
// structure (types, dtypes, shape and offset values) while streaming it, so that memory stays
// proportional to the header and no nesting or huge array can exhaust stack or heap; the byte
// layout (sizes, bounds, overlaps, gaps) is checked by SafetensorsFile. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace swallow {

struct HeaderEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // each dimension >= 0, at most kMaxTensorRank of them
  uint64_t begin = 0;          // data_offsets, relative to the start of the data section
  uint64_t end = 0;
};

struct ParsedHeader {
  std::vector<HeaderEntry> entries;  // in header order
  std::map<std::string, std::string> metadata;
};

// Throws invalid_file (or unsupported, for a known dtype this program does not handle) naming
// `path` and the tensor or field at fault.
ParsedHeader parse_safetensors_header(std::string_view json, const std::string& path);

}  // namespace swallow
