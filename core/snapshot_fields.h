// What a snapshot of a ShardState holds: every member of every struct Apply builds, listed in a
// fixed order. persist/snapshot.cc walks these lists to write and read snapshots (the format is
// its business; core only says what the state consists of), the way persist/codec.cc walks
// each event's Fields.
//
// Each list calls v(members...) once, in declaration order. The order is the snapshot format:
// changing a list means a new snapshot format version (persist/snapshot.h), after which older
// snapshots are ignored and the log is replayed instead. A struct that gains a member fails the
// static_assert beside its list until the list names it too.
#pragma once

#include <concepts>
#include <cstddef>
#include <memory_resource>
#include <type_traits>

#include "core/notify_state.h"
#include "core/state.h"

namespace parley {
namespace snapshot_detail {

// Converts to any member type; only ever named in unevaluated contexts.
struct AnyMember {
  template <class T>
  operator T() const;  // NOLINT: implicit on purpose
};

// The number of members of aggregate T: the longest brace list of AnyMember it accepts.
template <class T, class... Seen>
consteval size_t CountMembers() {
  if constexpr (requires { T{Seen{}..., AnyMember{}}; }) {
    return CountMembers<T, Seen..., AnyMember>();
  } else {
    return sizeof...(Seen);
  }
}

}  // namespace snapshot_detail

// S is T or const T: one list serves the writer (const state) and the reader.
template <class S, class T>
concept SnapshotOf = std::same_as<std::remove_const_t<S>, T>;

#define PARLEY_SNAPSHOT_MEMBERS(Type, count)                                    \
  static_assert(snapshot_detail::CountMembers<Type>() == (count),               \
                #Type " changed: list every member in core/snapshot_fields.h, " \
                      "then bump kSnapshotFormatVersion (persist/snapshot.h)")

template <class V, SnapshotOf<SessionState> S>
void SnapshotFields(V& v, S& s) {
  v(s.id, s.device, s.address, s.method, s.created_at, s.refreshed_at, s.expires_at,
    s.refresh_hash, s.rotated_hashes);
}
PARLEY_SNAPSHOT_MEMBERS(SessionState, 9);

template <class V, SnapshotOf<ApiKeyState> S>
void SnapshotFields(V& v, S& s) {
  v(s.id, s.name, s.scopes, s.key_hash, s.created_at, s.expires_at, s.revoked);
}
PARLEY_SNAPSHOT_MEMBERS(ApiKeyState, 7);

template <class V, SnapshotOf<MfaState> S>
void SnapshotFields(V& v, S& s) {
  v(s.enabled, s.secret, s.pending_secret, s.recovery_hashes, s.last_step);
}
PARLEY_SNAPSHOT_MEMBERS(MfaState, 5);

template <class V, SnapshotOf<RecentSearch> S>
void SnapshotFields(V& v, S& s) {
  v(s.query, s.at);
}
PARLEY_SNAPSHOT_MEMBERS(RecentSearch, 2);

template <class V, SnapshotOf<UserState> S>
void SnapshotFields(V& v, S& s) {
  v(s.id, s.email, s.display_name, s.password_salt, s.password_hash, s.created_at, s.title,
    s.avatar_url, s.sessions, s.api_keys, s.mfa, s.recent_failures, s.locked_until,
    s.oidc_links, s.manual_away, s.status_text, s.status_emoji, s.status_expires_at,
    s.last_seen, s.send_read_receipts, s.recent_searches);
}
PARLEY_SNAPSHOT_MEMBERS(UserState, 21);

// Messages are the bulk of a snapshot: persist/snapshot.cc reads and writes them itself, in
// this order, rather than through a list.
template <class V, SnapshotOf<StoredMessage> S>
void SnapshotFields(V& v, S& s) {
  v(s.id, s.seq, s.author_id, s.client_msg_id, s.text, s.at, s.edited_at, s.deleted,
    s.also_to_channel, s.thread_seq);
}
PARLEY_SNAPSHOT_MEMBERS(StoredMessage, 10);

template <class V, SnapshotOf<ThreadState> S>
void SnapshotFields(V& v, S& s) {
  v(s.replies, s.participants, s.last_reply_at, s.followers, s.read_up_to);
}
PARLEY_SNAPSHOT_MEMBERS(ThreadState, 5);

template <class V, SnapshotOf<ReactionState> S>
void SnapshotFields(V& v, S& s) {
  v(s.emoji, s.users);
}
PARLEY_SNAPSHOT_MEMBERS(ReactionState, 2);

template <class V, SnapshotOf<EditRecord> S>
void SnapshotFields(V& v, S& s) {
  v(s.text, s.at);
}
PARLEY_SNAPSHOT_MEMBERS(EditRecord, 2);

template <class V, SnapshotOf<PinState> S>
void SnapshotFields(V& v, S& s) {
  v(s.seq, s.by, s.at);
}
PARLEY_SNAPSHOT_MEMBERS(PinState, 3);

template <class V, SnapshotOf<BookmarkState> S>
void SnapshotFields(V& v, S& s) {
  v(s.id, s.title, s.url, s.by, s.at);
}
PARLEY_SNAPSHOT_MEMBERS(BookmarkState, 5);

template <class V, SnapshotOf<ReceiptState> S>
void SnapshotFields(V& v, S& s) {
  v(s.delivered_up_to, s.read_up_to);
}
PARLEY_SNAPSHOT_MEMBERS(ReceiptState, 2);

template <class V, SnapshotOf<ChannelNotifyPref> S>
void SnapshotFields(V& v, S& s) {
  v(s.level, s.muted);
}
PARLEY_SNAPSHOT_MEMBERS(ChannelNotifyPref, 2);

template <class V, SnapshotOf<ChannelState> S>
void SnapshotFields(V& v, S& s) {
  v(s.id, s.workspace_id, s.name, s.is_private, s.creator_id, s.created_at, s.archived,
    s.announcement, s.kind, s.topic, s.purpose, s.members, s.messages, s.timeline,
    s.has_replies, s.seq_by_client_id, s.threads, s.reactions, s.edits, s.pins, s.bookmarks,
    s.last_read, s.mention_seqs, s.channel_mention_seqs, s.receipts, s.notify_prefs,
    s.expired_up_to, s.version);
}
PARLEY_SNAPSHOT_MEMBERS(ChannelState, 28);

template <class V, SnapshotOf<MemberState> S>
void SnapshotFields(V& v, S& s) {
  v(s.role, s.active);
}
PARLEY_SNAPSHOT_MEMBERS(MemberState, 2);

template <class V, SnapshotOf<WorkspaceSettings> S>
void SnapshotFields(V& v, S& s) {
  v(s.join_open, s.members_create_private, s.members_post_announcements, s.receipts_max_members,
    s.retention_days);
}
PARLEY_SNAPSHOT_MEMBERS(WorkspaceSettings, 5);

template <class V, SnapshotOf<InviteState> S>
void SnapshotFields(V& v, S& s) {
  v(s.id, s.email, s.role, s.channel_ids, s.token_hash, s.created_by, s.created_at,
    s.expires_at);
}
PARLEY_SNAPSHOT_MEMBERS(InviteState, 8);

template <class V, SnapshotOf<WorkspaceState> S>
void SnapshotFields(V& v, S& s) {
  v(s.id, s.name, s.owner_id, s.created_at, s.general_id, s.random_id, s.members, s.channels,
    s.channel_by_name, s.settings, s.invites, s.conversations, s.version);
}
PARLEY_SNAPSHOT_MEMBERS(WorkspaceState, 13);

template <class V, SnapshotOf<AuditEntry> S>
void SnapshotFields(V& v, S& s) {
  v(s.at, s.kind, s.user_id, s.actor_id, s.workspace_id, s.address, s.detail);
}
PARLEY_SNAPSHOT_MEMBERS(AuditEntry, 7);

template <class V, SnapshotOf<DndSettings> S>
void SnapshotFields(V& v, S& s) {
  v(s.snooze_until, s.schedule, s.start_minute, s.end_minute, s.time_zone);
}
PARLEY_SNAPSHOT_MEMBERS(DndSettings, 5);

template <class V, SnapshotOf<StoredNotification> S>
void SnapshotFields(V& v, S& s) {
  v(s.id, s.reason, s.workspace_id, s.channel_id, s.seq, s.thread_seq, s.actor_id, s.snippet,
    s.push, s.read, s.at);
}
PARLEY_SNAPSHOT_MEMBERS(StoredNotification, 11);

// Feed entries are events: persist/snapshot.cc stores each with the log's event codec.
template <class V, SnapshotOf<UserNotifyState> S>
void SnapshotFields(V& v, S& s) {
  v(s.last_user_seq, s.notifications, s.unread, s.notified, s.feed, s.keywords, s.dnd);
}
PARLEY_SNAPSHOT_MEMBERS(UserNotifyState, 7);

#undef PARLEY_SNAPSHOT_MEMBERS

// ShardState's own members. shard() and shard_count() are not listed: a snapshot's header
// carries them and the reader checks them against the state it fills. Where message chunks
// come from is not part of the value either.
struct ShardStateSnapshot {
  template <class V, SnapshotOf<ShardState> S>
  static void Fields(V& v, S& s) {
    v(s.max_minted_, s.users_, s.user_by_email_, s.workspaces_, s.channels_,
      s.workspaces_by_user_, s.channels_by_user_, s.audit_, s.status_expiries_,
      s.retained_workspaces_, s.notify_, s.version_, s.departed_);
  }
  // Where a reader gets the chunks and texts of the channels it fills.
  static std::pmr::memory_resource* MessageMemory(const ShardState& s) {
    return s.message_memory_.resource;
  }
  static std::pmr::memory_resource* TextMemory(const ShardState& s) {
    return s.message_memory_.text;
  }
};

}  // namespace parley
