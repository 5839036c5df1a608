// Presence and receipts: applying their events (see core/presence.h).
#include <algorithm>

#include "core/state.h"

namespace parley {

void ShardState::ApplyEvent(const PresenceChoiceSet& e) {
  if (UserState* user = MutableUser(e.user_id)) user->manual_away = e.away;
}

void ShardState::ApplyEvent(const UserStatusSet& e) {
  UserState* user = MutableUser(e.user_id);
  if (user == nullptr) return;
  if (user->status_expires_at != 0) status_expiries_.erase({user->status_expires_at, user->id});
  user->status_text = e.text;
  user->status_emoji = e.emoji;
  user->status_expires_at = e.expires_at;
  if (e.expires_at != 0) status_expiries_.insert({e.expires_at, user->id});
}

void ShardState::ApplyEvent(const LastSeenRecorded& e) {
  if (UserState* user = MutableUser(e.user_id)) user->last_seen = e.at;
}

void ShardState::ApplyEvent(const ReadReceiptsChanged& e) {
  if (UserState* user = MutableUser(e.user_id)) user->send_read_receipts = e.send_read_receipts;
}

void ShardState::ApplyEvent(const ReceiptsMaxMembersSet& e) {
  if (WorkspaceState* ws = MutableWorkspace(e.workspace_id)) {
    ws->settings.receipts_max_members = e.max_members;
  }
}

void ShardState::ApplyEvent(const ReceiptsAdvanced& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (channel == nullptr) return;
  size_t n = std::min({e.user_ids.size(), e.delivered.size(), e.read.size()});
  for (size_t i = 0; i < n; ++i) {
    ReceiptState& r = channel->receipts[e.user_ids[i]];
    r.delivered_up_to = std::max(r.delivered_up_to, e.delivered[i]);
    r.read_up_to = std::max(r.read_up_to, e.read[i]);
  }
}

}  // namespace parley
