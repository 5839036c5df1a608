#include "shard/populated_arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <new>

namespace parley::shard {
namespace {

// Arena blocks start at multiples of this; mmap returns page-aligned slabs.
constexpr size_t kArenaAlignment = 64;

bool FromArena(size_t bytes, size_t alignment) {
  return bytes >= PopulatedArena::kMinArenaBytes && alignment <= kArenaAlignment;
}

}  // namespace

PopulatedArena::~PopulatedArena() {
  for (std::span<std::byte> slab : slabs_) ::munmap(slab.data(), slab.size());
}

void* PopulatedArena::do_allocate(size_t bytes, size_t alignment) {
  if (!FromArena(bytes, alignment)) {
    return std::pmr::new_delete_resource()->allocate(bytes, alignment);
  }
  const size_t size = (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
  if (size > free_.size()) {
    // The rest of the current slab is abandoned: at most one block's worth per slab.
    const size_t slab_bytes = std::max(kSlabBytes, size);
    void* slab = ::mmap(nullptr, slab_bytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (slab == MAP_FAILED) throw std::bad_alloc();
    slabs_.emplace_back(static_cast<std::byte*>(slab), slab_bytes);
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
