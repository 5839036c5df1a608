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

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "auth/oidc.h"
#include "auth/password.h"
#include "core/decide.h"
#include "core/rate_limit.h"
#include "core/state.h"
#include "core/typing.h"
#include "persist/group_committer.h"
#include "persist/histogram.h"
#include "persist/log_store.h"
#include "search/service.h"
#include "shard/limits.h"
#include "shard/page_cache.h"
#include "shard/mailbox.h"
#include "shard/messages.h"
#include "shard/populated_arena.h"
#include "shard/presence.h"
#include "shard/ring.h"
#include "shard/session.h"
#include "shard/time_zone.h"
#include "shard/worker_pool.h"

namespace parley::shard {

// Identity settings shared by every shard (read-only once serving).
struct IdentityConfig {
  std::string signing_key;  // HS256 key of access tokens
  std::string issuer = "parley";
  TimeMs access_ttl_ms = 15 * kMinuteMs;
  TimeMs refresh_ttl_ms = 7 * kDayMs;
  size_t max_sessions_per_user = 10;
  auth::ScryptParams scrypt;
  std::shared_ptr<const auth::Jwks> oidc_jwks;  // null: OpenID Connect sign-in is off
  auth::OidcConfig oidc;
  RateLimit per_connection;      // every request of a connection
  RateLimit per_user;            // every request of a user's connections on one shard
  RateLimit signin_per_address;  // sign-in requests (register, login, MFA, OpenID, refresh)
  // Not identity, but rules shared by every shard the same way: how long authors may edit, and
  // the length of a retention "day" (Context::retention_unit_ms: shorter in tests and staging).
  TimeMs edit_window_ms = kEditWindowMs;
  TimeMs retention_unit_ms = kDayMs;
  TimeMs away_after_ms = kDefaultAwayAfterMs;  // auto-away after this long without activity
};

struct ShardConfig {
  uint32_t shard_count = 1;
  uint32_t max_frame_bytes = wire::kDefaultMaxFrameBytes;
  size_t max_outbound_bytes = size_t{8} << 20;  // per session; past it the session lags
  ConnectionLimits limits;                      // this shard's share (ConnectionLimits::PerShard)
  std::string server_name = "parleyd";
  RingOptions ring;
  std::shared_ptr<const IdentityConfig> identity;
  WorkerPool* workers = nullptr;  // shared by all shards; outlives them
  // Null when search is off (--search_index=false). Shared by all shards; outlives them. Searches
  // run on search_workers, apart from password hashing on `workers`.
  const search::SearchService* search = nullptr;
  WorkerPool* search_workers = nullptr;
  // Snapshots (persist/snapshot.h): one every this many events, and one at a graceful stop;
  // 0: none written (those in the log's environment are still loaded at start).
  uint64_t snapshot_every_events = 0;
  size_t snapshots_kept = 2;
  // Null: the client port speaks plaintext. Shared by all shards (OpenSSL contexts are).
  std::shared_ptr<const wire::TlsContext> tls;
};

// What a shard reports on /metrics (shard/metrics.cc names them). Written only on the shard's
// thread (single-writer counters, persist/histogram.h), read from any thread.
struct ShardCounters {
  using Counter = persist::Counter;
  static constexpr size_t kKinds = static_cast<size_t>(wire::Body::MAX) + 1;
  static constexpr size_t kCodes = static_cast<size_t>(ErrorCode::kLimitExceeded) + 1;

  ShardCounters() {
    for (size_t k = 0; k < kKinds; ++k) latency_ns.emplace_back(persist::kLatencyBoundsNs);
  }

  Counter connections_accepted;
  Counter connections_closed;  // open = accepted - closed
  Counter frames_in;
  std::array<Counter, kKinds> requests;  // verified frames, by body kind
  std::array<Counter, kCodes> errors;    // error frames sent, by code
  // By body kind: from the frame's arrival to its answer queued on the session's shard.
  std::deque<persist::Histogram> latency_ns;
  Counter events_committed;
  Counter deliveries;  // events written to local subscribers (one per session)
  Counter sessions_lagged;
  Counter replayed_events;
  Counter replay_ns;
  Counter rate_limited;
  Counter sign_in_failures;
  Counter going_away_sent;
  Counter connections_refused;     // over a connection limit (overloaded)
  Counter connections_timed_out;   // handshake, frame or idle timeout
  Counter ephemeral_coalesced;     // typing and presence events replaced by newer ones
  Counter subscriptions_refused;   // over max_subscriptions
  Counter sign_ins_overloaded;     // sign-ins and resumes answered overloaded
  Counter history_pages_shared;    // History and Sync answers copied from an identical read
  Counter tls_failures;  // connections ended by a failed TLS handshake or a TLS error
  Counter error_logs_suppressed;  // error log lines over the per-second cap
  // The loop's time working vs waiting in io_uring_enter (which also runs deferred kernel work
  // of completions); utilisation = busy / (busy + wait).
  Counter loop_busy_ns;
  Counter loop_wait_ns;
  // Steady-clock milliseconds of the loop's last turn; 0 until it serves. A housekeeping tick
  // turns it at least once a second, so a stale value means a stuck loop (/healthz).
  Counter loop_seen_ms;
};

class Shard {
 public:
  Shard(ShardId id, const ShardConfig& config, MailboxMatrix* mailboxes,
        std::unique_ptr<persist::LogStore> store);
  ~Shard();

  // Rebuilds the in-memory state: loads the newest usable snapshot, if any, then applies the
  // log after it. Shard thread, before Serve().
  Status Replay();
  // Where Replay started: the loaded snapshot's LSN (0: none, the whole log was replayed).
  Lsn snapshot_lsn() const { return snapshot_lsn_; }

  // Sets up the ring, accepts on `listen_fd` (listening; the shard closes it) and runs the loop
  // until RequestExit(), after RequestStop() has let everything started finish.
  Status Serve(int listen_fd);

  // Any thread. Stopping is two-phase, coordinated by Server::Stop: RequestStop() stops
  // accepting connections and answers new requests `unavailable` while everything already
  // started completes (idle() turns true once this shard waits on nothing); RequestExit() then
  // sends every connection GoingAway, flushes the last frames (at most 2 s), closes them and
  // returns from Serve().
  void RequestStop();
  void RequestExit();
  bool idle() const { return idle_.load(std::memory_order_acquire); }
  // Bumped on every loop turn that did work; a stable value over time means quiet.
  uint64_t activity() const { return activity_.load(std::memory_order_relaxed); }

  ShardId id() const { return id_; }
  bool InShardThread() const { return std::this_thread::get_id() == thread_; }
  const ShardCounters& counters() const { return counters_; }
  // The log's commit statistics (batch sizes, commit latency), from any thread.
  const persist::CommitStats& commit_stats() const { return commit_stats_; }
  const ShardState& state() const { return state_; }  // shard thread or after it stopped

 private:
  struct RequestMeta {
    SessionRef from;
    uint64_t request_id = 0;
    Caller caller;
    bool already_subscribed = false;
    RequestTiming timing;
    UserId actor() const { return caller.actor; }
  };
  struct PendingQuery {
    SessionRef session;
    uint64_t request_id = 0;
    UserQueryKind kind = UserQueryKind::kWorkspaces;
    uint32_t parts_left = 0;
    UserQueryPart merged;
    LoginEffect login;         // kSubscribeChannels: the sign-in it completes
    uint32_t audit_limit = 0;  // kAudit
    BootPending boot;          // kBoot
    SearchPending search;      // kSearch
    RequestTiming timing;      // of the request it answers
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
  void Enqueue(Session& s, uint32_t slot, wire::SharedBytes frame, CoalesceKey key = {});
  void Enqueue(Session& s, uint32_t slot, wire::Bytes frame);
  void StartSend(Session& s, uint32_t slot);
  void SubmitSend(Session& s, uint32_t slot, size_t items);
  bool NeedsSend(const Session& s) const;
  void MarkDirty(Session& s, uint32_t slot);
  void FlushSends();
  void CloseSession(Session& s, uint32_t slot);
  void MaybeFree(Session& s, uint32_t slot);
  void FailSession(Session& s, uint32_t slot, const Error& error);
  // Limits (shard/limits.cc).
  void CloseAfterFlush(Session& s);
  bool AdmitConnection(Session& s);  // false: refused (answers its first frame, then closes)
  void ReleaseConnection(Session& s);
  void EnforceTimeouts();  // on the housekeeping tick
  bool AdmitSignIn(const RequestMeta& meta, const wire::Frame* f);  // false: answered overloaded
  uint32_t ResumeBacklogMs(uint32_t per_second);
  void NoteAnswer(Session& s, const wire::Bytes& frame);  // an answer leaves `inflight`
  bool Coalesce(Session& s, CoalesceKey key, const wire::SharedBytes& frame);
  void ReleaseCoalesced(Session& s, uint32_t slot);
  void AddOutbound(Session& s, int64_t delta);
  uint32_t FullestSession() const;  // the open session with the most queued; UINT32_MAX: none
  void Lag(Session& s, uint32_t slot);
  Session* Find(const SessionRef& ref);
  SessionRef RefOf(uint32_t slot) const;
  void Send(ShardId to, ShardMessage message);
  bool FlushOutbox();  // false when a full mailbox kept some messages back
  void PublishIdle();
  bool SendsPending() const;
  void DrainMailboxes();
  void FireDurable();
  void BeginStop();
  void SayGoingAway();
  // Encodes the state here and stores it on the persist thread (persist/snapshot.h).
  void TakeSnapshot();

  // --- TLS on the client connection (tls.cc) ---
  std::unique_ptr<SessionTls> NewSessionTls(const char* address);
  void ReceiveTls(Session& s, uint32_t slot, std::span<const uint8_t> ciphertext);
  void StartTlsSend(Session& s, uint32_t slot);
  void SubmitTlsSend(Session& s, uint32_t slot);
  void OnTlsSent(Session& s, uint32_t slot, size_t bytes);
  void EndTls(Session& s, uint32_t slot, const Error& error);
  void NoteTlsFailure(const Session& s, const Error& error);
  bool TakeErrorLogSlot();  // false past kErrorLogsPerSecond lines this second (router.cc)

  // --- requests on the session's shard (router.cc) ---
  void HandleFrame(Session& s, uint32_t slot, std::span<const uint8_t> payload);
  void HandleHello(Session& s, uint32_t slot, uint64_t request_id, const wire::Hello* hello);
  void Route(const RequestMeta& meta, const wire::Frame* frame, std::span<const uint8_t> payload,
             ShardId owner);
  void HandleSessionRequest(Session& s, uint32_t slot, RequestMeta meta, const wire::Frame* f,
                            std::span<const uint8_t> payload);
  void StartUserQuery(const SessionRef& ref, uint64_t request_id, UserId user, UserQueryKind kind,
                      RequestTiming timing, LoginEffect login = {}, AuditEffect audit = {});
  void OnUserQuery(const UserQuery& query);
  void OnUserQueryPart(UserQueryPart part);
  wire::Bytes EncodeWorkspaceList(PendingQuery& done);
  wire::Bytes EncodeLoginOk(const Session& s, PendingQuery& done);
  wire::Bytes EncodeAuditList(PendingQuery& done);
  void OnReply(Reply reply);
  // --- boot and resume, gathered on the session's shard (boot.cc) ---
  void StartBoot(Session& s, const RequestMeta& meta, const wire::Boot* req);
  void AskBoot(const SessionRef& ref, uint64_t request_id, UserId user, BootPending pending,
               RequestTiming timing);
  void AnswerBootPart(const UserQuery& query, UserQueryPart& part);
  void MergeBootPart(PendingQuery& q, BootPart part);
  void FinishBoot(Session& s, PendingQuery& done);
  // --- search, gathered on the session's shard; recent searches on the user's (search.cc) ---
  void StartSearch(Session& s, const RequestMeta& meta, const wire::Search* req);
  void AnswerSearchPart(const UserQuery& query, UserQueryPart& part);
  void MergeSearchPart(PendingQuery& q, SearchPart part);
  void FinishSearch(Session& s, PendingQuery& done);
  wire::Bytes EncodeSearchResults(uint64_t request_id, search::SearchKind kind, uint32_t offset,
                                  search::SearchPage& page,
                                  const std::unordered_map<ChannelId, ScopeChannel>& channels) const;
  void RememberSearch(const RequestMeta& meta, const std::string& typed);
  void OnSearchNote(const SearchNote& note);
  bool HandleSearch(const RequestMeta& meta, const wire::Frame* f);  // false: not one
  void OnDeliver(const Deliver& deliver);
  // Writes `frame` to each of these local sessions (held for those still signing in).
  void DeliverLocal(const std::vector<uint32_t>& slots, const wire::SharedBytes& frame,
                    CoalesceKey key = {});
  void Hold(Session& s, uint32_t slot, const wire::SharedBytes& frame);
  void OnMembershipChanged(const MembershipChanged& change);
  void OnInterest(const Interest& interest);
  // False (and nothing subscribed) if already subscribed or at max_subscriptions: the caller
  // gives back the interest it counted.
  bool SubscribeLocal(Session& s, uint32_t slot, ChannelId channel);
  void UnsubscribeLocal(Session& s, uint32_t slot, ChannelId channel);
  void Respond(const RequestMeta& meta, wire::Bytes frame, ReplyEffect effect = {});
  void RespondError(const RequestMeta& meta, const Error& error);
  // The request's answer is queued: observe its latency (no-op when not timed).
  void Answered(const RequestTiming& timing);
  // Counts an error frame by code, and logs those that point at the server (internal,
  // unavailable other than a drain) or at a broken client (protocol violations), at most
  // kErrorLogsPerSecond a second per shard; ordinary refusals are only counted.
  void NoteError(const Error& error, const SessionRef& from, uint64_t request_id,
                 wire::Body kind, uint64_t session_id);

  // --- requests on the owner (owner.cc) ---
  void HandleOwned(const RequestMeta& meta, const wire::Frame* frame);
  void OwnedRegister(const RequestMeta& meta, const wire::Register* req);
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
  void OwnedChannelRequest(const RequestMeta& meta, const wire::Frame* f);
  void AnswerChannelUpdate(const RequestMeta& meta, ChannelId id,
                           const Result<std::optional<Event>>& outcome);

  // --- identity on the user's (or email's) owner (identity.cc, sessions.cc) ---
  bool HandleIdentity(const RequestMeta& meta, const wire::Frame* f);  // false: not identity
  void OwnedLogin(const RequestMeta& meta, const wire::Login* req);
  void OwnedPasswordLogin(const RequestMeta& meta, const wire::Login* req);
  void OwnedTokenLogin(const RequestMeta& meta);
  void OwnedApiKeyLogin(const RequestMeta& meta, const wire::Login* req);
  void OwnedMfaLogin(const RequestMeta& meta, const wire::MfaLogin* req);
  void OwnedOidcLogin(const RequestMeta& meta, const wire::OidcLogin* req);
  void OwnedRefresh(const RequestMeta& meta, const wire::Refresh* req);
  void OwnedLogout(const RequestMeta& meta);
  void OwnedListSessions(const RequestMeta& meta);
  void OwnedRevokeSession(const RequestMeta& meta, const wire::RevokeSession* req);
  void OwnedChangePassword(const RequestMeta& meta, const wire::ChangePassword* req);
  void OwnedProfile(const RequestMeta& meta, const wire::Frame* f);
  void OwnedMfa(const RequestMeta& meta, const wire::Frame* f);
  void OwnedApiKeys(const RequestMeta& meta, const wire::Frame* f);
  // Password right (and second factor, if any): start a session and sign the connection in.
  void StartSessionFor(const RequestMeta& meta, UserId user, SignInMethod method,
                       std::string device);
  void SignInFailed(const RequestMeta& meta, UserId user, bool second_factor);
  // Ends sessions of `user` (logged) and closes their connections everywhere.
  void EndSession(UserId user, uint64_t session_id, RevokeReason reason, UserId by);
  void BroadcastSessionsEnded(const SessionsEnded& ended);
  void OnSessionsEnded(const SessionsEnded& ended);
  void OnEndUserSessions(const EndUserSessions& request);
  std::string SignAccessToken(UserId user, uint64_t session_id, TimeMs* expires_at) const;
  std::string SignChallengeToken(UserId user) const;
  UseSecondFactor SecondFactorOf(const UserState& user, std::string_view code) const;
  void NoteUnknownEmailFailure(const std::string& email);
  // Runs `work` on `pool` (default: the shared worker pool), then `then(result)` back on this
  // shard's thread.
  template <class T>
  void OffLoop(std::function<T()> work, std::function<void(T)> then, WorkerPool* pool = nullptr);
  void DrainWorkerResults();

  // --- workspace administration on the workspace's owner (admin.cc) ---
  bool HandleAdmin(const RequestMeta& meta, const wire::Frame* f);  // false: not admin
  void OwnedCreateInvite(const RequestMeta& meta, const wire::CreateInvite* req);
  void OwnedAcceptInvite(const RequestMeta& meta, const wire::AcceptInvite* req);
  void OwnedSetMemberActive(const RequestMeta& meta, const wire::SetMemberActive* req);
  void OwnedListAudit(const RequestMeta& meta, const wire::ListAudit* req);
  void AnswerWorkspace(const RequestMeta& meta, WorkspaceId id,
                       const Result<std::optional<Event>>& outcome, bool ok_only);

  // --- threads, reactions, edits' history, pins, bookmarks on the channel's owner
  // (message_features.cc) ---
  bool HandleMessageFeatures(const RequestMeta& meta, const wire::Frame* f);  // false: not one
  // A PostMessage with thread_seq > 0 that is not a retry (OwnedPost checked client_id).
  void OwnedReply(const RequestMeta& meta, const wire::PostMessage* req);

  // --- channel details and members, direct and group conversations, read markers, typing, on
  // the channel's or workspace's owner (conversations.cc) ---
  bool HandleConversations(const RequestMeta& meta, const wire::Frame* f);  // false: not one
  void OwnedSetChannelDetails(const RequestMeta& meta, const wire::SetChannelDetails* req);
  void OwnedRemoveChannelMember(const RequestMeta& meta, const wire::RemoveChannelMember* req);
  void OwnedListChannelMembers(const RequestMeta& meta, const wire::ListChannelMembers* req);
  void OwnedOpenConversation(const RequestMeta& meta, const wire::OpenConversation* req);
  void OwnedListConversations(const RequestMeta& meta, const wire::ListConversations* req);
  void OwnedMarkRead(const RequestMeta& meta, const wire::MarkRead* req);
  void OwnedTyping(const RequestMeta& meta, const wire::Typing* req);
  // A channel event for those who may know the channel: a public channel's go to every member
  // of its workspace (the workspace's topic: sessions subscribe to the workspace id as to a
  // channel; guests, who are not on it, get those of their channels directly); the others' go
  // to the channel's subscribers.
  void PublishChannelEvent(const ChannelState& channel, wire::SharedBytes frame);
  // ChannelCreated: a public channel's to its workspace, a private channel's or conversation's
  // to each of its members' sessions.
  void AnnounceChannelCreated(const ChannelState& channel);
  // Writes `frame` to every session of `user` (not a feed entry): through the user's owner,
  // which fans it out on the user's topic (UserEvent).
  void DeliverToUser(UserId user, wire::SharedBytes frame);

  // --- notifications and the user feed (notify.cc) ---
  bool HandleNotify(const RequestMeta& meta, const wire::Frame* f);  // false: not one
  // Channel's owner, once the message at `seq` is durable: notification candidates, one
  // NotifyBatch per destination shard.
  void NotifyMessage(ChannelId channel, Seq seq);
  // Channel's owner, once the change is durable: the entry goes to the user's owner's feed.
  void RelayFeed(UserFeedNote note);
  void OnUserFeedNote(const UserFeedNote& note);
  void OnNotifyBatch(NotifyBatch batch);
  void OnKeywordsChanged(KeywordsChanged change);
  void BroadcastKeywords(UserId user, const std::vector<std::string>& keywords);
  // At start: every user's keywords to every shard, then a KeywordsReplayed marker.
  void BroadcastAllKeywords();
  // Once every shard's keywords are in: notifications of the posts logged just before the
  // restart are decided again (the users' shards drop those they already have), closing the
  // window where a crash fell between a durable post and its logged notifications.
  void OnKeywordsReplayed();
  void NoteReplayedPost(const Event& event);
  // After loading a snapshot: the posts NoteReplayedPost would have kept, taken from the state.
  void NoteSnapshotPosts();
  // The user's local minute of the day now for their DND schedule; -1 without one.
  int32_t LocalMinuteFor(UserId user);

  // --- presence and receipts (presence.cc, receipts.cc) ---
  // Owner side: SetPresence, SetStatus, SetReadReceipts (the user's shard), ListReceipts (the
  // channel's). False: not one of them.
  bool HandlePresence(const RequestMeta& meta, const wire::Frame* f);
  void OnPresenceMessage(PresenceMessage& message);
  // Session side.
  void StartPresenceSubscription(Session& s, uint32_t slot, const RequestMeta& meta,
                                 const wire::SubscribePresence* req);
  using PresenceThen = std::function<void(std::vector<std::unique_ptr<wire::PresenceInfoT>>)>;
  static Result<std::vector<UserId>> PresenceUsersAsked(
      const flatbuffers::Vector<uint64_t>* user_ids);
  // Replaces the session's presence subscription with `asked`; answers PresenceList, or calls
  // `then` with the presences when the answer is part of another one (Boot).
  void SubscribePresence(Session& s, uint32_t slot, uint64_t request_id,
                         std::vector<UserId> asked, PresenceThen then);
  void NoteSignedIn(Session& s, uint32_t slot);  // after sign-in: counted, own topic followed
  void NoteSignedOut(UserId user);               // a signed-in session closed
  void NoteActivity(const Session& s, wire::Body type);
  void SendPresenceReport(UserId user, PresenceRuntime::LocalUser& local, TimeMs now);
  void OnPresenceQuery(const PresenceQuery& query);
  void OnPresenceQueryPart(PresenceQueryPart part);
  void FinishPresenceQuery(uint64_t query_id);
  // Owner side of live presence.
  void OnPresenceReport(const PresenceReport& report);
  void RecomputePresence(UserId user, bool changed);  // changed: announce even if shown is same
  wire::PresenceInfoT PresenceInfoOf(UserId user) const;
  void AnnouncePresence(UserId user);
  TimeMs PresenceReportInterval() const;
  void ArmTick();
  void Housekeeping();  // about once a second: reports due, auto-away, status expiry, retention
  // Expires what each channel under a retention has due (a bounded batch per channel), and tells
  // the channel's subscribers once that is durable (retention.cc).
  void SweepRetention();
  // Receipts.
  void OnReceiptReport(const ReceiptReport& report);
  void FlushReceipts();  // logs and announces what OnReceiptReport gathered
  void ReportDelivered(ChannelId channel, const std::vector<uint32_t>& slots, Seq seq);
  // Advances receipts (logged) and shows each moved one to the channel's subscribers.
  void AdvanceReceiptsOf(AdvanceReceipts command);
  Seq ReceiptSeqOf(const ChannelState& channel, Seq seq) const;  // seq if tracked, else 0
  // UpdateWorkspaceSettings' receipts_max_members, if present (before the other settings).
  Status UpdateReceiptsSetting(const RequestMeta& meta, const wire::UpdateWorkspaceSettings* req);
  // Its retention_days, if present (retention.cc).
  Status UpdateRetentionSetting(const RequestMeta& meta, const wire::UpdateWorkspaceSettings* req);

  // --- rate limits and scopes on the session's shard (router.cc) ---
  bool Admit(Session& s, uint32_t slot, const RequestMeta& meta, const wire::Frame* f);
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
  // receipt_seq: the message's seq if its channel tracks receipts (ReceiptSeqOf), else 0.
  void FanOut(ChannelId channel, wire::SharedBytes frame, Seq receipt_seq = 0,
              CoalesceKey key = {});
  void AddInterest(ChannelId channel, ShardId shard, int32_t delta);
  TimeMs Now() const;

  ShardId id_;
  std::thread::id thread_;  // set by Replay/Serve; debug builds assert every entry runs on it
  ShardConfig config_;
  MailboxMatrix* mailboxes_;
  PopulatedArena message_memory_;  // declared before state_, which allocates from it
  // Message texts (at most kMaxMessageBytes each) in size classes carved from message_memory_'s
  // pre-faulted slabs, a freed block reused by the next text of its class: a snapshot's ten
  // million texts load without ten million heap allocations and page faults.
  std::pmr::unsynchronized_pool_resource text_memory_{
      std::pmr::pool_options{.max_blocks_per_chunk = 4096,
                             .largest_required_pool_block = kMaxMessageBytes + 1},
      &message_memory_};
  ShardState state_;
  PageCache pages_;  // encoded History/Sync answers of state_ as it is now
  IdMinter ids_;
  std::unique_ptr<persist::LogStore> store_;  // replayed, then handed to committer_
  persist::CommitStats commit_stats_;  // declared first: outlives committer_, which writes it
  std::unique_ptr<persist::GroupCommitter> committer_;
  ShardCounters counters_;
  int64_t error_log_second_ = 0;       // NoteError's rate limit: the current second...
  uint32_t error_logs_this_second_ = 0;  // ...and the lines logged in it
  Lsn snapshot_lsn_ = 0;       // the snapshot Replay loaded
  Lsn last_snapshot_lsn_ = 0;  // the newest snapshot loaded or taken

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

  // Identity: results coming back from the worker pool, and per-key buckets.
  std::mutex worker_results_mu_;  // held only to push or swap: never while working
  std::vector<std::function<void()>> worker_results_;
  uint32_t worker_jobs_inflight_ = 0;
  std::unordered_map<UserId, TokenBucket> user_buckets_;
  std::unordered_map<std::string, TokenBucket> address_buckets_;
  // Limits (shard/limits.cc).
  std::unordered_map<std::string, uint32_t> connections_by_address_;
  uint32_t connections_counted_ = 0;
  uint64_t outbound_total_ = 0;  // every session's out_bytes
  TokenBucket resumes_;
  uint32_t resumes_refused_ = 0;      // lately (halved every second): see ResumeBacklogMs
  int64_t resumes_refused_at_ms_ = 0;  // SteadyMs of the last halving
  uint64_t jitter_ = 0x9e3779b97f4a7c15;  // retry hints are spread by a cheap generator
  TimeMs buckets_swept_at_ = 0;
  // Failed sign-ins against emails that have no account, so that they lock like real ones and
  // a lockout reveals nothing. Volatile and bounded.
  struct UnknownFailures {
    std::vector<TimeMs> failures;
    TimeMs locked_until = 0;
  };
  std::unordered_map<std::string, UnknownFailures> unknown_email_failures_;
  // Last time each live session was seen (sign-in with its token, refresh). Not logged.
  std::unordered_map<uint64_t, std::pair<TimeMs, std::string>> session_seen_;
  // Typing indicators shown lately, by channel and user (channels owned here). Not logged.
  TypingLimiter typing_;
  PresenceRuntime presence_;
  __kernel_timespec tick_interval_{1, 0};  // the housekeeping timeout's; outlives the operation
  // Keyword alerts of every user (all shards'), replicated: volatile, rebuilt at start.
  std::unordered_map<UserId, std::vector<std::string>> keywords_;
  TimeZones time_zones_;
  uint32_t keyword_markers_ = 0;
  struct RecentPost {
    ChannelId channel_id = 0;
    Seq seq = 0;
    TimeMs at = 0;
  };
  std::deque<RecentPost> recent_posts_;  // replayed posts near the log's end; cleared once used
};

template <class T>
void Shard::OffLoop(std::function<T()> work, std::function<void(T)> then, WorkerPool* pool) {
  ++worker_jobs_inflight_;
  (pool != nullptr ? pool : config_.workers)->Submit([this, work = std::move(work), then = std::move(then)]() mutable {
    auto result = std::make_shared<T>(work());
    {
      std::lock_guard lock(worker_results_mu_);
      worker_results_.push_back([then = std::move(then), result]() mutable {
        then(std::move(*result));
      });
    }
    mailboxes_->Wake(id_);
  });
}

}  // namespace parley::shard
