// The shard loop and connection I/O. See shard.h for the contract.
#include "shard/shard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "persist/codec.h"
#include "persist/snapshot.h"
#include "shard/encode.h"
#include "shard/log.h"

namespace parley::shard {
namespace {

// user_data: [op:8][slot:24][gen:32]
enum Op : uint8_t {
  kOpAccept = 1, kOpRecv = 2, kOpSend = 3, kOpWake = 4, kOpCancel = 5, kOpTick = 6
};
constexpr size_t kMaxIovPerSend = 256;
// GoingAway's advice: a restart replays before it listens, so an earlier retry only fails.
constexpr uint32_t kGoingAwayRetryMs = 1000;

uint64_t Tag(Op op, uint32_t slot, uint32_t gen) {
  return (uint64_t{op} << 56) | (uint64_t{slot & 0xffffff} << 32) | gen;
}
Op OpOf(uint64_t ud) { return static_cast<Op>(ud >> 56); }
uint32_t SlotOf(uint64_t ud) { return static_cast<uint32_t>((ud >> 32) & 0xffffff); }
uint32_t GenOf(uint64_t ud) { return static_cast<uint32_t>(ud); }

uint64_t NanosBetween(std::chrono::steady_clock::time_point from,
                      std::chrono::steady_clock::time_point to) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

}  // namespace

Shard::Shard(ShardId id, const ShardConfig& config, MailboxMatrix* mailboxes,
             std::unique_ptr<persist::LogStore> store)
    : id_(id),
      config_(config),
      mailboxes_(mailboxes),
      state_(id, config.shard_count, &message_memory_, &text_memory_),
      ids_(id, config.shard_count, 0),
      store_(std::move(store)),
      outbox_(config.shard_count) {}

Shard::~Shard() {
  if (committer_) committer_->Stop();
  for (Session& s : sessions_) {
    if (s.fd >= 0) close(s.fd);
  }
  if (listen_fd_ >= 0) close(listen_fd_);
}

Status Shard::Replay() {
  thread_ = std::this_thread::get_id();
  const auto started = std::chrono::steady_clock::now();
  Result<persist::SnapshotLoad> load = persist::LoadNewestSnapshot(*store_, state_, [this] {
    state_ = ShardState(id_, config_.shard_count, &message_memory_, &text_memory_);
  });
  if (!load.ok()) return load.error();
  if (load->skipped > 0) {
    LogJson("warn", "snapshots skipped",
            {{"shard", std::to_string(id_)},
             {"skipped", std::to_string(load->skipped)},
             {"reason", load->skip_reason}});
  }
  snapshot_lsn_ = last_snapshot_lsn_ = load->lsn;
  if (snapshot_lsn_ > 0) NoteSnapshotPosts();
  uint64_t n = 0;
  Event event;  // each record is decoded into it, then moved into the state
  Status st = store_->Replay(snapshot_lsn_ + 1, [&](Lsn lsn, std::string_view bytes) -> Status {
    if (Status decoded = persist::DecodeEventInto(bytes, event); !decoded.ok()) {
      Error e = decoded.error();
      e.details = "shard " + std::to_string(id_) + " lsn " + std::to_string(lsn) + ": " + e.details;
      return e;
    }
    NoteReplayedPost(event);
    state_.Apply(std::move(event));
    ++n;
    return OkStatus();
  });
  if (!st.ok()) return st;
  ids_ = IdMinter(id_, config_.shard_count, state_.max_minted());
  counters_.replayed_events.Set(n);
  counters_.replay_ns.Set(NanosBetween(started, std::chrono::steady_clock::now()));
  commit_stats_.committed_lsn.store(store_->last_lsn(), std::memory_order_relaxed);
  return OkStatus();
}

void Shard::TakeSnapshot() {
  assert(state_.version() == committer_->last_appended());
  const auto start = std::chrono::steady_clock::now();
  const Lsn lsn = state_.version();
  auto bytes = std::make_shared<std::string>(persist::EncodeSnapshot(state_, lsn, 0));
  const auto encode_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  last_snapshot_lsn_ = lsn;
  const ShardId shard = id_;
  const size_t keep = config_.snapshots_kept;
  committer_->RunAfterCommit([shard, lsn, keep, encode_ms, bytes](persist::LogStore& store) {
    const auto start = std::chrono::steady_clock::now();
    const size_t size = bytes->size();
    Status stored = persist::StoreSnapshot(store, std::move(*bytes), keep);
    const auto store_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
    if (stored.ok()) {
      LogJson("info", "snapshot written",
              {{"shard", std::to_string(shard)},
               {"lsn", std::to_string(lsn)},
               {"bytes", std::to_string(size)},
               {"encode_ms", std::to_string(encode_ms)},
               {"store_ms", std::to_string(store_ms)}});
    } else {
      // Not fatal: the log is intact, and the next start replays more of it.
      LogJson("error", "snapshot failed",
              {{"shard", std::to_string(shard)},
               {"lsn", std::to_string(lsn)},
               {"error", stored.error().message + ": " + stored.error().details}});
    }
  });
}

void Shard::RequestStop() {
  stop_requested_.store(true, std::memory_order_release);
  mailboxes_->Wake(id_);
}

void Shard::RequestExit() {
  exit_requested_.store(true, std::memory_order_release);
  mailboxes_->Wake(id_);
}

Status Shard::Serve(int listen_fd) {
  thread_ = std::this_thread::get_id();
  Result<std::unique_ptr<Ring>> ring = Ring::Create(config_.ring);
  if (!ring.ok()) return ring.error();
  ring_ = std::move(*ring);
  listen_fd_ = listen_fd;
  committer_ = std::make_unique<persist::GroupCommitter>(
      std::move(store_), [this] { mailboxes_->Wake(id_); },
      [this](const Error& e) {
        // State is ahead of the log: stopping is the only safe answer; replay restores it.
        LogJson("fatal", "log commit failed",
                {{"shard", std::to_string(id_)}, {"error", e.message + ": " + e.details}});
        std::_Exit(70);
      },
      &commit_stats_);
  committer_->Start();
  BroadcastAllKeywords();  // before serving: every channel owner can match them
  ArmAccept();
  ArmWake();
  ArmTick();
  RunLoop();
  // A graceful stop: every applied event is appended, so the next start loads this and replays
  // nothing.
  if (config_.snapshot_every_events > 0 && state_.version() > last_snapshot_lsn_) TakeSnapshot();
  committer_->Stop();
  return OkStatus();
}

void Shard::ArmAccept() {
  ring_->MultishotAccept(listen_fd_, Tag(kOpAccept, 0, 0));
  accept_armed_ = true;
}

// The housekeeping tick: a timeout operation, so the loop does no clock reading of its own.
void Shard::ArmTick() {
  // Statuses that expired before this server started are not announced: nobody followed them.
  if (presence_.expiries_checked_at == 0) presence_.expiries_checked_at = Now();
  ring_->Timeout(&tick_interval_, Tag(kOpTick, 0, 0));
}

void Shard::ArmWake() { ring_->Read(mailboxes_->wake_fd(id_), &wake_buf_, 8, Tag(kOpWake, 0, 0)); }

void Shard::RunLoop() {
  using std::chrono::steady_clock;
  auto exit_deadline = steady_clock::time_point::max();
  auto turn_started = steady_clock::now();
  for (;;) {
    if (!stopping_ && stop_requested_.load(std::memory_order_acquire)) BeginStop();
    FireDurable();
    if (!presence_.delivered.empty()) FlushReceipts();
    committer_->Flush();
    if (config_.snapshot_every_events > 0 &&
        state_.version() - last_snapshot_lsn_ >= config_.snapshot_every_events) {
      TakeSnapshot();
    }
    bool outbox_full = !FlushOutbox();
    FlushSends();
    if (stopping_) PublishIdle();
    if (exit_requested_.load(std::memory_order_acquire)) {
      if (exit_deadline == steady_clock::time_point::max()) {
        exit_deadline = steady_clock::now() + std::chrono::seconds(2);
        SayGoingAway();
        FlushSends();
      }
      if (!SendsPending() || steady_clock::now() > exit_deadline) return;
    }
    if (!accept_armed_ && !stopping_ && steady_clock::now() >= accept_retry_at_) ArmAccept();
    // A full mailbox frees up without waking us, a drain needs fresh completions, and a paused
    // accept needs retrying: poll.
    int64_t timeout_us = outbox_full || stopping_ ? 1000 : accept_armed_ ? -1 : 10000;
    const auto wait_started = steady_clock::now();
    int rc = ring_->SubmitAndWait(timeout_us);
    const auto woke = steady_clock::now();
    counters_.loop_busy_ns.Add(NanosBetween(turn_started, wait_started));
    counters_.loop_wait_ns.Add(NanosBetween(wait_started, woke));
    counters_.loop_seen_ms.Set(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(woke.time_since_epoch()).count()));
    turn_started = woke;
    if (rc < 0 && rc != -EINTR) {
      LogJson("error", "io_uring submit failed", {{"errno", std::to_string(-rc)}});
    }
    ring_->DrainCompletions([this](const Completion& c) { OnCompletion(c); });
  }
}

// The last frame of every connection, queued behind the answers it was owed (Server::Stop let
// them all complete first); the connection closes once it is written.
void Shard::SayGoingAway() {
  wire::GoingAwayT away;
  away.reason = "server shutting down";
  away.retry_after_ms = kGoingAwayRetryMs;
  auto frame = std::make_shared<const wire::Bytes>(EncodeBody(0, std::move(away)));
  for (uint32_t slot = 0; slot < sessions_.size(); ++slot) {
    Session& s = sessions_[slot];
    if (!s.in_use || s.closing || s.close_after_flush) continue;
    Enqueue(s, slot, frame);
    CloseAfterFlush(s);
    counters_.going_away_sent.Add();
  }
}

void Shard::BeginStop() {
  stopping_ = true;
  if (accept_armed_) ring_->Cancel(Tag(kOpAccept, 0, 0), Tag(kOpCancel, 0, 0));
}

// Idle: nothing of ours is waiting on the disk, on another shard, or in a mailbox to us.
void Shard::PublishIdle() {
  bool idle = committer_->durable_lsn() == committer_->last_appended() &&
              durable_waiters_.empty() && queries_.empty() && worker_jobs_inflight_ == 0 &&
              mailboxes_->DepthApprox(id_) == 0 &&
              std::all_of(outbox_.begin(), outbox_.end(), [](auto& box) { return box.empty(); });
  idle_.store(idle, std::memory_order_release);
}

bool Shard::SendsPending() const {
  for (const Session& s : sessions_) {
    if (s.in_use && !s.closing && (s.send_inflight || NeedsSend(s))) return true;
  }
  return false;
}

void Shard::OnCompletion(const Completion& c) {
  Op op = OpOf(c.user_data);
  switch (op) {
    case kOpAccept:
      OnAccept(c);
      return;
    case kOpWake:
      mailboxes_->ClearNotified(id_);
      DrainMailboxes();
      ArmWake();
      return;
    case kOpCancel:
      return;
    case kOpTick:
      Housekeeping();
      if (!stopping_) ArmTick();
      return;
    case kOpRecv:
    case kOpSend: {
      uint32_t slot = SlotOf(c.user_data);
      Session& s = sessions_[slot];
      // A slot is reused only once none of its operations is in flight.
      if (GenOf(c.user_data) != s.gen) {
        LogJson("error", "completion for a reused session slot", {{"slot", std::to_string(slot)}});
        return;
      }
      if (op == kOpRecv) {
        OnRecv(s, slot, c);
      } else {
        OnSendDone(s, slot, c.res);
      }
      return;
    }
  }
}

void Shard::OnAccept(const Completion& c) {
  if (!c.more()) accept_armed_ = false;
  if (c.res < 0) {
    if (c.res != -ECANCELED && !accept_paused_) {
      LogJson("warn", "accept failed; pausing accepts",
              {{"shard", std::to_string(id_)}, {"errno", std::to_string(-c.res)}});
    }
    // Out of descriptors (or memory) fails again at once: retry later instead of spinning.
    accept_paused_ = c.res != -ECANCELED;
    accept_retry_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    return;
  }
  accept_paused_ = false;
  if (!accept_armed_ && !stopping_) ArmAccept();
  if (stopping_) {
    close(c.res);
    return;
  }
  int one = 1;
  setsockopt(c.res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_storage peer{};
  socklen_t peer_len = sizeof(peer);
  char peer_text[INET6_ADDRSTRLEN] = "";
  if (getpeername(c.res, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) {
    if (peer.ss_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, peer_text,
                sizeof(peer_text));
    } else if (peer.ss_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr, peer_text,
                sizeof(peer_text));
    }
  }
  std::unique_ptr<SessionTls> tls;
  if (config_.tls && !(tls = NewSessionTls(peer_text))) {
    close(c.res);
    return;
  }
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(sessions_.size());
    sessions_.emplace_back();
  }
  Session& s = sessions_[slot];
  uint32_t gen = s.gen;
  s = Session{};
  s.gen = gen;
  s.fd = c.res;
  s.address = peer_text;
  s.tls = std::move(tls);
  s.in_use = true;
  s.recv_armed = true;
  ring_->MultishotRecv(s.fd, Tag(kOpRecv, slot, s.gen));
  counters_.connections_accepted.Add();
  AdmitConnection(s);
}

void Shard::OnRecv(Session& s, uint32_t slot, const Completion& c) {
  if (c.has_buffer()) {
    if (c.res > 0 && !s.closing && !s.close_after_flush) {
      auto data = ring_->BufferData(c.buffer_id(), c.res);
      if (s.tls) {
        ReceiveTls(s, slot, data);
      } else {
        s.in.insert(s.in.end(), data.begin(), data.end());
      }
    }
    ring_->ReturnBuffer(c.buffer_id());
  }
  if (!c.more()) s.recv_armed = false;
  if (c.res > 0) {
    ProcessInput(s, slot);
  } else if (c.res != -ENOBUFS) {
    CloseSession(s, slot);  // EOF, reset, or cancelled
  }
  // Multishot recv ends with -ENOBUFS when the buffer ring ran dry: not EOF, re-arm.
  if (!s.recv_armed && !s.closing) {
    s.recv_armed = true;
    ring_->MultishotRecv(s.fd, Tag(kOpRecv, slot, s.gen));
  }
  MaybeFree(s, slot);
}

void Shard::ProcessInput(Session& s, uint32_t slot) {
  size_t off = 0;
  while (!s.closing && !s.close_after_flush) {
    std::span<const uint8_t> rest(s.in.data() + off, s.in.size() - off);
    wire::Split split = wire::NextFrame(rest, config_.max_frame_bytes);
    if (split.status == wire::SplitStatus::kNeedMore) break;
    if (split.status == wire::SplitStatus::kTooLarge) {
      FailSession(s, slot,
                  MakeError(ErrorCode::kFrameTooLarge, "frame exceeds the maximum frame size",
                            "max_frame_bytes=" + std::to_string(config_.max_frame_bytes)));
      break;
    }
    if (split.status == wire::SplitStatus::kEmpty) {
      FailSession(s, slot, MakeError(ErrorCode::kMalformedFrame, "zero-length frame"));
      break;
    }
    counters_.frames_in.Add();
    std::span<const uint8_t> payload = rest.subspan(wire::kLengthPrefixBytes, split.payload_bytes);
    if (reinterpret_cast<uintptr_t>(payload.data()) % wire::kPayloadAlignment != 0) {
      // FlatBuffers reads 8-byte scalars in place: give it an aligned copy (frames are small).
      aligned_.resize((payload.size() + 7) / 8);
      std::memcpy(aligned_.data(), payload.data(), payload.size());
      payload = {reinterpret_cast<const uint8_t*>(aligned_.data()), payload.size()};
    }
    s.last_frame_at = SteadyMs();
    HandleFrame(s, slot, payload);
    off += wire::kLengthPrefixBytes + split.payload_bytes;
  }
  if (s.closing || s.close_after_flush) {
    s.in.clear();
  } else {
    s.in.erase(s.in.begin(), s.in.begin() + static_cast<ptrdiff_t>(off));
  }
  // A frame begun and not finished starts the frame timeout (a slowloris sends one byte at a
  // time); one finished in this read starts none. Over TLS a frame begins with the first byte of
  // its record: a client trickling a record is as slow as one trickling a frame.
  const bool partial_record = s.tls && s.tls->stream->has_partial_input();
  if (s.in.empty() && !partial_record) {
    s.partial_since = 0;
  } else if (s.partial_since == 0 || off > 0) {
    s.partial_since = SteadyMs();
  }
}

// Broken framing or a failed handshake: say why, then close once that frame is written.
void Shard::FailSession(Session& s, uint32_t slot, const Error& error) {
  NoteError(error, RefOf(slot), 0, wire::Body::NONE, s.session_id);
  Enqueue(s, slot, wire::EncodeError(0, error));
  CloseAfterFlush(s);
}

void Shard::Enqueue(Session& s, uint32_t slot, wire::Bytes frame) {
  Enqueue(s, slot, std::make_shared<const wire::Bytes>(std::move(frame)));
}

void Shard::Enqueue(Session& s, uint32_t slot, wire::SharedBytes frame, CoalesceKey key) {
  assert(InShardThread());
  if (s.closing || s.close_after_flush) return;
  if (s.inflight > 0) NoteAnswer(s, *frame);
  if (key.topic != 0 && Coalesce(s, key, frame)) return;
  // Over the shard's budget for all queues, the fullest queue goes first (its reader is the
  // slowest), whoever this frame is for.
  const uint64_t budget = config_.limits.max_outbound_total_bytes;
  if (s.out_bytes > 0 && outbound_total_ + frame->size() > budget) {
    const uint32_t fullest = FullestSession();
    if (fullest != slot && fullest != UINT32_MAX) Lag(sessions_[fullest], fullest);
  }
  // One frame always fits an empty queue, so a large reply (a full history page) never counts
  // as lagging; the bound is on what piles up behind it.
  if (s.out_bytes > 0 && (s.out_bytes + frame->size() > config_.max_outbound_bytes ||
                          outbound_total_ + frame->size() > budget)) {
    return Lag(s, slot);
  }
  AddOutbound(s, static_cast<int64_t>(frame->size()));
  s.out.push_back(std::move(frame));
  MarkDirty(s, slot);
}

// A slow reader: drop what is not already in flight, tell it, and close. It resumes by
// reconnecting and syncing each channel from the last seq it saw.
void Shard::Lag(Session& s, uint32_t slot) {
  counters_.sessions_lagged.Add();
  while (s.out.size() > s.inflight_items) s.out.pop_back();
  size_t kept = 0;
  for (size_t i = 0; i < s.out.size(); ++i) kept += s.out[i]->size();
  kept -= s.out_offset;
  s.coalesced.clear();
  auto lag = wire::EncodeError(0, MakeError(ErrorCode::kLagged,
                                            "outbound queue overflow; reconnect and Sync "
                                            "each channel from the last seq received"));
  AddOutbound(s, static_cast<int64_t>(kept + lag.size()) - static_cast<int64_t>(s.out_bytes));
  s.out.push_back(std::make_shared<const wire::Bytes>(std::move(lag)));
  CloseAfterFlush(s);
  MarkDirty(s, slot);
}

void Shard::MarkDirty(Session& s, uint32_t slot) {
  if (!s.dirty) {
    s.dirty = true;
    dirty_.push_back(slot);
  }
}

// TLS also sends handshake records, alerts and close_notify, which are not frames.
bool Shard::NeedsSend(const Session& s) const {
  return !s.out.empty() ||
         (s.tls && (s.tls->stream->pending_output() > 0 || s.close_after_flush));
}

void Shard::FlushSends() {
  for (uint32_t slot : dirty_) {
    Session& s = sessions_[slot];
    s.dirty = false;
    if (s.in_use && !s.closing && !s.send_inflight && NeedsSend(s)) StartSend(s, slot);
  }
  dirty_.clear();
}

// One send in flight per connection (overlapping sends can reorder), carrying everything queued:
// the message rate is set by how many frames share a send.
void Shard::StartSend(Session& s, uint32_t slot) {
  if (s.tls) {
    StartTlsSend(s, slot);
    return;
  }
  size_t n = std::min(s.out.size(), kMaxIovPerSend);
  s.iov.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const wire::Bytes& b = *s.out[i];
    size_t skip = i == 0 ? s.out_offset : 0;
    s.iov[i].iov_base = const_cast<uint8_t*>(b.data() + skip);
    s.iov[i].iov_len = b.size() - skip;
  }
  SubmitSend(s, slot, n);
}

// Sends s.iov; `items` frames of s.out are in it.
void Shard::SubmitSend(Session& s, uint32_t slot, size_t items) {
  s.msg = msghdr{};
  s.msg.msg_iov = s.iov.data();
  s.msg.msg_iovlen = s.iov.size();
  s.inflight_items = items;
  s.send_inflight = true;
  ring_->SendMsg(s.fd, &s.msg, Tag(kOpSend, slot, s.gen));
}

void Shard::OnSendDone(Session& s, uint32_t slot, int32_t res) {
  s.send_inflight = false;
  s.inflight_items = 0;
  if (res < 0) {
    CloseSession(s, slot);
    MaybeFree(s, slot);
    return;
  }
  if (s.tls) {
    OnTlsSent(s, slot, static_cast<size_t>(res));
    MaybeFree(s, slot);
    return;
  }
  size_t left = static_cast<size_t>(res);
  AddOutbound(s, -static_cast<int64_t>(std::min(s.out_bytes, left)));
  while (left > 0 && !s.out.empty()) {
    size_t front_left = s.out.front()->size() - s.out_offset;
    if (left < front_left) {
      s.out_offset += left;
      break;
    }
    left -= front_left;
    s.out.pop_front();
    s.out_offset = 0;
  }
  if (!s.coalesced.empty() && !s.closing) ReleaseCoalesced(s, slot);
  if (!s.out.empty()) {
    if (!s.closing) StartSend(s, slot);
  } else if (s.close_after_flush) {
    CloseSession(s, slot);
  }
  MaybeFree(s, slot);
}

void Shard::CloseSession(Session& s, uint32_t slot) {
  if (s.closing || !s.in_use) return;
  s.closing = true;
  for (ChannelId channel : s.subscriptions) {
    auto& subs = local_subs_[channel];
    subs.erase(std::remove(subs.begin(), subs.end(), slot), subs.end());
    if (subs.empty()) local_subs_.erase(channel);
    AddInterest(channel, id_, -1);
  }
  s.subscriptions.clear();
  if (s.user != 0) {
    auto& mine = user_sessions_[s.user];
    mine.erase(std::remove(mine.begin(), mine.end(), slot), mine.end());
    if (mine.empty()) user_sessions_.erase(s.user);
    NoteSignedOut(s.user);
  }
  // Ends the multishot recv (it completes with 0) and fails a send still in flight. The frames
  // that send points at stay alive until it completes; MaybeFree drops them.
  shutdown(s.fd, SHUT_RDWR);
  s.out.resize(s.inflight_items);
  AddOutbound(s, -static_cast<int64_t>(s.out_bytes));
  s.coalesced.clear();
  ReleaseConnection(s);
}

void Shard::MaybeFree(Session& s, uint32_t slot) {
  if (!s.closing || s.recv_armed || s.send_inflight || !s.in_use) return;
  close(s.fd);
  s.fd = -1;
  s.in_use = false;
  s.gen++;
  s.in = {};
  s.iov = {};
  s.tls.reset();
  s.out.clear();
  free_slots_.push_back(slot);
  counters_.connections_closed.Add();
}

Session* Shard::Find(const SessionRef& ref) {
  if (ref.shard != id_ || ref.slot >= sessions_.size()) return nullptr;
  Session& s = sessions_[ref.slot];
  if (!s.in_use || s.closing || s.gen != ref.gen) return nullptr;
  return &s;
}

SessionRef Shard::RefOf(uint32_t slot) const { return SessionRef{id_, slot, sessions_[slot].gen}; }

void Shard::Send(ShardId to, ShardMessage message) {
  assert(InShardThread());
  outbox_[to].push_back(std::move(message));
}

// A whole turn's messages per destination, then one ring. A full queue keeps the rest here for
// the next turn rather than blocking.
bool Shard::FlushOutbox() {
  bool all = true;
  for (ShardId to = 0; to < outbox_.size(); ++to) {
    auto& box = outbox_[to];
    if (box.empty()) continue;
    size_t pushed = 0;
    while (pushed < box.size() && mailboxes_->TryPush(id_, to, box[pushed])) ++pushed;
    box.erase(box.begin(), box.begin() + static_cast<ptrdiff_t>(pushed));
    if (pushed > 0) mailboxes_->Wake(to);
    all = all && box.empty();
  }
  return all;
}

// Work between shards is what a stop must wait for; client I/O alone is not, so only this
// and durable waiters count as activity.
void Shard::DrainMailboxes() {
  size_t n = mailboxes_->Drain(id_, [this](ShardId, ShardMessage& m) {
    std::visit(
        [this](auto& msg) {
          using T = std::decay_t<decltype(msg)>;
          if constexpr (std::is_same_v<T, ForwardedRequest>) {
            auto frame = flatbuffers::GetRoot<wire::Frame>(msg.payload.data());
            HandleOwned(RequestMeta{msg.from, msg.request_id, std::move(msg.caller),
                                    msg.already_subscribed, msg.timing},
                        frame);
          } else if constexpr (std::is_same_v<T, Reply>) {
            OnReply(std::move(msg));
          } else if constexpr (std::is_same_v<T, UserQuery>) {
            OnUserQuery(msg);
          } else if constexpr (std::is_same_v<T, UserQueryPart>) {
            OnUserQueryPart(std::move(msg));
          } else if constexpr (std::is_same_v<T, Interest>) {
            OnInterest(msg);
          } else if constexpr (std::is_same_v<T, Deliver>) {
            OnDeliver(msg);
          } else if constexpr (std::is_same_v<T, MembershipChanged>) {
            OnMembershipChanged(msg);
          } else if constexpr (std::is_same_v<T, SessionsEnded>) {
            OnSessionsEnded(msg);
          } else if constexpr (std::is_same_v<T, EndUserSessions>) {
            OnEndUserSessions(msg);
          } else if constexpr (std::is_same_v<T, PresenceMessage>) {
            OnPresenceMessage(msg);
          } else if constexpr (std::is_same_v<T, UserEvent>) {
            FanOut(msg.user_id, std::move(msg.frame));
          } else if constexpr (std::is_same_v<T, UserFeedNote>) {
            OnUserFeedNote(msg);
          } else if constexpr (std::is_same_v<T, NotifyBatch>) {
            OnNotifyBatch(std::move(msg));
          } else if constexpr (std::is_same_v<T, KeywordsChanged>) {
            OnKeywordsChanged(std::move(msg));
          } else if constexpr (std::is_same_v<T, KeywordsReplayed>) {
            OnKeywordsReplayed();
          } else if constexpr (std::is_same_v<T, SearchNote>) {
            OnSearchNote(msg);
          }
        },
        m);
  });
  if (n > 0) activity_.fetch_add(1, std::memory_order_relaxed);
  DrainWorkerResults();
}

void Shard::DrainWorkerResults() {
  std::vector<std::function<void()>> done;
  {
    std::lock_guard lock(worker_results_mu_);
    done.swap(worker_results_);
  }
  for (auto& fn : done) {
    --worker_jobs_inflight_;
    fn();
  }
  if (!done.empty()) activity_.fetch_add(1, std::memory_order_relaxed);
}

void Shard::FireDurable() {
  Lsn durable = committer_->durable_lsn();
  if (durable_waiters_.empty() || durable_waiters_.front().first > durable) return;
  activity_.fetch_add(1, std::memory_order_relaxed);
  while (!durable_waiters_.empty() && durable_waiters_.front().first <= durable) {
    auto fn = std::move(durable_waiters_.front().second);
    durable_waiters_.pop_front();
    fn();
  }
}

TimeMs Shard::Now() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace parley::shard
