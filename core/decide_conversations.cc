// Channel details and members, direct and group conversations, and read markers, on the shard of
// the channel's workspace (which holds its channels and conversations alike).
#include <algorithm>
#include <utility>

#include "core/decide_rules.h"

namespace parley {

namespace {

using rules::ChannelAccess;
using rules::Decision;

Error Forbidden(std::string message, std::string field) {
  return MakeError(ErrorCode::kForbidden, std::move(message), std::move(field));
}

bool IsConversation(const ChannelState& channel) { return channel.kind != ChannelKind::kChannel; }

// Topics and purposes: trimmed, at most `max` bytes of valid UTF-8 without control characters
// (so on one line). Empty clears them.
Result<std::string> ValidateDetail(std::string_view raw, size_t max, std::string_view what,
                                   std::string field) {
  std::string_view text = rules::TrimAscii(raw);
  if (text.size() > max) return rules::Invalid(rules::TooLong(what, max), field);
  if (!IsValidUtf8(text)) return rules::Invalid(std::string(what) + " is not valid UTF-8", field);
  if (rules::HasControlCharacters(text)) {
    return rules::Invalid(std::string(what) + " contains control characters", field);
  }
  return std::string(text);
}

// The channel's name after a rename to `raw`: the creator or an admin, never #general nor a
// conversation, and unique in the workspace. Naming it what it is already called is no rename.
Result<std::string> RenameTo(const ChannelAccess& access, std::string_view raw, UserId actor) {
  const ChannelState& channel = *access.channel;
  std::string_view name = rules::TrimAscii(raw);
  if (name == channel.name) return channel.name;
  if (IsConversation(channel)) return Forbidden("conversations have no name", "name");
  if (channel.id == access.workspace->general_id) {
    return Forbidden("#general cannot be renamed", "name");
  }
  if (!access.is_admin() && channel.creator_id != actor) {
    return Forbidden("only admins or the channel's creator rename it", "name");
  }
  if (Status s = rules::ValidateChannelName(name); !s) return s.error();
  if (access.workspace->channel_by_name.count(std::string(name)) != 0) {
    return MakeError(ErrorCode::kAlreadyExists, "a channel with this name already exists", "name");
  }
  return std::string(name);
}

bool SharesChannel(const ShardState& state, WorkspaceId workspace, UserId a, UserId b) {
  for (ChannelId id : state.ChannelsOf(a)) {
    const ChannelState* channel = state.FindChannel(id);
    if (channel->workspace_id == workspace && !IsConversation(*channel) && channel->IsMember(b)) {
      return true;
    }
  }
  return false;
}

// Guests see only their channels, so they talk only with people they share one with: every
// guest among `members` shares a channel with each of the others.
Status CheckGuestsShareChannels(const ShardState& state, const WorkspaceState& ws,
                                const std::vector<UserId>& members) {
  for (UserId guest : members) {
    if (ws.RoleOf(guest) != WorkspaceRole::kGuest) continue;
    for (UserId other : members) {
      if (other != guest && !SharesChannel(state, ws.id, guest, other)) {
        return Forbidden("guests talk only with people who share a channel with them", "user_ids");
      }
    }
  }
  return OkStatus();
}

Seq LastReadOf(const ChannelState& channel, UserId user) {
  auto it = channel.last_read.find(user);
  return it == channel.last_read.end() ? 0 : it->second;
}

// What the channel's timeline shows: top-level messages and replies also sent to the channel.
// Thread replies count in their thread (ListUnreadThreads), not here.
bool InTimeline(const StoredMessage& m) { return m.thread_seq == 0 || m.also_to_channel; }

bool CountsFor(const StoredMessage& m, UserId user) {
  return !m.deleted && m.author_id != user && InTimeline(m);
}

// The newest message the timeline shows, if any.
const StoredMessage* LastMessage(const ChannelState& channel) {
  for (Seq seq = channel.last_seq(); seq > channel.expired_up_to; --seq) {
    const StoredMessage& m = channel.messages[seq - 1];
    if (!m.deleted && InTimeline(m)) return &m;
  }
  return nullptr;
}

}  // namespace

namespace rules {

// Members (or admins) set the topic and purpose; renaming is the creator's or an admin's.
Decision DecideOn(const ShardState& state, const UpdateChannelDetails& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  ChannelAccess access = FindVisibleChannel(state, c.actor, c.channel_id);
  const ChannelState* channel = access.channel;
  if (channel == nullptr) return ChannelNotFound();
  if (access.role == WorkspaceRole::kGuest) {
    return Forbidden("guests cannot change channels", "channel_id");
  }
  if (!channel->IsMember(c.actor) && !access.is_admin()) {
    return Forbidden("join the channel to change it", "channel_id");
  }
  if (channel->archived) {
    return Forbidden("the channel is archived: unarchive it first", "channel_id");
  }
  // The event carries all three details, changed or not.
  ChannelDetailsChanged e;
  e.channel_id = channel->id;
  e.name = channel->name;
  e.topic = channel->topic;
  e.purpose = channel->purpose;
  e.by = c.actor;
  e.at = ctx.now;
  if (c.topic) {
    Result<std::string> topic = ValidateDetail(*c.topic, kMaxTopicBytes, "topic", "topic");
    if (!topic) return topic.error();
    e.topic = std::move(*topic);
  }
  if (c.purpose) {
    Result<std::string> purpose =
        ValidateDetail(*c.purpose, kMaxPurposeBytes, "purpose", "purpose");
    if (!purpose) return purpose.error();
    e.purpose = std::move(*purpose);
  }
  if (c.name) {
    Result<std::string> name = RenameTo(access, *c.name, c.actor);
    if (!name) return name.error();
    e.name = std::move(*name);
  }
  if (e.name == channel->name && e.topic == channel->topic && e.purpose == channel->purpose) {
    return NoOp();
  }
  return Emit(std::move(e));
}

// Private channels: any member removes another. Public ones: admins only. Nobody leaves
// #general this way, and nobody removes themselves (that is LeaveChannel).
Decision DecideOn(const ShardState& state, const RemoveChannelMember& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  ChannelAccess access = FindVisibleChannel(state, c.actor, c.channel_id);
  const ChannelState* channel = access.channel;
  if (channel == nullptr) return ChannelNotFound();
  if (IsConversation(*channel)) return ConversationMembersFixed();
  if (c.user_id == c.actor) return Invalid("use LeaveChannel to leave a channel", "user_id");
  if (access.role == WorkspaceRole::kGuest) {
    return Forbidden("guests cannot remove members", "user_id");
  }
  if (channel->id == access.workspace->general_id) {
    return Forbidden("nobody is removed from #general", "channel_id");
  }
  if (channel->is_private && !channel->IsMember(c.actor)) {
    return Forbidden("join the channel to remove others", "channel_id");
  }
  if (!channel->is_private && !access.is_admin()) {
    return Forbidden("only admins remove members from public channels", "user_id");
  }
  if (channel->archived) return Forbidden("the channel is archived", "channel_id");
  if (!channel->IsMember(c.user_id)) return NoOp();
  return Emit(ChannelMemberRemoved{channel->id, c.user_id, c.actor, ctx.now});
}

// Opening the same people's conversation again finds it (no event).
Decision DecideOn(const ShardState& state, const OpenConversation& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  Result<const WorkspaceState*> ws = FindMemberWorkspace(state, c.actor, c.workspace_id);
  if (!ws) return ws.error();
  std::vector<UserId> members = ConversationMembers(c.actor, c.others);
  if (members.size() < kMinConversationMembers) {
    return Invalid("a conversation needs at least one other person", "user_ids");
  }
  if (members.size() > kMaxConversationMembers) {
    return Invalid("a conversation has at most " + std::to_string(kMaxConversationMembers) +
                       " people, you included",
                   "user_ids");
  }
  for (UserId user : members) {
    if (!(*ws)->IsMember(user)) {
      return MakeError(ErrorCode::kNotFound, "not an active member of this workspace", "user_ids");
    }
  }
  if (FindConversation(state, c.workspace_id, members) != nullptr) return NoOp();
  if (Status s = CheckGuestsShareChannels(state, **ws, members); !s) return s.error();
  return Emit(ConversationOpened{c.workspace_id, NextId(ctx),
                                 std::vector<uint64_t>(members.begin(), members.end()), c.actor,
                                 ctx.now});
}

// Read markers only move forwards; marking what is already read changes nothing.
Decision DecideOn(const ShardState& state, const MarkRead& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  const ChannelState* channel = FindVisibleChannel(state, c.actor, c.channel_id).channel;
  if (channel == nullptr) return ChannelNotFound();
  if (!channel->IsMember(c.actor)) {
    return Forbidden("join the channel to mark it read", "channel_id");
  }
  if (c.seq > channel->last_seq()) {
    return Invalid("seq is beyond the channel's newest message", "seq");
  }
  Seq seq = c.seq == 0 ? channel->last_seq() : c.seq;
  if (seq <= LastReadOf(*channel, c.actor)) return NoOp();
  return Emit(ReadMarkerSet{channel->id, c.actor, seq, ctx.now});
}

}  // namespace rules

// ---- Queries ----------------------------------------------------------------------------------

std::vector<UserId> ConversationMembers(UserId actor, std::vector<UserId> others) {
  others.push_back(actor);
  std::sort(others.begin(), others.end());
  others.erase(std::unique(others.begin(), others.end()), others.end());
  return others;
}

const ChannelState* FindConversation(const ShardState& state, WorkspaceId workspace,
                                     const std::vector<UserId>& members) {
  const WorkspaceState* ws = state.FindWorkspace(workspace);
  if (ws == nullptr) return nullptr;
  auto it = ws->conversations.find(members);
  return it == ws->conversations.end() ? nullptr : state.FindChannel(it->second);
}

// Anyone who may see the channel sees who is in it (public channels without joining).
Result<MemberPage> ListChannelMembers(const ShardState& state, UserId actor, ChannelId channel_id,
                                      UserId after_user, uint32_t limit) {
  if (Status s = rules::RequireActor(actor); !s) return s.error();
  const ChannelState* channel = rules::FindVisibleChannel(state, actor, channel_id).channel;
  if (channel == nullptr) return rules::ChannelNotFound();
  Result<uint32_t> page_limit = rules::PageLimit(limit, kDefaultMemberPage, kMaxMemberPage);
  if (!page_limit) return page_limit.error();
  limit = *page_limit;
  MemberPage page;
  for (UserId user : channel->members) {
    if (user > after_user) page.members.push_back(user);
  }
  // Linear in the channel's size however large it is: only the page itself is sorted.
  if (page.members.size() > limit) {
    std::nth_element(page.members.begin(), page.members.begin() + limit, page.members.end());
    page.members.resize(limit);
    page.has_more = true;
  }
  std::sort(page.members.begin(), page.members.end());
  return page;
}

UnreadCounts UnreadOf(const ChannelState& channel, UserId user) {
  UnreadCounts counts;
  counts.last_read = LastReadOf(channel, user);
  // Counted message by message, so the count stops at the cap: the cost of a channel's counts
  // stays bounded however far behind its reader is.
  // Expired messages are skipped unread: a reader far behind a long retention costs nothing.
  for (Seq seq = std::max(counts.last_read, channel.expired_up_to) + 1;
       seq <= channel.last_seq() && counts.unread < kMaxUnreadCount; ++seq) {
    if (CountsFor(channel.messages[seq - 1], user)) ++counts.unread;
  }
  // A message mentioning the user both by name and channel-wide counts once.
  std::vector<Seq> mentioned;
  auto after_marker = [&](const std::vector<Seq>& seqs) {  // ascending
    auto first = std::upper_bound(seqs.begin(), seqs.end(), counts.last_read);
    size_t room = kMaxUnreadCount - std::min<size_t>(mentioned.size(), kMaxUnreadCount);
    auto last = first + std::min<ptrdiff_t>(seqs.end() - first, static_cast<ptrdiff_t>(room));
    mentioned.insert(mentioned.end(), first, last);
  };
  if (auto it = channel.mention_seqs.find(user); it != channel.mention_seqs.end()) {
    after_marker(it->second);
  }
  after_marker(channel.channel_mention_seqs);
  std::sort(mentioned.begin(), mentioned.end());
  mentioned.erase(std::unique(mentioned.begin(), mentioned.end()), mentioned.end());
  counts.mentions = std::count_if(mentioned.begin(), mentioned.end(), [&](Seq seq) {
    return CountsFor(channel.messages[seq - 1], user);
  });
  return counts;
}

Result<std::vector<ConversationSummary>> ListConversations(const ShardState& state, UserId actor,
                                                           WorkspaceId workspace) {
  Result<const WorkspaceState*> ws = FindMemberWorkspace(state, actor, workspace);
  if (!ws) return ws.error();
  std::vector<ConversationSummary> out;
  for (const auto& [members, id] : (*ws)->conversations) {
    if (!std::binary_search(members.begin(), members.end(), actor)) continue;
    const ChannelState* channel = state.FindChannel(id);
    if (channel == nullptr) continue;
    out.push_back({channel, LastMessage(*channel), UnreadOf(*channel, actor)});
  }
  auto activity = [](const ConversationSummary& s) {
    return s.last != nullptr ? s.last->at : s.channel->created_at;
  };
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    TimeMs x = activity(a), y = activity(b);
    return x != y ? x > y : a.channel->id > b.channel->id;
  });
  return out;
}

}  // namespace parley
