// Whether this process may run AMX: the CPU's feature bits (cpuid leaf 7), the OS's enabled state
// (XCR0 tile bits) and Linux's per-process permission for the tile data state, asked for once.
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/cpu/kernels_amx.h"

namespace swallow::cpu {
namespace {

constexpr unsigned kCpuid1EcxOsxsave = 1u << 27;
constexpr unsigned kCpuid7EdxAmxBf16 = 1u << 22;
constexpr unsigned kCpuid7EdxAmxTile = 1u << 24;
constexpr uint64_t kXcr0TileState = (1u << 17) | (1u << 18);  // XTILECFG, XTILEDATA
constexpr long kArchReqXcompPerm = 0x1023;                    // arch_prctl: ask for an XSAVE feature
constexpr long kXfeatureXtiledata = 18;

bool cpu_has_amx_bf16() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || (ecx & kCpuid1EcxOsxsave) == 0) return false;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const unsigned amx = kCpuid7EdxAmxTile | kCpuid7EdxAmxBf16;
  return (edx & amx) == amx;
}

uint64_t xcr0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

bool check_and_request_amx() {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") || !__builtin_cpu_supports("f16c")) return false;
  if (!cpu_has_amx_bf16() || (xcr0() & kXcr0TileState) != kXcr0TileState) return false;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

}  // namespace

bool amx_supported() {
  static const bool supported = check_and_request_amx();
  return supported;
}

}  // namespace swallow::cpu
