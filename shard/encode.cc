#include "shard/encode.h"

namespace parley::shard {
namespace {

flatbuffers::Offset<wire::Message> BuildMessage(flatbuffers::FlatBufferBuilder& fbb,
                                                ChannelId channel, const StoredMessage& m) {
  auto text = fbb.CreateString(m.text);
  auto client_id = fbb.CreateString(m.client_msg_id);
  return wire::CreateMessage(fbb, m.id, channel, m.seq, m.author_id, text, m.at, client_id);
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

wire::WorkspaceInfoT WorkspaceInfoOf(const WorkspaceState& ws) {
  wire::WorkspaceInfoT info;
  info.id = ws.id;
  info.name = ws.name;
  info.owner_id = ws.owner_id;
  info.member_count = static_cast<uint32_t>(ws.members.size());
  info.general_channel_id = ws.general_id;
  info.created_at_ms = ws.created_at;
  return info;
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
  return info;
}

}  // namespace parley::shard
