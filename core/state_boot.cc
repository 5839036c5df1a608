// The state versions behind boot and resume: every applied event bumps the shard's version, and
// each channel and workspace remembers the version of its last change that a boot shows. Replay
// applies the same events in the same order, so it rebuilds the same versions.
#include <algorithm>
#include <type_traits>

#include "core/state.h"

namespace parley {

// A boot shows, per channel, its details, members, newest message, the user's read marker and
// counts, and followed threads' unreads; per workspace, its name and the user's role and access.
// Reactions, pins, bookmarks, invites, settings and identity events change none of those.
// Membership changes stamp the channel in AddChannelMember / RemoveChannelMember (an event may
// touch several channels); channels and workspaces stamp themselves when made (AddChannel and
// the WorkspaceCreated entry here).
ShardState::Touched ShardState::TouchedBy(const Event& event) {
  return std::visit(
      [](const auto& e) -> Touched {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, MessagePosted> || std::is_same_v<T, ThreadReplyPosted> ||
                      std::is_same_v<T, MessageEdited> || std::is_same_v<T, MessageDeleted> ||
                      std::is_same_v<T, MessagesExpired> ||
                      std::is_same_v<T, ChannelUpdated> ||
                      std::is_same_v<T, ChannelDetailsChanged> ||
                      std::is_same_v<T, ReadMarkerSet> || std::is_same_v<T, ThreadFollowChanged> ||
                      std::is_same_v<T, ThreadMarkedRead>) {
          return Touched{e.channel_id, 0, 0};
        } else if constexpr (std::is_same_v<T, WorkspaceCreated> ||
                             std::is_same_v<T, WorkspaceJoined> ||
                             std::is_same_v<T, InviteAccepted> || std::is_same_v<T, RoleChanged> ||
                             std::is_same_v<T, OwnershipTransferred>) {
          return Touched{0, e.workspace_id, 0};
        } else if constexpr (std::is_same_v<T, MemberActiveChanged>) {
          return Touched{0, e.workspace_id, e.user_id};
        } else {
          return Touched{};
        }
      },
      event);
}

void ShardState::Stamp(const Touched& touched) {
  if (touched.channel != 0) {
    if (auto it = channels_.find(touched.channel); it != channels_.end()) {
      it->second.version = version_;
    }
  }
  if (touched.workspace == 0) return;
  auto ws = workspaces_.find(touched.workspace);
  if (ws == workspaces_.end()) return;
  ws->second.version = version_;
  if (touched.member == 0) return;
  // A member's access to every channel of the workspace they are in came or went with it.
  auto mine = channels_by_user_.find(touched.member);
  if (mine == channels_by_user_.end()) return;
  for (ChannelId id : mine->second) {
    auto channel = channels_.find(id);
    if (channel != channels_.end() && channel->second.workspace_id == touched.workspace) {
      channel->second.version = version_;
    }
  }
}

std::vector<WorkspaceId> ShardState::AllWorkspacesOf(UserId user) const {
  std::vector<WorkspaceId> ids;
  if (auto it = workspaces_by_user_.find(user); it != workspaces_by_user_.end()) {
    ids.assign(it->second.begin(), it->second.end());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<ChannelId> ShardState::AllChannelsOf(UserId user) const {
  std::vector<ChannelId> ids;
  if (auto it = channels_by_user_.find(user); it != channels_by_user_.end()) {
    ids.assign(it->second.begin(), it->second.end());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<ChannelId> ShardState::DepartedSince(UserId user, uint64_t version) const {
  std::vector<ChannelId> ids;
  auto it = departed_.find(user);
  if (it == departed_.end()) return ids;
  for (const auto& [channel, at] : it->second) {
    if (at > version) ids.push_back(channel);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace parley
