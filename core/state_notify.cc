// ShardState::Apply for notifications and the user feed. Expiry and the per-user cap drop old
// notifications by event times only, so replaying the log rebuilds the same state.
#include <utility>

#include "core/notify.h"
#include "core/state.h"

namespace parley {

UserNotifyState& ShardState::NoteFeed(UserId user, FeedEvent entry) {
  UserNotifyState& notify = notify_[user];
  notify.last_user_seq = UserSeqOf(entry);
  notify.feed.push_back(std::move(entry));
  while (notify.feed.size() > kFeedWindow) notify.feed.pop_front();
  return notify;
}

void ShardState::ApplyEvent(const NotificationCreated& e) {
  UserNotifyState& notify = NoteFeed(e.user_id, e);
  StoredNotification n;
  n.id = e.user_seq;
  n.reason = static_cast<NotifyReason>(e.reason);
  n.workspace_id = e.workspace_id;
  n.channel_id = e.channel_id;
  n.seq = e.seq;
  n.thread_seq = e.thread_seq;
  n.actor_id = e.actor_id;
  n.snippet = e.snippet;
  n.push = e.push;
  n.at = e.at;
  notify.notifications.push_back(std::move(n));
  notify.notified.emplace(e.channel_id, e.seq);
  ++notify.unread;
  auto& list = notify.notifications;
  while (!list.empty() && (list.size() > kMaxNotificationsPerUser ||
                           list.front().at <= e.at - kNotificationTtlMs)) {
    if (!list.front().read) --notify.unread;
    notify.notified.erase({list.front().channel_id, list.front().seq});
    list.pop_front();
  }
}

void ShardState::ApplyEvent(const NotificationsRead& e) {
  UserNotifyState& notify = NoteFeed(e.user_id, e);
  for (auto it = notify.notifications.rbegin(); it != notify.notifications.rend(); ++it) {
    bool hit = e.notification_id != 0 ? it->id == e.notification_id : it->id <= e.up_to;
    if (hit && !it->read) {
      it->read = true;
      --notify.unread;
    }
    if (e.notification_id != 0 && it->id <= e.notification_id) break;
  }
}

void ShardState::ApplyEvent(const UserFeedNoted& e) { NoteFeed(e.user_id, e); }

void ShardState::ApplyEvent(const ChannelNotifyPrefSet& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (!channel) return;
  ChannelNotifyPref pref{static_cast<NotifyLevel>(e.level), e.muted};
  if (pref == ChannelNotifyPref{}) {
    channel->notify_prefs.erase(e.user_id);
  } else {
    channel->notify_prefs[e.user_id] = pref;
  }
}

void ShardState::ApplyEvent(const KeywordsSet& e) {
  NoteFeed(e.user_id, e).keywords = e.keywords;
}

void ShardState::ApplyEvent(const DndSet& e) {
  NoteFeed(e.user_id, e).dnd =
      DndSettings{e.snooze_until, e.schedule, e.start_minute, e.end_minute, e.time_zone};
}

}  // namespace parley
