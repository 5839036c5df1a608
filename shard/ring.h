// Ring: the shard's event loop backend over io_uring (liburing 2.3). The only file besides
// ring.cc that names io_uring; the shard sees submissions tagged with 64-bit user data and
// completions. Owned and used by one shard thread: not thread-safe, never blocks except in
// SubmitAndWait.
//
// Receive buffers come from one provided-buffer ring per Ring (buffer group 0) shared by every
// connection of the shard, so idle connections hold no receive buffer of their own.
#pragma once

#include <linux/time_types.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>

#include "core/error.h"

struct io_uring;
struct io_uring_sqe;
struct io_uring_buf_ring;

namespace parley::shard {

struct Completion {
  uint64_t user_data = 0;
  int32_t res = 0;
  uint32_t flags = 0;

  bool more() const;        // another completion of this multishot op will follow
  bool has_buffer() const;  // res bytes are in provided buffer buffer_id()
  uint16_t buffer_id() const;
};

struct RingOptions {
  unsigned sq_entries = 1024;
  unsigned cq_entries = 16384;  // multishot ops complete many times per submission
  unsigned recv_buffers = 512;  // power of two
  unsigned recv_buffer_bytes = 16384;
};

class Ring {
 public:
  static Result<std::unique_ptr<Ring>> Create(const RingOptions& options);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Queue submissions; nothing reaches the kernel until Submit*/SubmitAndWait.
  void MultishotAccept(int listen_fd, uint64_t user_data);
  void MultishotRecv(int fd, uint64_t user_data);               // into the shared buffer ring
  void SendMsg(int fd, const msghdr* msg, uint64_t user_data);  // msg must outlive the op
  void Read(int fd, void* buf, unsigned len, uint64_t user_data);
  void Cancel(uint64_t target_user_data, uint64_t user_data);
  // Completes (with -ETIME) once `ts` has passed; ts must outlive the operation.
  void Timeout(const __kernel_timespec* ts, uint64_t user_data);

  // Submits queued entries and waits for a completion, at most timeout_us (< 0: no limit).
  // Always enters the kernel asking for events, which is what runs DEFER_TASKRUN work.
  // Returns 0 (a completion or the timeout) or a negative errno (-EINTR: just loop again).
  int SubmitAndWait(int64_t timeout_us);
  // Submits queued entries and collects ready completions without waiting (busy polling).
  int SubmitAndPoll();

  // Calls fn(const Completion&) for every ready completion and marks them seen.
  template <class F>
  unsigned DrainCompletions(F&& fn);

  // Provided buffers: the bytes of a completion with has_buffer(), and giving them back.
  std::span<const uint8_t> BufferData(uint16_t buffer_id, int32_t len) const;
  void ReturnBuffer(uint16_t buffer_id);

 private:
  Ring() = default;
  ::io_uring_sqe* NextSqe();
  bool PeekCompletion(Completion* out);
  void AdvanceCompletions(unsigned n);

  std::unique_ptr<io_uring> ring_;
  io_uring_buf_ring* buf_ring_ = nullptr;
  uint8_t* buffers_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  RingOptions options_;
};

template <class F>
unsigned Ring::DrainCompletions(F&& fn) {
  unsigned n = 0;
  Completion c;
  while (PeekCompletion(&c)) {
    AdvanceCompletions(1);  // before fn: fn may submit and wait
    fn(c);
    ++n;
  }
  return n;
}

}  // namespace parley::shard
