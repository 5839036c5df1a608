#include "shard/ring.h"

#include <liburing.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace parley::shard {
namespace {
constexpr uint16_t kBufferGroup = 0;
}

bool Completion::more() const { return flags & IORING_CQE_F_MORE; }
bool Completion::has_buffer() const { return flags & IORING_CQE_F_BUFFER; }
uint16_t Completion::buffer_id() const {
  return static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
}

Result<std::unique_ptr<Ring>> Ring::Create(const RingOptions& options) {
  std::unique_ptr<Ring> r(new Ring());
  r->options_ = options;
  r->ring_ = std::make_unique<io_uring>();
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  params.cq_entries = options.cq_entries;
  int rc = io_uring_queue_init_params(options.sq_entries, r->ring_.get(), &params);
  if (rc < 0) {
    // Older kernels lack SINGLE_ISSUER / DEFER_TASKRUN: COOP_TASKRUN still avoids IPIs.
    params = {};
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
    params.cq_entries = options.cq_entries;
    rc = io_uring_queue_init_params(options.sq_entries, r->ring_.get(), &params);
  }
  if (rc < 0) {
    r->ring_.reset();
    return MakeError(ErrorCode::kInternal, "io_uring_queue_init failed", strerror(-rc));
  }
  if (!(params.features & IORING_FEAT_NODROP)) {
    return MakeError(ErrorCode::kInternal, "kernel io_uring lacks FEAT_NODROP");
  }
  // The buffer ring and its buffers: one anonymous mapping, page aligned as the kernel wants.
  size_t entries = options.recv_buffers;
  r->buf_ring_bytes_ = entries * (sizeof(io_uring_buf) + options.recv_buffer_bytes);
  void* mem =
      mmap(nullptr, r->buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return MakeError(ErrorCode::kInternal, "mmap buffer ring failed");
  r->buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  r->buffers_ = static_cast<uint8_t*>(mem) + entries * sizeof(io_uring_buf);
  io_uring_buf_ring_init(r->buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(r->buf_ring_);
  reg.ring_entries = static_cast<uint32_t>(entries);
  reg.bgid = kBufferGroup;
  rc = io_uring_register_buf_ring(r->ring_.get(), &reg, 0);
  if (rc < 0) {
    return MakeError(ErrorCode::kInternal, "io_uring_register_buf_ring failed", strerror(-rc));
  }
  int mask = io_uring_buf_ring_mask(static_cast<uint32_t>(entries));
  for (unsigned i = 0; i < entries; ++i) {
    io_uring_buf_ring_add(r->buf_ring_, r->buffers_ + size_t{i} * options.recv_buffer_bytes,
                          options.recv_buffer_bytes, static_cast<uint16_t>(i), mask,
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(r->buf_ring_, static_cast<int>(entries));
  return r;
}

Ring::~Ring() {
  if (ring_) io_uring_queue_exit(ring_.get());
  if (buf_ring_) munmap(buf_ring_, buf_ring_bytes_);
}

io_uring_sqe* Ring::NextSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  while (sqe == nullptr) {
    // SQ full: hand what we have to the kernel. With FEAT_NODROP a full CQ gives -EBUSY; reaping
    // happens in the caller's loop, so just retry after a submit.
    io_uring_submit(ring_.get());
    sqe = io_uring_get_sqe(ring_.get());
  }
  return sqe;
}

void Ring::MultishotAccept(int listen_fd, uint64_t user_data) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_multishot_accept(sqe, listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::MultishotRecv(int fd, uint64_t user_data) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::SendMsg(int fd, const msghdr* msg, uint64_t user_data) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_sendmsg(sqe, fd, msg, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::Read(int fd, void* buf, unsigned len, uint64_t user_data) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_read(sqe, fd, buf, len, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::Cancel(uint64_t target_user_data, uint64_t user_data) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_cancel64(sqe, target_user_data, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::Timeout(const __kernel_timespec* ts, uint64_t user_data) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_timeout(sqe, const_cast<__kernel_timespec*>(ts), 0, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

int Ring::SubmitAndWait(int64_t timeout_us) {
  int rc;
  if (timeout_us < 0) {
    rc = io_uring_submit_and_wait(ring_.get(), 1);
  } else {
    __kernel_timespec ts{timeout_us / 1000000, (timeout_us % 1000000) * 1000};
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_submit_and_wait_timeout(ring_.get(), &cqe, 1, &ts, nullptr);
  }
  if (rc == -EBUSY || rc == -ETIME) return 0;  // CQ needs reaping first, or timed out
  return rc < 0 ? rc : 0;
}

int Ring::SubmitAndPoll() {
  int rc = io_uring_submit_and_get_events(ring_.get());
  return rc < 0 && rc != -EBUSY ? rc : 0;
}

bool Ring::PeekCompletion(Completion* out) {
  io_uring_cqe* cqe = nullptr;
  if (io_uring_peek_cqe(ring_.get(), &cqe) != 0 || cqe == nullptr) return false;
  out->user_data = cqe->user_data;
  out->res = cqe->res;
  out->flags = cqe->flags;
  return true;
}

void Ring::AdvanceCompletions(unsigned n) { io_uring_cq_advance(ring_.get(), n); }

std::span<const uint8_t> Ring::BufferData(uint16_t buffer_id, int32_t len) const {
  return {buffers_ + size_t{buffer_id} * options_.recv_buffer_bytes, static_cast<size_t>(len)};
}

void Ring::ReturnBuffer(uint16_t buffer_id) {
  io_uring_buf_ring_add(buf_ring_, buffers_ + size_t{buffer_id} * options_.recv_buffer_bytes,
                        options_.recv_buffer_bytes, buffer_id,
                        io_uring_buf_ring_mask(options_.recv_buffers), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

}  // namespace parley::shard
