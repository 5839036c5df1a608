#include "shard/encode.h"

#include <algorithm>
#include <cstdint>

#include "core/decide.h"

namespace parley::shard {
namespace {

// What a message has beside itself. Each lookup is skipped when its index is empty, so a channel
// that uses none of the features pays nothing, and a message without them a few failed finds.
struct MessageExtras {
  const ThreadState* thread = nullptr;  // a top-level message with replies
  const std::vector<ReactionState>* reactions = nullptr;
  bool pinned = false;
  uint32_t edit_count = 0;
};

MessageExtras ExtrasOf(const ChannelState* channel, const StoredMessage& m) {
  MessageExtras x;
  if (channel == nullptr) return x;
  if (m.thread_seq == 0 && !channel->threads.empty()) {
    auto it = channel->threads.find(m.seq);
    if (it != channel->threads.end() && !it->second.replies.empty()) x.thread = &it->second;
  }
  if (!channel->reactions.empty()) {
    auto it = channel->reactions.find(m.seq);
    if (it != channel->reactions.end()) x.reactions = &it->second;
  }
  if (!channel->pins.empty()) {
    x.pinned = std::any_of(channel->pins.begin(), channel->pins.end(),
                           [&](const PinState& p) { return p.seq == m.seq; });
  }
  if (!channel->edits.empty()) {
    auto it = channel->edits.find(m.seq);
    if (it != channel->edits.end()) x.edit_count = static_cast<uint32_t>(it->second.size());
  }
  return x;
}

flatbuffers::Offset<wire::Message> BuildMessage(flatbuffers::FlatBufferBuilder& fbb,
                                                ChannelId channel_id, const ChannelState* channel,
                                                const StoredMessage& m) {
  MessageExtras x = ExtrasOf(channel, m);
  auto text = fbb.CreateString(m.text);
  auto client_id = fbb.CreateString(m.client_msg_id);
  flatbuffers::Offset<flatbuffers::Vector<uint64_t>> reply_users;
  uint32_t reply_count = 0;
  TimeMs last_reply_at = 0;
  if (x.thread != nullptr) {
    reply_users = fbb.CreateVector(x.thread->participants);
    reply_count = static_cast<uint32_t>(x.thread->replies.size());
    last_reply_at = x.thread->last_reply_at;
  }
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::Reaction>>> reactions;
  if (x.reactions != nullptr) {
    std::vector<flatbuffers::Offset<wire::Reaction>> each;
    each.reserve(x.reactions->size());
    for (const ReactionState& r : *x.reactions) {
      auto emoji = fbb.CreateString(r.emoji);
      auto users = fbb.CreateVector(r.users);
      each.push_back(
          wire::CreateReaction(fbb, emoji, static_cast<uint32_t>(r.users.size()), users));
    }
    reactions = fbb.CreateVector(each);
  }
  return wire::CreateMessage(fbb, m.id, channel_id, m.seq, m.author_id, text, m.at, client_id,
                             m.edited_at, m.deleted, m.thread_seq, m.also_to_channel, reply_count,
                             last_reply_at, reply_users, reactions, x.pinned, x.edit_count);
}

flatbuffers::Offset<flatbuffers::Vector<uint64_t>> MaybeIds(flatbuffers::FlatBufferBuilder& fbb,
                                                           const std::vector<UserId>& ids) {
  if (ids.empty()) return 0;
  return fbb.CreateVector(ids);
}

}  // namespace

wire::Bytes EncodeOk(uint64_t request_id) { return EncodeBody(request_id, wire::OkT{}); }

wire::Bytes EncodePostAck(uint64_t request_id, ChannelId channel, const StoredMessage& m,
                          bool duplicate, const std::vector<UserId>& unknown_mentions) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto unknown = MaybeIds(fbb, unknown_mentions);
  auto ack = wire::CreatePostAck(fbb, channel, m.seq, m.id, m.at, duplicate, unknown);
  return wire::FinishFrame(fbb, request_id, wire::Body::PostAck, ack.Union());
}

// A message just posted has no thread, reactions, pin or edits yet: nothing to look up.
wire::Bytes EncodeMessagePosted(ChannelId channel, const StoredMessage& m) {
  flatbuffers::FlatBufferBuilder fbb(128 + m.text.size());
  auto message = BuildMessage(fbb, channel, nullptr, m);
  auto body = wire::CreateMessagePosted(fbb, message);
  return wire::FinishFrame(fbb, 0, wire::Body::MessagePosted, body.Union());
}

wire::MessageT MessageOf(const ChannelState& channel, const StoredMessage& m) {
  MessageExtras x = ExtrasOf(&channel, m);
  wire::MessageT out;
  out.id = m.id;
  out.channel_id = channel.id;
  out.seq = m.seq;
  out.author_id = m.author_id;
  out.text = m.text;
  out.created_at_ms = m.at;
  out.client_msg_id = m.client_msg_id;
  out.edited_at_ms = m.edited_at;
  out.deleted = m.deleted;
  out.thread_seq = m.thread_seq;
  out.also_to_channel = m.also_to_channel;
  if (x.thread != nullptr) {
    out.reply_count = static_cast<uint32_t>(x.thread->replies.size());
    out.last_reply_at_ms = x.thread->last_reply_at;
    out.reply_users = x.thread->participants;
  }
  if (x.reactions != nullptr) {
    for (const ReactionState& r : *x.reactions) {
      auto reaction = std::make_unique<wire::ReactionT>();
      reaction->emoji = r.emoji;
      reaction->count = static_cast<uint32_t>(r.users.size());
      reaction->users = r.users;
      out.reactions.push_back(std::move(reaction));
    }
  }
  out.pinned = x.pinned;
  out.edit_count = x.edit_count;
  return out;
}

wire::Bytes EncodeMembership(ChannelId channel, UserId user, bool joined) {
  flatbuffers::FlatBufferBuilder fbb(64);
  if (joined) {
    auto body = wire::CreateMemberJoined(fbb, channel, user);
    return wire::FinishFrame(fbb, 0, wire::Body::MemberJoined, body.Union());
  }
  auto body = wire::CreateMemberLeft(fbb, channel, user);
  return wire::FinishFrame(fbb, 0, wire::Body::MemberLeft, body.Union());
}

wire::Bytes EncodeMessagePage(uint64_t request_id, const ChannelState& channel,
                              const std::vector<const StoredMessage*>& messages, bool has_more,
                              Seq last_seq) {
  flatbuffers::FlatBufferBuilder fbb(256);
  std::vector<flatbuffers::Offset<wire::Message>> offsets;
  offsets.reserve(messages.size());
  for (const StoredMessage* m : messages) {
    offsets.push_back(BuildMessage(fbb, channel.id, &channel, *m));
  }
  auto vec = fbb.CreateVector(offsets);
  auto page = wire::CreateMessagePage(fbb, channel.id, vec, has_more, last_seq);
  return wire::FinishFrame(fbb, request_id, wire::Body::MessagePage, page.Union());
}

wire::WorkspaceInfoT WorkspaceInfoOf(const WorkspaceState& ws, UserId viewer) {
  wire::WorkspaceInfoT info;
  info.id = ws.id;
  info.name = ws.name;
  info.owner_id = ws.owner_id;
  info.member_count = static_cast<uint32_t>(
      std::count_if(ws.members.begin(), ws.members.end(), [](auto& m) { return m.second.active; }));
  info.general_channel_id = ws.general_id;
  info.created_at_ms = ws.created_at;
  std::optional<WorkspaceRole> role = ws.RoleOf(viewer);
  info.role = role ? static_cast<wire::Role>(*role) : wire::Role::None;
  info.settings = std::make_unique<wire::WorkspaceSettingsT>();
  info.settings->join_open = ws.settings.join_open;
  info.settings->members_create_private = ws.settings.members_create_private;
  info.settings->members_post_announcements = ws.settings.members_post_announcements;
  info.settings->receipts_max_members = ws.settings.receipts_max_members;
  info.settings->retention_days = ws.settings.retention_days;
  return info;
}

wire::Bytes EncodeMessageEdited(ChannelId channel, Seq seq, const StoredMessage& m, UserId by) {
  wire::MessageEditedT e;
  e.channel_id = channel;
  e.seq = seq;
  e.text = m.text;
  e.edited_at_ms = m.edited_at;
  e.by = by;
  return EncodeBody(0, std::move(e));
}

wire::Bytes EncodeMessageDeleted(ChannelId channel, Seq seq, UserId by) {
  wire::MessageDeletedT e;
  e.channel_id = channel;
  e.seq = seq;
  e.by = by;
  return EncodeBody(0, std::move(e));
}

wire::Bytes EncodeChannelUpdated(const ChannelState& channel) {
  wire::ChannelUpdatedT e;
  e.channel = std::make_unique<wire::ChannelInfoT>(ChannelInfoOf(channel, kNoId));
  return EncodeBody(0, std::move(e));
}

wire::AuditEntryT AuditEntryOf(const AuditEntry& entry) {
  wire::AuditEntryT out;
  out.at_ms = entry.at;
  out.kind = std::string(AuditKindName(entry.kind));
  out.user_id = entry.user_id;
  out.actor_id = entry.actor_id;
  out.workspace_id = entry.workspace_id;
  out.address = entry.address;
  out.detail = entry.detail;
  return out;
}

wire::ChannelInfoT ChannelInfoOf(const ChannelState& channel, UserId viewer) {
  wire::ChannelInfoT info;
  info.id = channel.id;
  info.workspace_id = channel.workspace_id;
  info.name = channel.name;
  info.is_private = channel.is_private;
  info.member_count = static_cast<uint32_t>(channel.members.size());
  info.last_seq = channel.last_seq();
  info.is_member = channel.IsMember(viewer);
  info.created_at_ms = channel.created_at;
  info.archived = channel.archived;
  info.announcement = channel.announcement;
  info.topic = channel.topic;
  info.purpose = channel.purpose;
  info.kind = static_cast<wire::ChannelKind>(channel.kind);
  if (channel.kind != ChannelKind::kChannel) {
    info.members.assign(channel.members.begin(), channel.members.end());
    std::sort(info.members.begin(), info.members.end());
  }
  if (info.is_member) {
    UnreadCounts counts = UnreadOf(channel, viewer);
    info.last_read = counts.last_read;
    info.unread = static_cast<uint32_t>(std::min<uint64_t>(counts.unread, UINT32_MAX));
    info.mentions = static_cast<uint32_t>(std::min<uint64_t>(counts.mentions, UINT32_MAX));
  }
  return info;
}

}  // namespace parley::shard
