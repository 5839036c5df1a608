// Messages between shards. Each owns its data: no pointer into another shard's memory crosses a
// mailbox, except the immutable, ref-counted encoded frames of a fan-out (wire::SharedBytes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

#include "core/commands.h"
#include "core/ids.h"
#include "shard/limits.h"
#include "shard/presence_messages.h"
#include "shard/boot.h"
#include "shard/search.h"
#include "wire/frame.h"

namespace parley::shard {

// A session, named across shards. gen changes whenever a slot is reused, so a late reply to a
// closed session is recognised and dropped.
struct SessionRef {
  ShardId shard = 0;
  uint32_t slot = 0;
  uint32_t gen = 0;
};

// Which request an answer is for and when its frame arrived on the session's shard (steady
// clock): the request latency histograms observe it where the answer is queued.
struct RequestTiming {
  wire::Body kind = wire::Body::NONE;  // NONE: not timed
  int64_t started_ns = 0;
};

// A verified request frame forwarded from the session's shard to the owner of what it names.
// Who is asking, as the session's shard established it. Strings are filled only for requests
// that need them (sign-in: address; invites: email), so the hot path copies none.
struct Caller {
  UserId actor = 0;          // 0 before login
  uint64_t session_id = 0;   // the signed-in session (0 for an API key)
  uint32_t scopes = 0;
  TimeMs token_expires_at = 0;  // Login with an access token: its expiry
  std::string address;       // the client's IP address
  std::string email;         // the signed-in account's email
  bool send_read_receipts = true;  // the user's setting: their reads show as read receipts
};

struct ForwardedRequest {
  SessionRef from;
  uint64_t request_id = 0;
  Caller caller;
  std::vector<uint8_t> payload;     // the verified Frame, without its length prefix
  bool already_subscribed = false;  // Sync/Subscribe: the session holds the subscription
  RequestTiming timing;
};

struct ChannelCursor {
  ChannelId channel_id = 0;
  WorkspaceId workspace_id = 0;
  Seq last_seq = 0;
};

// What the session's shard must do when a reply arrives, besides writing `frame`.
struct SubscribeEffect {  // the owner counted one subscription per channel for this shard
  std::vector<ChannelId> channel_ids;
};
struct LoginEffect {  // credentials accepted: the session shard signs the user in
  UserId user_id = 0;
  std::string display_name;
  std::string email;
  uint64_t session_id = 0;  // 0 for an API key
  uint64_t api_key_id = 0;
  uint32_t scopes = 0;
  TimeMs access_expires_at = 0;  // 0: does not expire (API key without expiry)
  // Set when a new session began: the tokens LoginOk carries.
  std::string access_token;
  std::string refresh_token;
  bool send_read_receipts = true;  // the user's setting, carried by their sessions' Callers
};
struct RefreshEffect {  // a session's access token was renewed: connections on it live longer
  uint64_t session_id = 0;
  TimeMs access_expires_at = 0;
};
struct AuditEffect {  // the caller may read the workspace's audit trail: gather it from all shards
  WorkspaceId workspace_id = 0;
  std::shared_ptr<const std::unordered_set<UserId>> members;
  uint32_t limit = 0;
};
using ReplyEffect =
    std::variant<std::monostate, SubscribeEffect, LoginEffect, RefreshEffect, AuditEffect>;

struct Reply {
  SessionRef to;
  uint64_t request_id = 0;
  wire::Bytes frame;  // empty when the effect produces the frame (login)
  ReplyEffect effect;
  RequestTiming timing;
};

// Scatter-gather over every shard about one user.
enum class UserQueryKind : uint8_t {
  kSubscribeChannels,  // count a subscription from `from.shard` for each of the user's channels
  kWorkspaces,
  kAudit,  // audit entries of a workspace and of its members' accounts
  kUnreadThreads,  // threads the user follows with replies they have not read
  kBoot,  // a client's first screen, or what changed since its token (shard/boot.cc)
  kSearch,  // what the user may search, and who the query's filters name (shard/search.cc)
};
struct UserQuery {
  uint64_t query_id = 0;
  ShardId from = 0;
  UserId user_id = 0;
  UserQueryKind kind = UserQueryKind::kWorkspaces;
  AuditEffect audit;  // kAudit: what to gather (the member set is immutable and shared)
  BootAsk boot;       // kBoot
  std::shared_ptr<const SearchAsk> search;  // kSearch
};
struct UserQueryPart {
  uint64_t query_id = 0;
  std::vector<ChannelCursor> channels;
  // kSubscribeChannels: workspaces whose topic (channel created/updated events) the user's
  // session follows, subscribed like channels but not listed in LoginOk.
  std::vector<WorkspaceId> workspace_topics;
  std::vector<wire::WorkspaceInfoT> workspaces;
  std::vector<wire::AuditEntryT> audit;
  std::vector<wire::UnreadThreadT> unread_threads;  // kUnreadThreads
  BootPart boot;                                    // kBoot
  SearchPart search;                                // kSearch
};

// Subscriber shard -> owner: `delta` sessions of shard `shard` (un)subscribed to the channel.
struct Interest {
  ChannelId channel_id = 0;
  ShardId shard = 0;
  int32_t delta = 0;
};

// Owner -> each shard with subscribers: one encoded event for all local subscribers.
struct Deliver {
  ChannelId channel_id = 0;
  wire::SharedBytes frame;
  Seq receipt_seq = 0;  // a message whose deliveries are reported back (receipts); 0 = none
  CoalesceKey coalesce;  // typing and presence: only the newest is sent to a session behind
};

// Owner -> every shard: a user's channel membership changed; sessions of that user follow.
struct MembershipChanged {
  ChannelId channel_id = 0;
  UserId user_id = 0;
  bool joined = false;
};

// Owner of a user -> every shard: close the user's connections on a session (session_id), on an
// API key (api_key_id), or all of them (both 0): revoked, logged out, deactivated.
struct SessionsEnded {
  UserId user_id = 0;
  uint64_t session_id = 0;
  uint64_t api_key_id = 0;
  std::string reason;  // the error's details: "logout", "session_revoked", "deactivated", ...
};

// Workspace owner -> the user's owner: a deactivation ends every session of the user.
struct EndUserSessions {
  UserId user_id = 0;
  UserId by = 0;
};

// Any shard -> the user's owner: an event for every session of one user that is not a feed
// entry (a private channel created, a guest's channel changed); the owner fans it out on the
// user's topic (topic id = user id; every session of the user subscribes to it at sign-in).
struct UserEvent {
  UserId user_id = 0;
  wire::SharedBytes frame;
};

// Channel's owner -> the user's owner, once the channel's event is durable: an entry of the
// user's feed (core FeedKind), the command that logs it there with the next user_seq.
using UserFeedNote = NoteUserFeed;

// Session's shard -> the user's owner, after a message search: remember it among the user's
// recent searches.
using SearchNote = RecordSearch;

// Channel's owner -> a shard holding users to notify of one durable message: one message per
// destination shard, whatever the number of users there. Each item is the command the user's
// owner executes, but for local_minute, which only the user's owner can tell (their DND zone).
struct NotifyBatch {
  std::vector<CreateNotification> items;
};

// User's owner -> every shard: a user's keyword alerts (volatile replica, for channel owners to
// match without a round trip); re-sent for every user after replay.
struct KeywordsChanged {
  UserId user_id = 0;
  std::vector<std::string> keywords;
};

// Every shard -> every shard at start, after its KeywordsChanged: the sender's keywords are all
// sent (mailboxes keep order), so once every shard's marker is in, matching is complete.
struct KeywordsReplayed {
  ShardId from = 0;
};

using ShardMessage = std::variant<ForwardedRequest, Reply, UserQuery, UserQueryPart, Interest,
                                  Deliver, MembershipChanged, SessionsEnded, EndUserSessions,
                                  PresenceMessage, UserEvent, UserFeedNote, NotifyBatch,
                                  KeywordsChanged, KeywordsReplayed, SearchNote>;

}  // namespace parley::shard
