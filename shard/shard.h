// Shard: one thread pinned to one core, with its own io_uring, its listening socket (bound with
// SO_REUSEPORT, so the kernel spreads connections over shards), the sessions accepted on it, the
// entities it owns (core::ShardState) and its log (persist::GroupCommitter).
//
// Thread contract: everything but RequestStop() runs on the shard's own thread. No lock guards
// any of it; other shards reach it only through the MailboxMatrix.
//
// A request is decoded on the session's shard and run there or forwarded to the owner of what it
// names; the owner decides, applies, appends to its log, and only after the batch is durable
// acknowledges (through the session's shard) and fans the event out: one mailbox message per
// shard with subscribers, which writes the same encoded frame to each local subscriber.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/decide.h"
#include "core/state.h"
#include "persist/group_committer.h"
#include "persist/log_store.h"
#include "shard/mailbox.h"
#include "shard/messages.h"
#include "shard/populated_arena.h"
#include "shard/ring.h"
#include "shard/session.h"

namespace parley::shard {

struct ShardConfig {
  uint32_t shard_count = 1;
  uint32_t max_frame_bytes = wire::kDefaultMaxFrameBytes;
  size_t max_outbound_bytes = size_t{8} << 20;  // per session; past it the session lags
  std::string secret_key;                       // signs session tokens
  std::string server_name = "parleyd";
  RingOptions ring;
};

struct ShardCounters {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> frames_in{0};
  std::atomic<uint64_t> errors_sent{0};
  std::atomic<uint64_t> events_committed{0};
  std::atomic<uint64_t> deliveries{0};
  std::atomic<uint64_t> sessions_lagged{0};
  std::atomic<uint64_t> replayed_events{0};
};

class Shard {
 public:
  Shard(ShardId id, const ShardConfig& config, MailboxMatrix* mailboxes,
        std::unique_ptr<persist::LogStore> store);
  ~Shard();

  // Applies the whole log to the in-memory state. Shard thread, before Serve().
  Status Replay();

  // Sets up the ring, accepts on `listen_fd` (listening; the shard closes it) and runs the loop
  // until RequestExit(), after RequestStop() has let everything started finish.
  Status Serve(int listen_fd);

  // Any thread. Stopping is two-phase, coordinated by Server::Stop: RequestStop() stops
  // accepting connections and answers new requests `unavailable` while everything already
  // started completes (idle() turns true once this shard waits on nothing); RequestExit() then
  // flushes the last replies (at most 2 s) and returns from Serve().
  void RequestStop();
  void RequestExit();
  bool idle() const { return idle_.load(std::memory_order_acquire); }
  // Bumped on every loop turn that did work; a stable value over time means quiet.
  uint64_t activity() const { return activity_.load(std::memory_order_relaxed); }

  ShardId id() const { return id_; }
  bool InShardThread() const { return std::this_thread::get_id() == thread_; }
  const ShardCounters& counters() const { return counters_; }
  const ShardState& state() const { return state_; }  // shard thread or after it stopped

 private:
  struct RequestMeta {
    SessionRef from;
    uint64_t request_id = 0;
    UserId actor = 0;
    bool already_subscribed = false;
  };
  struct PendingQuery {
    SessionRef session;
    uint64_t request_id = 0;
    UserQueryKind kind = UserQueryKind::kWorkspaces;
    uint32_t parts_left = 0;
    UserQueryPart merged;
  };

  // --- loop and I/O (shard.cc) ---
  void RunLoop();
  void OnCompletion(const Completion& c);
  void OnAccept(const Completion& c);
  void OnRecv(Session& s, uint32_t slot, const Completion& c);
  void OnSendDone(Session& s, uint32_t slot, int32_t res);
  void ArmWake();
  void ArmAccept();
  void ProcessInput(Session& s, uint32_t slot);
  void Enqueue(Session& s, uint32_t slot, wire::SharedBytes frame);
  void Enqueue(Session& s, uint32_t slot, wire::Bytes frame);
  void StartSend(Session& s, uint32_t slot);
  void FlushSends();
  void CloseSession(Session& s, uint32_t slot);
  void MaybeFree(Session& s, uint32_t slot);
  void FailSession(Session& s, uint32_t slot, const Error& error);
  Session* Find(const SessionRef& ref);
  SessionRef RefOf(uint32_t slot) const;
  void Send(ShardId to, ShardMessage message);
  bool FlushOutbox();  // false when a full mailbox kept some messages back
  void PublishIdle();
  bool SendsPending() const;
  void DrainMailboxes();
  void FireDurable();
  void BeginStop();

  // --- requests on the session's shard (router.cc) ---
  void HandleFrame(Session& s, uint32_t slot, std::span<const uint8_t> payload);
  void HandleHello(Session& s, uint32_t slot, uint64_t request_id, const wire::Hello* hello);
  void Route(const RequestMeta& meta, const wire::Frame* frame, std::span<const uint8_t> payload,
             ShardId owner);
  void HandleSessionRequest(Session& s, uint32_t slot, RequestMeta meta, const wire::Frame* f,
                            std::span<const uint8_t> payload);
  void StartUserQuery(const SessionRef& ref, uint64_t request_id, UserId user, UserQueryKind kind);
  void OnUserQuery(const UserQuery& query);
  void OnUserQueryPart(UserQueryPart part);
  wire::Bytes EncodeWorkspaceList(PendingQuery& done);
  wire::Bytes EncodeLoginOk(const Session& s, PendingQuery& done);
  void OnReply(Reply reply);
  void OnDeliver(const Deliver& deliver);
  void Hold(Session& s, uint32_t slot, const wire::SharedBytes& frame);
  void OnMembershipChanged(const MembershipChanged& change);
  void OnInterest(const Interest& interest);
  void SubscribeLocal(Session& s, uint32_t slot, ChannelId channel);
  void UnsubscribeLocal(Session& s, uint32_t slot, ChannelId channel);
  void Respond(const RequestMeta& meta, wire::Bytes frame, ReplyEffect effect = {});
  void RespondError(const RequestMeta& meta, const Error& error);

  // --- requests on the owner (owner.cc) ---
  void HandleOwned(const RequestMeta& meta, const wire::Frame* frame);
  void OwnedRegister(const RequestMeta& meta, const wire::Register* req);
  void OwnedLogin(const RequestMeta& meta, const wire::Login* req);
  void OwnedCreateWorkspace(const RequestMeta& meta, const wire::CreateWorkspace* req);
  void OwnedJoinWorkspace(const RequestMeta& meta, const wire::JoinWorkspace* req);
  void OwnedCreateChannel(const RequestMeta& meta, const wire::CreateChannel* req);
  void OwnedListChannels(const RequestMeta& meta, const wire::ListChannels* req);
  void OwnedJoinChannel(const RequestMeta& meta, const wire::JoinChannel* req);
  void OwnedLeaveChannel(const RequestMeta& meta, const wire::LeaveChannel* req);
  void OwnedPost(const RequestMeta& meta, const wire::PostMessage* req);
  void OwnedHistory(const RequestMeta& meta, ChannelId channel, const HistoryQuery& query,
                    bool subscribe);
  void OwnedSubscribe(const RequestMeta& meta, const wire::Subscribe* req);
  // Decides `command`; an event is applied and appended to the log at once (durable later).
  // Returns the event, nullopt for an idempotent no-op, or the rule it breaks.
  Result<std::optional<Event>> Execute(const Command& command);
  void AfterDurable(std::function<void()> fn);
  bool Settled() const;  // every appended event is durable and its waiters have run
  void Answer(const RequestMeta& meta, wire::Bytes frame, ReplyEffect effect = {});
  void AnswerError(const RequestMeta& meta, const Error& error);
  // A user joined channels: count the requesting session's shard as subscribed, tell every
  // shard (other sessions of the user follow), and show the join to the channel's subscribers.
  void AnnounceJoins(const RequestMeta& meta, UserId user, const std::vector<ChannelId>& channels);
  void BroadcastMembership(const MembershipChanged& change);
  void FanOut(ChannelId channel, wire::SharedBytes frame);
  void AddInterest(ChannelId channel, ShardId shard, int32_t delta);
  TimeMs Now() const;

  ShardId id_;
  std::thread::id thread_;  // set by Replay/Serve; debug builds assert every entry runs on it
  ShardConfig config_;
  MailboxMatrix* mailboxes_;
  PopulatedArena message_memory_;  // declared before state_, which allocates from it
  ShardState state_;
  IdMinter ids_;
  std::unique_ptr<persist::LogStore> store_;  // replayed, then handed to committer_
  std::unique_ptr<persist::GroupCommitter> committer_;
  ShardCounters counters_;

  int listen_fd_ = -1;
  bool accept_armed_ = false;
  bool accept_paused_ = false;  // accepting failed (e.g. EMFILE): retry at accept_retry_at_
  std::chrono::steady_clock::time_point accept_retry_at_{};
  uint64_t wake_buf_ = 0;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> exit_requested_{false};
  std::atomic<bool> idle_{false};
  std::atomic<uint64_t> activity_{0};
  bool stopping_ = false;

  // A deque: a session never moves, so the msghdr and iovecs a send points at stay put.
  std::deque<Session> sessions_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> dirty_;    // sessions with frames to send this turn
  std::vector<uint64_t> aligned_;  // scratch for payloads not 8-byte aligned in a receive buffer
  // Declared after the sessions so it is destroyed first: no operation it still holds can point
  // at a session's freed buffers.
  std::unique_ptr<Ring> ring_;

  // Subscriber side: local sessions per channel and per user.
  std::unordered_map<ChannelId, std::vector<uint32_t>> local_subs_;
  std::unordered_map<UserId, std::vector<uint32_t>> user_sessions_;
  // Owner side: per channel, how many sessions of each shard are subscribed.
  std::unordered_map<ChannelId, std::vector<uint32_t>> interest_;

  std::deque<std::pair<Lsn, std::function<void()>>> durable_waiters_;
  std::vector<std::vector<ShardMessage>> outbox_;  // per destination shard
  std::unordered_map<uint64_t, PendingQuery> queries_;
  uint64_t next_query_id_ = 1;
};

}  // namespace parley::shard
