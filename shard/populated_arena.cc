#include "shard/populated_arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <new>

namespace parley::shard {
namespace {

// Arena blocks start at multiples of kArenaAlignment, or of a larger alignment asked for (a pool
// resource asks its chunks aligned to their block size) up to a page: slabs are page-aligned.
constexpr size_t kArenaAlignment = 64;
constexpr size_t kMaxArenaAlignment = 4096;

bool FromArena(size_t bytes, size_t alignment) {
  return bytes >= PopulatedArena::kMinArenaBytes && alignment <= kMaxArenaAlignment;
}

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

// Slabs are whole transparent huge pages where the kernel allows them (THP "always" or
// "madvise"): one fault or table entry per 2 MiB instead of 512, which matters most under
// virtualisation, where every new 4 KiB page also costs the hypervisor a trap on first touch
// (measured on the 2-core VM: 4 MiB slabs of huge pages filled 3 to 10 times faster than 4 KiB
// pages populated by MAP_POPULATE).
constexpr size_t kHugePageBytes = size_t{2} << 20;

// `bytes` (a multiple of kHugePageBytes) of writable memory, aligned to kHugePageBytes, filled
// in now: huge pages if the kernel gives them, 4 KiB pages otherwise.
std::byte* MapSlab(size_t bytes) {
  const size_t mapped = bytes + kHugePageBytes;  // room to align
  void* raw = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto begin = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = RoundUp(begin, kHugePageBytes);
  if (aligned > begin) ::munmap(raw, aligned - begin);
  const uintptr_t tail = begin + mapped - (aligned + bytes);
  if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + bytes), tail);
  auto* slab = reinterpret_cast<std::byte*>(aligned);
  ::madvise(slab, bytes, MADV_HUGEPAGE);  // a hint: refused without THP, and nothing changes
  bool populated = false;
#ifdef MADV_POPULATE_WRITE
  populated = ::madvise(slab, bytes, MADV_POPULATE_WRITE) == 0;
#endif
  if (!populated) {  // before Linux 5.14: touch one byte a page
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    for (size_t at = 0; at < bytes; at += page) static_cast<volatile std::byte*>(slab)[at] = {};
  }
  return slab;
}

}  // namespace

PopulatedArena::~PopulatedArena() {
  for (std::span<std::byte> slab : slabs_) ::munmap(slab.data(), slab.size());
}

void* PopulatedArena::do_allocate(size_t bytes, size_t alignment) {
  if (!FromArena(bytes, alignment)) {
    return std::pmr::new_delete_resource()->allocate(bytes, alignment);
  }
  alignment = std::max(alignment, kArenaAlignment);
  const size_t size = RoundUp(bytes, kArenaAlignment);
  const auto at = reinterpret_cast<uintptr_t>(free_.data());
  const size_t padding = RoundUp(at, alignment) - at;
  // Without room for the padding, a new slab (page-aligned) is taken below.
  free_ = padding <= free_.size() ? free_.subspan(padding) : std::span<std::byte>{};
  if (size > free_.size()) {
    // The rest of the current slab is abandoned: at most one block's worth per slab.
    const size_t slab_bytes = RoundUp(std::max(kSlabBytes, size), kHugePageBytes);
    slabs_.emplace_back(MapSlab(slab_bytes), slab_bytes);
    free_ = slabs_.back();
    mapped_bytes_ += slab_bytes;
  }
  std::byte* block = free_.data();
  free_ = free_.subspan(size);
  return block;
}

void PopulatedArena::do_deallocate(void* block, size_t bytes, size_t alignment) {
  if (!FromArena(bytes, alignment)) {
    std::pmr::new_delete_resource()->deallocate(block, bytes, alignment);
  }
  // Arena blocks return with their slab when the arena is destroyed.
}

}  // namespace parley::shard
