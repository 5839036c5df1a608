// Channel details and members, direct and group conversations, read markers and typing, on the
// owner of the channel or workspace (the same shard: a workspace mints its channels), and the
// delivery of events addressed to one user (through the user's owner and topic).
#include <algorithm>
#include <cstdint>

#include "shard/command_of.h"
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

wire::SharedBytes Share(wire::Bytes bytes) {
  return std::make_shared<const wire::Bytes>(std::move(bytes));
}

uint32_t Clamp32(uint64_t n) { return static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX)); }

wire::Bytes EncodeChannelCreated(const ChannelState& channel, UserId viewer) {
  wire::ChannelCreatedT e;
  e.channel = std::make_unique<wire::ChannelInfoT>(ChannelInfoOf(channel, viewer));
  return EncodeBody(0, std::move(e));
}

wire::Bytes EncodeMemberRemoved(ChannelId channel, UserId user, UserId by) {
  wire::MemberLeftT e;
  e.channel_id = channel;
  e.user_id = user;
  e.by = by;
  return EncodeBody(0, std::move(e));
}

wire::Bytes EncodeUserTyping(ChannelId channel, UserId user, bool typing) {
  wire::UserTypingT e;
  e.channel_id = channel;
  e.user_id = user;
  e.typing = typing;
  e.expires_in_ms = typing ? static_cast<uint32_t>(kTypingExpiryMs) : 0;
  return EncodeBody(0, std::move(e));
}

Error Forbidden(std::string message, std::string field) {
  return MakeError(ErrorCode::kForbidden, std::move(message), std::move(field));
}

}  // namespace

bool Shard::HandleConversations(const RequestMeta& meta, const wire::Frame* f) {
  switch (f->body_type()) {
    case wire::Body::SetChannelDetails:
      OwnedSetChannelDetails(meta, f->body_as_SetChannelDetails());
      return true;
    case wire::Body::RemoveChannelMember:
      OwnedRemoveChannelMember(meta, f->body_as_RemoveChannelMember());
      return true;
    case wire::Body::ListChannelMembers:
      OwnedListChannelMembers(meta, f->body_as_ListChannelMembers());
      return true;
    case wire::Body::OpenConversation:
      OwnedOpenConversation(meta, f->body_as_OpenConversation());
      return true;
    case wire::Body::ListConversations:
      OwnedListConversations(meta, f->body_as_ListConversations());
      return true;
    case wire::Body::MarkRead:
      OwnedMarkRead(meta, f->body_as_MarkRead());
      return true;
    case wire::Body::Typing:
      OwnedTyping(meta, f->body_as_Typing());
      return true;
    default:
      return false;
  }
}

// Absent strings stay as they are; the answer and the ChannelUpdated event carry all three.
void Shard::OwnedSetChannelDetails(const RequestMeta& meta, const wire::SetChannelDetails* req) {
  ChannelId id = req->channel_id();
  auto outcome = Execute(CommandOf(meta.actor(), *req));
  AnswerChannelUpdate(meta, id, outcome);
}

// Like a leave: the removed member's sessions see the MemberLeft (with `by`), then stop
// receiving the channel's events.
void Shard::OwnedRemoveChannelMember(const RequestMeta& meta,
                                     const wire::RemoveChannelMember* req) {
  ChannelId id = req->channel_id();
  UserId user = req->user_id();
  auto outcome = Execute(CommandOf(meta.actor(), *req));
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  if (!*outcome) return Answer(meta, EncodeOk(meta.request_id));  // not a member
  AfterDurable([this, meta, id, user] {
    FanOut(id, Share(EncodeMemberRemoved(id, user, meta.actor())));
    BroadcastMembership(MembershipChanged{id, user, false});
    Respond(meta, EncodeOk(meta.request_id));
  });
}

void Shard::OwnedListChannelMembers(const RequestMeta& meta, const wire::ListChannelMembers* req) {
  ChannelId id = req->channel_id();
  auto page = ListChannelMembers(state_, meta.actor(), id, req->after_user_id(), req->limit());
  if (!page.ok()) return AnswerError(meta, page.error());
  wire::ChannelMemberListT list;
  list.channel_id = id;
  list.members = std::move(page->members);
  list.has_more = page->has_more;
  Answer(meta, EncodeBody(meta.request_id, std::move(list)));
}

// A new conversation subscribes every member's sessions (on every shard) and shows each of them
// a ChannelCreated; reopening one answers it as it is.
void Shard::OwnedOpenConversation(const RequestMeta& meta, const wire::OpenConversation* req) {
  WorkspaceId ws = req->workspace_id();
  std::vector<UserId> others;
  if (req->user_ids() != nullptr) others.assign(req->user_ids()->begin(), req->user_ids()->end());
  std::vector<UserId> members = ConversationMembers(meta.actor(), others);
  auto outcome = Execute(CommandOf(meta.actor(), *req));
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  const ChannelState* channel = FindConversation(state_, ws, members);
  if (channel == nullptr) {  // decided, so it exists: an accounting bug, never input
    return AnswerError(meta, MakeError(ErrorCode::kInternal, "conversation not found"));
  }
  wire::Bytes reply = EncodeBody(meta.request_id, ChannelInfoOf(*channel, meta.actor()));
  if (!*outcome) return Answer(meta, std::move(reply));
  AfterDurable([this, meta, id = channel->id, members, reply = std::move(reply)]() mutable {
    for (UserId member : members) BroadcastMembership(MembershipChanged{id, member, true});
    AnnounceChannelCreated(*state_.FindChannel(id));
    Respond(meta, std::move(reply));
  });
}

void Shard::OwnedListConversations(const RequestMeta& meta, const wire::ListConversations* req) {
  auto summaries = ListConversations(state_, meta.actor(), req->workspace_id());
  if (!summaries.ok()) return AnswerError(meta, summaries.error());
  wire::ConversationListT list;
  for (const ConversationSummary& s : *summaries) {
    auto info = std::make_unique<wire::ConversationInfoT>();
    info->channel = std::make_unique<wire::ChannelInfoT>(ChannelInfoOf(*s.channel, meta.actor()));
    if (s.last != nullptr) {
      info->last_message = std::make_unique<wire::MessageT>(MessageOf(*s.channel, *s.last));
    }
    list.conversations.push_back(std::move(info));
  }
  Answer(meta, EncodeBody(meta.request_id, std::move(list)));
}

// Answers the marker as it stands (moved or not); a move reaches every session of the user.
void Shard::OwnedMarkRead(const RequestMeta& meta, const wire::MarkRead* req) {
  ChannelId id = req->channel_id();
  auto outcome = Execute(CommandOf(meta.actor(), *req));
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  UnreadCounts counts = UnreadOf(*state_.FindChannel(id), meta.actor());
  wire::ReadMarkerT marker;
  marker.channel_id = id;
  marker.seq = counts.last_read;
  marker.unread = Clamp32(counts.unread);
  marker.mentions = Clamp32(counts.mentions);
  wire::Bytes reply = EncodeBody(meta.request_id, std::move(marker));
  // A read receipt unless the reader turned them off (their sessions carry the setting).
  if (meta.caller.send_read_receipts) {
    AdvanceReceiptsOf(AdvanceReceipts{id, {{meta.actor(), 0, counts.last_read}}});
  }
  if (!*outcome) return Answer(meta, std::move(reply));
  UserFeedNote note{meta.actor(), static_cast<uint8_t>(FeedKind::kReadMarker), id, 0,
                    counts.last_read, false};
  AfterDurable([this, meta, reply = std::move(reply), note]() mutable {
    Respond(meta, std::move(reply));
    RelayFeed(note);
  });
}

// Never logged: checked, rate limited, and shown to the channel's live subscribers.
void Shard::OwnedTyping(const RequestMeta& meta, const wire::Typing* req) {
  ChannelId id = req->channel_id();
  if (Status can = CheckCanRead(state_, meta.actor(), id); !can.ok()) {
    return AnswerError(meta, can.error());
  }
  if (state_.FindChannel(id)->archived) {
    return AnswerError(meta, Forbidden("the channel is archived: it is read-only", "channel_id"));
  }
  bool typing = !req->stop();
  TimeMs now = Now();
  bool show = typing ? typing_.Start(id, meta.actor(), now) : typing_.Stop(id, meta.actor(), now);
  if (show) {
    FanOut(id, Share(EncodeUserTyping(id, meta.actor(), typing)), 0, CoalesceKey{id, meta.actor()});
  }
  Answer(meta, EncodeOk(meta.request_id));
}

void Shard::PublishChannelEvent(const ChannelState& channel, wire::SharedBytes frame) {
  if (channel.kind != ChannelKind::kChannel || channel.is_private) {
    return FanOut(channel.id, std::move(frame));
  }
  FanOut(channel.workspace_id, frame);
  const WorkspaceState* ws = state_.FindWorkspace(channel.workspace_id);
  if (ws == nullptr) return;
  for (UserId member : channel.members) {
    if (ws->RoleOf(member) == WorkspaceRole::kGuest) DeliverToUser(member, frame);
  }
}

void Shard::AnnounceChannelCreated(const ChannelState& channel) {
  if (channel.kind == ChannelKind::kChannel && !channel.is_private) {
    return FanOut(channel.workspace_id, Share(EncodeChannelCreated(channel, kNoId)));
  }
  for (UserId member : channel.members) {
    DeliverToUser(member, Share(EncodeChannelCreated(channel, member)));
  }
}

void Shard::DeliverToUser(UserId user, wire::SharedBytes frame) {
  ShardId owner = OwnerShard(user, config_.shard_count);
  if (owner == id_) return FanOut(user, std::move(frame));
  Send(owner, UserEvent{user, std::move(frame)});
}

}  // namespace parley::shard
