// MailboxMatrix: one SPSC queue per ordered pair of shards (Seastar's N x N matrix) plus one
// wake-up eventfd per shard. A sender pushes a whole turn's messages, then rings the receiver
// once; the receiver's ring has a read pending on its eventfd, so a sleeping shard wakes up.
// Thread contract: TryPush(from, to, ...) only on shard `from`'s thread; Drain(to, ...) and
// ClearNotified(to) only on shard `to`'s thread; Wake from any thread.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "persist/spsc_queue.h"
#include "shard/messages.h"

namespace parley::shard {

class MailboxMatrix {
 public:
  MailboxMatrix(uint32_t shard_count, size_t capacity) : n_(shard_count), wakes_(shard_count) {
    queues_.reserve(size_t{n_} * n_);
    for (size_t i = 0; i < size_t{n_} * n_; ++i) {
      queues_.push_back(std::make_unique<persist::SpscQueue<ShardMessage>>(capacity));
    }
    for (auto& w : wakes_) w.fd = eventfd(0, EFD_CLOEXEC);
  }
  ~MailboxMatrix() {
    for (auto& w : wakes_) close(w.fd);
  }

  uint32_t shard_count() const { return n_; }
  bool ok() const {
    for (auto& w : wakes_)
      if (w.fd < 0) return false;
    return true;
  }

  // False when the queue is full; the message is left with the caller to retry next turn.
  bool TryPush(ShardId from, ShardId to, ShardMessage& message) {
    return queue(from, to).TryPush(message);
  }

  // Rings `to` unless a ring is already pending. A write to an eventfd never blocks here: the
  // counter cannot overflow with at most one write per drain.
  void Wake(ShardId to) {
    Wakeup& w = wakes_[to];
    if (!w.notified.exchange(true, std::memory_order_acq_rel)) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(w.fd, &one, sizeof(one));
    }
  }

  // Receiver: call before Drain, so a push that races with the drain rings again. A
  // read-modify-write on both sides orders it with the sender's exchange: either the drain sees
  // the push, or the sender sees `false` and rings (a plain store could be reordered after the
  // drain's loads).
  void ClearNotified(ShardId to) { wakes_[to].notified.exchange(false, std::memory_order_acq_rel); }

  template <class F>
  size_t Drain(ShardId to, F&& fn) {
    size_t n = 0;
    for (ShardId from = 0; from < n_; ++from) {
      auto& q = queue(from, to);
      while (auto m = q.TryPop()) {
        fn(from, *m);
        ++n;
      }
    }
    return n;
  }

  size_t DepthApprox(ShardId to) const {
    size_t d = 0;
    for (ShardId from = 0; from < n_; ++from) d += queues_[size_t{from} * n_ + to]->SizeApprox();
    return d;
  }

  int wake_fd(ShardId shard) const { return wakes_[shard].fd; }

 private:
  struct alignas(64) Wakeup {
    int fd = -1;
    std::atomic<bool> notified{false};
  };
  persist::SpscQueue<ShardMessage>& queue(ShardId from, ShardId to) {
    return *queues_[size_t{from} * n_ + to];
  }

  uint32_t n_;
  std::vector<std::unique_ptr<persist::SpscQueue<ShardMessage>>> queues_;
  std::vector<Wakeup> wakes_;
};

}  // namespace parley::shard
