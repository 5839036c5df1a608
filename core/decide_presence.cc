// Presence (on the user's shard) and receipts (on the channel's shard): decisions and queries.
#include <algorithm>

#include "core/decide_rules.h"
#include "core/presence.h"

namespace parley {

namespace {

using rules::Decision;

size_t CodePoints(std::string_view utf8) {
  return static_cast<size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

Result<const UserState*> FindActor(const ShardState& state, UserId actor) {
  if (Status s = rules::RequireActor(actor); !s.ok()) return s.error();
  const UserState* user = state.FindUser(actor);
  if (user == nullptr) return MakeError(ErrorCode::kNotFound, "no such user", "user_id");
  return user;
}

}  // namespace

std::string_view PresenceName(Presence p) {
  switch (p) {
    case Presence::kOffline:
      return "offline";
    case Presence::kOnline:
      return "online";
    case Presence::kAway:
      return "away";
    default:
      return "unavailable";
  }
}

Presence PresenceOf(const UserState& user, const LivePresence& live, TimeMs now,
                    TimeMs away_after_ms) {
  if (live.sessions == 0) return Presence::kOffline;
  if (user.manual_away || now - live.last_active >= away_after_ms) return Presence::kAway;
  return Presence::kOnline;
}

ShownStatus StatusAt(const UserState& user, TimeMs now) {
  if (user.status_expires_at != 0 && now >= user.status_expires_at) return {};
  return {user.status_text, user.status_emoji, user.status_expires_at};
}

std::vector<UserId> UsersSharingWorkspace(const ShardState& state, UserId viewer,
                                          const std::vector<UserId>& users) {
  std::vector<UserId> out;
  for (WorkspaceId id : state.WorkspacesOf(viewer)) {
    const WorkspaceState* ws = state.FindWorkspace(id);
    for (UserId user : users) {
      if (ws->IsMember(user)) out.push_back(user);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool ReceiptsTracked(const ShardState& state, const ChannelState& channel) {
  if (channel.kind != ChannelKind::kChannel) return true;
  const WorkspaceState* ws = state.FindWorkspace(channel.workspace_id);
  uint32_t max = ws ? ws->settings.receipts_max_members : kDefaultReceiptsMaxMembers;
  return max > 0 && channel.members.size() <= max;
}

Result<MessageReceipts> ListMessageReceipts(const ShardState& state, UserId actor, ChannelId id,
                                            Seq seq) {
  if (Status s = CheckCanRead(state, actor, id); !s.ok()) return s.error();
  const ChannelState& channel = *state.FindChannel(id);
  if (seq == 0 || seq > channel.last_seq()) {
    return MakeError(ErrorCode::kNotFound, "no message with this seq", "seq");
  }
  MessageReceipts out;
  out.tracked = ReceiptsTracked(state, channel);
  out.author_id = channel.messages[seq - 1].author_id;
  if (!out.tracked) return out;
  for (const auto& [user, r] : channel.receipts) {
    if (user == out.author_id || !channel.IsMember(user)) continue;
    if (r.delivered_up_to >= seq) out.delivered_to.push_back(user);
    if (r.read_up_to >= seq) out.read_by.push_back(user);
  }
  std::sort(out.delivered_to.begin(), out.delivered_to.end());
  std::sort(out.read_by.begin(), out.read_by.end());
  return out;
}

namespace rules {

Decision DecideOn(const ShardState& state, const SetPresenceChoice& c, Context& ctx) {
  Result<const UserState*> user = FindActor(state, c.actor);
  if (!user.ok()) return user.error();
  if ((*user)->manual_away == c.away) return NoOp();
  return Emit(PresenceChoiceSet{c.actor, c.away, ctx.now});
}

// Text: trimmed, at most kMaxStatusChars code points on one line. Emoji: as a reaction's.
Decision DecideOn(const ShardState& state, const SetUserStatus& c, Context& ctx) {
  Result<const UserState*> user = FindActor(state, c.actor);
  if (!user.ok()) return user.error();
  std::string text(TrimAscii(c.text));
  if (!IsValidUtf8(text)) return Invalid("status text is not valid UTF-8", "text");
  if (HasControlCharacters(text)) return Invalid("status text contains control characters", "text");
  if (CodePoints(text) > kMaxStatusChars) {
    return Invalid("status text is longer than " + std::to_string(kMaxStatusChars) + " characters",
                   "text");
  }
  std::string emoji;
  if (!c.emoji.empty()) {
    Result<std::string> normalised = NormaliseEmoji(c.emoji);
    if (!normalised.ok()) return normalised.error();
    emoji = std::move(*normalised);
  }
  TimeMs expires_at = c.expires_at;
  if (text.empty() && emoji.empty()) {
    expires_at = 0;  // clearing
  } else if (expires_at < 0 || (expires_at != 0 && expires_at <= ctx.now)) {
    return Invalid("expires_at must be 0 (never) or in the future", "expires_at");
  }
  const UserState& u = **user;
  ShownStatus shown = StatusAt(u, ctx.now);
  if (shown.text == text && shown.emoji == emoji && u.status_expires_at == expires_at) {
    return NoOp();
  }
  return Emit(UserStatusSet{c.actor, std::move(text), std::move(emoji), expires_at, ctx.now});
}

Decision DecideOn(const ShardState& state, const RecordLastSeen& c, Context& ctx) {
  Result<const UserState*> user = FindActor(state, c.user_id);
  if (!user.ok()) return user.error();
  return Emit(LastSeenRecorded{c.user_id, ctx.now});
}

Decision DecideOn(const ShardState& state, const SetReadReceipts& c, Context& ctx) {
  Result<const UserState*> user = FindActor(state, c.actor);
  if (!user.ok()) return user.error();
  if ((*user)->send_read_receipts == c.send_read_receipts) return NoOp();
  return Emit(ReadReceiptsChanged{c.actor, c.send_read_receipts, ctx.now});
}

Decision DecideOn(const ShardState& state, const SetReceiptsMaxMembers& c, Context& ctx) {
  if (Status s = CheckWorkspaceAdmin(state, c.actor, c.workspace_id); !s.ok()) return s.error();
  if (c.max_members > kMaxReceiptsMaxMembers) {
    return Invalid("receipts_max_members is at most " + std::to_string(kMaxReceiptsMaxMembers),
                   "receipts_max_members");
  }
  const WorkspaceState* ws = state.FindWorkspace(c.workspace_id);
  if (ws->settings.receipts_max_members == c.max_members) return NoOp();
  return Emit(ReceiptsMaxMembersSet{c.workspace_id, c.max_members, c.actor, ctx.now});
}

// Reading a message implies it reached the reader: delivered never trails read.
Decision DecideOn(const ShardState& state, const AdvanceReceipts& c, Context& ctx) {
  const ChannelState* channel = state.FindChannel(c.channel_id);
  if (channel == nullptr) return ChannelNotFound();
  if (!ReceiptsTracked(state, *channel)) return NoOp();
  ReceiptsAdvanced e{c.channel_id, {}, {}, {}, ctx.now};
  for (const ReceiptProgress& p : c.progress) {
    if (!channel->IsMember(p.user_id)) continue;
    if (std::find(e.user_ids.begin(), e.user_ids.end(), p.user_id) != e.user_ids.end()) continue;
    Seq read = std::min(p.read, channel->last_seq());
    Seq delivered = std::min(std::max(p.delivered, read), channel->last_seq());
    ReceiptState now;
    if (auto it = channel->receipts.find(p.user_id); it != channel->receipts.end())
      now = it->second;
    bool more_delivered = delivered > now.delivered_up_to;
    bool more_read = read > now.read_up_to;
    if (!more_delivered && !more_read) continue;
    e.user_ids.push_back(p.user_id);
    e.delivered.push_back(more_delivered ? delivered : 0);
    e.read.push_back(more_read ? read : 0);
  }
  if (e.user_ids.empty()) return NoOp();
  return Emit(std::move(e));
}

}  // namespace rules
}  // namespace parley
