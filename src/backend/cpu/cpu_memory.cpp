// MemoryBudget and HostBuffer: aligned zeroed allocations with budget accounting.
#include "backend/cpu/cpu_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"

namespace swallow::cpu {
namespace {

constexpr size_t kSmallAlign = 64;
constexpr size_t kHugeAlign = size_t{2} << 20;

size_t round_up(size_t n, size_t align) { return (n + align - 1) / align * align; }

}  // namespace

void MemoryBudget::reserve(size_t n_bytes, const char* what) {
  size_t used = used_.load();
  do {
    if (n_bytes > limit_ || used > limit_ - n_bytes) {
      throw resource_exhausted(std::string("CPU backend: cannot allocate ") + what + " of " +
                               std::to_string(n_bytes) + " bytes: " + std::to_string(limit_ - used) +
                               " bytes left of the " + std::to_string(limit_) + "-byte memory budget");
    }
  } while (!used_.compare_exchange_weak(used, used + n_bytes));
}

size_t MemoryBudget::available() const {
  size_t used = used_.load();
  return used >= limit_ ? 0 : limit_ - used;
}

HostBuffer::HostBuffer(std::shared_ptr<MemoryBudget> budget, size_t n_bytes, const char* what)
    : budget_(std::move(budget)), n_bytes_(n_bytes) {
  budget_->reserve(n_bytes_, what);
  size_t align = n_bytes_ >= kHugeAlign ? kHugeAlign : kSmallAlign;
  size_t padded = round_up(n_bytes_ == 0 ? 1 : n_bytes_, align);
  data_ = std::aligned_alloc(align, padded);
  if (data_ == nullptr) {
    budget_->release(n_bytes_);
    throw resource_exhausted(std::string("CPU backend: out of host memory allocating ") + what + " of " +
                             std::to_string(n_bytes_) + " bytes");
  }
  if (align == kHugeAlign) madvise(data_, padded, MADV_HUGEPAGE);  // a hint; failure is harmless
  std::memset(data_, 0, padded);
}

HostBuffer::~HostBuffer() {
  std::free(data_);
  budget_->release(n_bytes_);
}

size_t physical_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return size_t{1} << 34;  // unknown: 16 GiB
  return static_cast<size_t>(pages) * static_cast<size_t>(page_size);
}

}  // namespace swallow::cpu
