// Host memory of the CPU backend: 64-byte aligned buffers (large ones 2 MiB aligned and marked
// for transparent huge pages) counted against a byte budget. The budget is shared by the
// backend and every buffer it made, so buffers may outlive the backend. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

#include "backend/backend.h"

namespace swallow::cpu {

class MemoryBudget {
 public:
  explicit MemoryBudget(size_t limit_bytes) : limit_(limit_bytes) {}
  // Throws resource_exhausted (naming `what`) when n_bytes do not fit.
  void reserve(size_t n_bytes, const char* what);
  void release(size_t n_bytes) { used_.fetch_sub(n_bytes); }
  size_t limit() const { return limit_; }
  size_t available() const;

 private:
  size_t limit_;
  std::atomic<size_t> used_{0};
};

class HostBuffer final : public Buffer {
 public:
  // Allocates n_bytes zero-filled bytes within `budget`; `what` names it in errors.
  HostBuffer(std::shared_ptr<MemoryBudget> budget, size_t n_bytes, const char* what);
  ~HostBuffer() override;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  void* data() const override { return data_; }
  size_t n_bytes() const override { return n_bytes_; }

 private:
  std::shared_ptr<MemoryBudget> budget_;
  void* data_ = nullptr;
  size_t n_bytes_ = 0;
};

// Physical memory of the machine in bytes (the default budget).
size_t physical_memory_bytes();

}  // namespace swallow::cpu
