// ShardState::Apply for channel details and members, direct and group conversations, and read
// markers.
#include <algorithm>
#include <cassert>
#include <utility>

#include "core/decide.h"
#include "core/state.h"

namespace parley {

void ShardState::ApplyEvent(const ChannelDetailsChanged& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (!channel) return;
  if (channel->name != e.name && channel->kind == ChannelKind::kChannel) {
    if (WorkspaceState* ws = MutableWorkspace(channel->workspace_id)) {
      ws->channel_by_name.erase(channel->name);
      ws->channel_by_name.emplace(e.name, channel->id);
    }
    channel->name = e.name;
  }
  channel->topic = e.topic;
  channel->purpose = e.purpose;
}

void ShardState::ApplyEvent(const ChannelMemberRemoved& e) {
  if (ChannelState* channel = MutableChannel(e.channel_id))
    RemoveChannelMember(*channel, e.user_id);
}

// A conversation is a private channel of fixed members, indexed by its member set for reopening.
void ShardState::ApplyEvent(const ConversationOpened& e) {
  WorkspaceState* ws = MutableWorkspace(e.workspace_id);
  if (!ws) return;
  ChannelState channel;
  channel.messages = ChunkedVector<StoredMessage>(message_memory_.resource);
  channel.id = e.channel_id;
  channel.workspace_id = e.workspace_id;
  channel.is_private = true;
  channel.creator_id = e.by;
  channel.created_at = e.at;
  channel.kind = e.members.size() <= 2 ? ChannelKind::kDirect : ChannelKind::kGroup;
  channel.members.insert(e.members.begin(), e.members.end());
  ws->conversations.emplace(std::vector<UserId>(e.members.begin(), e.members.end()), e.channel_id);
  AddChannel(std::move(channel));
}

void ShardState::ApplyEvent(const ReadMarkerSet& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (!channel) return;
  Seq& marker = channel->last_read[e.user_id];
  marker = std::max(marker, e.seq);
}

}  // namespace parley
