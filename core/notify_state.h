// Notification state: what the user's owner keeps per user (notifications, the user feed and its
// per-user sequence, keywords, do-not-disturb) and what a channel's owner keeps per member
// (notification preference and mute). Plain data; it changes only through ShardState::Apply.
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/events.h"
#include "core/ids.h"

namespace parley {

// Values are stored in the log and sent on the wire (wire::NotifyLevel): never renumber.
// kDefault: mentions for channels, all for direct and group conversations.
enum class NotifyLevel : uint8_t { kDefault = 0, kAll = 1, kMentions = 2, kNothing = 3 };

// Why a user is notified (wire::NotifyReason); values stored, never renumber. When several
// apply to one message, the strongest wins: kMention > kDirect > kChannelMention >
// kThreadReply > kKeyword > kMessage.
enum class NotifyReason : uint8_t {
  kMention = 1,         // <@user>
  kDirect = 2,          // a message in a direct or group conversation
  kChannelMention = 3,  // <!channel>, <!here>, <!everyone>
  kThreadReply = 4,     // a reply in a thread the user follows
  kKeyword = 5,         // one of the user's keyword alerts
  kMessage = 6,         // any message, in a channel set to "all"
};

// What a user-feed entry of kind UserFeedNoted says (stored; never renumber).
enum class FeedKind : uint8_t {
  kReadMarker = 1,    // channel_id, value = seq
  kThreadFollow = 2,  // channel_id, thread_seq, flag = following
  kThreadRead = 3,    // channel_id, thread_seq, value = read_seq
  kChannelPref = 4,   // channel_id, value = NotifyLevel, flag = muted
};

struct ChannelNotifyPref {
  NotifyLevel level = NotifyLevel::kDefault;
  bool muted = false;
  bool operator==(const ChannelNotifyPref&) const = default;
};

struct DndSettings {
  TimeMs snooze_until = 0;  // 0: not snoozed
  bool schedule = false;    // a daily quiet period in time_zone
  uint32_t start_minute = 0;  // minute of the day, 0..1439; may be after end (wraps midnight)
  uint32_t end_minute = 0;
  std::string time_zone;  // IANA name, checked by the shard
  bool operator==(const DndSettings&) const = default;
};

struct StoredNotification {
  uint64_t id = 0;  // its user_seq: unique per user, ascending in creation order
  NotifyReason reason = NotifyReason::kMention;
  WorkspaceId workspace_id = 0;
  ChannelId channel_id = 0;
  Seq seq = 0;
  Seq thread_seq = 0;
  UserId actor_id = 0;
  std::string snippet;
  bool push = false;
  bool read = false;
  TimeMs at = 0;
  bool operator==(const StoredNotification&) const = default;
};

// One entry of the user feed, for SyncUser: the event that carried its user_seq.
using FeedEvent = std::variant<NotificationCreated, NotificationsRead, UserFeedNoted, KeywordsSet,
                               DndSet>;

struct UserNotifyState {
  uint64_t last_user_seq = 0;
  std::deque<StoredNotification> notifications;  // ascending id; expired and capped ones dropped
  uint64_t unread = 0;  // among `notifications` (expiry by listing time is applied on read)
  // (channel_id, seq) of every kept notification: a message notifies a user once, even when
  // its channel's shard decides it again after a restart.
  std::set<std::pair<ChannelId, Seq>> notified;
  std::deque<FeedEvent> feed;  // the newest kFeedWindow entries, ascending user_seq
  std::vector<std::string> keywords;  // lower-cased
  DndSettings dnd;
  bool operator==(const UserNotifyState&) const = default;
};

}  // namespace parley
