#include "shard/encode.h"

#include <algorithm>

namespace parley::shard {
namespace {

flatbuffers::Offset<wire::Message> BuildMessage(flatbuffers::FlatBufferBuilder& fbb,
                                                ChannelId channel, const StoredMessage& m) {
  auto text = fbb.CreateString(m.text);
  auto client_id = fbb.CreateString(m.client_msg_id);
  return wire::CreateMessage(fbb, m.id, channel, m.seq, m.author_id, text, m.at, client_id,
                             m.edited_at, m.deleted);
}

}  // namespace

wire::Bytes EncodeOk(uint64_t request_id) { return EncodeBody(request_id, wire::OkT{}); }

wire::Bytes EncodePostAck(uint64_t request_id, ChannelId channel, const StoredMessage& m,
                          bool duplicate) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto ack = wire::CreatePostAck(fbb, channel, m.seq, m.id, m.at, duplicate);
  return wire::FinishFrame(fbb, request_id, wire::Body::PostAck, ack.Union());
}

wire::Bytes EncodeMessagePosted(ChannelId channel, const StoredMessage& m) {
  flatbuffers::FlatBufferBuilder fbb(128 + m.text.size());
  auto message = BuildMessage(fbb, channel, m);
  auto body = wire::CreateMessagePosted(fbb, message);
  return wire::FinishFrame(fbb, 0, wire::Body::MessagePosted, body.Union());
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

wire::Bytes EncodeMessagePage(uint64_t request_id, ChannelId channel,
                              const std::vector<const StoredMessage*>& messages, bool has_more,
                              Seq last_seq) {
  flatbuffers::FlatBufferBuilder fbb(256);
  std::vector<flatbuffers::Offset<wire::Message>> offsets;
  offsets.reserve(messages.size());
  for (const StoredMessage* m : messages) offsets.push_back(BuildMessage(fbb, channel, *m));
  auto vec = fbb.CreateVector(offsets);
  auto page = wire::CreateMessagePage(fbb, channel, vec, has_more, last_seq);
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
  return info;
}

}  // namespace parley::shard
