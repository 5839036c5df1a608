// Notifications and the user feed: who is notified of a message and why, per-channel preferences
// and mute, keyword alerts, do-not-disturb, reading and marking notifications, and the feed a
// reconnecting client resumes with (SyncUser). Pure: times and the user's local time of day come
// in as arguments. docs/protocol.md ("Notifications") is the product's description.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/decide.h"
#include "core/notify_state.h"

namespace parley {

inline constexpr TimeMs kNotificationTtlMs = 30 * kDayMs;  // not listed, counted or kept after
inline constexpr size_t kMaxNotificationsPerUser = 10'000;  // the newest are kept
inline constexpr size_t kFeedWindow = 1000;  // feed entries kept per user for SyncUser
inline constexpr size_t kMaxKeywords = 20;
inline constexpr size_t kMinKeywordBytes = 2;
inline constexpr size_t kMaxKeywordBytes = 50;
inline constexpr size_t kMaxSnippetBytes = 100;
inline constexpr uint32_t kMaxSnoozeMinutes = 7 * 24 * 60;
inline constexpr uint32_t kDefaultNotificationPage = 50;
inline constexpr uint32_t kMaxNotificationPage = 200;
inline constexpr uint32_t kMinutesPerDay = 24 * 60;

// The level that applies: kDefault resolved by the channel's kind.
NotifyLevel EffectiveLevel(const ChannelState& channel, UserId user);
ChannelNotifyPref PrefOf(const ChannelState& channel, UserId user);

// Keyword alerts: 1..kMaxKeywords keywords (an empty list clears them), each trimmed,
// kMinKeywordBytes..kMaxKeywordBytes of valid UTF-8 without control characters; stored
// ASCII-lower-cased, duplicates dropped. Returns the normalised list.
Result<std::vector<std::string>> NormaliseKeywords(const std::vector<std::string>& raw);
// Whether `text` contains `keyword` (lower-cased) as a whole word: ASCII letters compare
// case-insensitively, and the match is neither preceded nor followed by an ASCII letter, digit
// or '_' (other bytes, UTF-8 included, are boundaries).
bool MatchesKeyword(std::string_view text, std::string_view keyword);

// One user to notify of a message, decided on the channel's owner.
struct NotifyCandidate {
  UserId user_id = 0;
  NotifyReason reason = NotifyReason::kMention;
};
// Keywords of every user who has any (lower-cased), as replicated to the channel's shard.
using KeywordMap = std::unordered_map<UserId, std::vector<std::string>>;
// Who is notified of the message at `seq` (a post or a reply) and why: members of the channel
// other than the author, at most once each with the strongest reason, filtered by their
// preference (nothing: never; muted: direct mentions only; mentions: mentions, direct and group
// conversations set to it excepted, followed threads and keywords; all: every message).
// Ascending user id. Costs the mentioned, the thread's followers, those with a preference and
// keyword holders, not every member, unless the message is channel-wide or in a conversation.
std::vector<NotifyCandidate> NotifyCandidates(const ChannelState& channel, const StoredMessage& m,
                                              const KeywordMap& keywords);
// The start of `text`, at most kMaxSnippetBytes, cut on a UTF-8 character boundary.
std::string Snippet(std::string_view text);

// Whether `minute` (of the day) falls in the quiet period [start, end), which wraps past
// midnight when start > end; start == end is no period.
bool InQuietHours(uint32_t start, uint32_t end, uint32_t minute);
// Whether a notification created at `now` alerts (push): not while snoozed, not in the
// schedule's quiet period (local_minute < 0: the zone's time is unknown, no schedule applies).
bool ShouldPush(const DndSettings& dnd, TimeMs now, int32_t local_minute);

// ---- Reads on the user's owner ------------------------------------------------------------------

const UserNotifyState* FindNotifyState(const ShardState& state, UserId user);

struct NotificationQuery {
  uint64_t before_id = 0;  // exclusive; 0 = from the newest
  uint32_t limit = 0;      // 0 = kDefaultNotificationPage; above kMaxNotificationPage: error
  bool unread_only = false;
};
struct NotificationPage {
  std::vector<const StoredNotification*> notifications;  // newest first
  bool has_more = false;
  uint64_t unread = 0;  // unexpired unread notifications in all
  uint64_t last_user_seq = 0;
};
// Notifications created after now - kNotificationTtlMs only.
Result<NotificationPage> ListNotifications(const ShardState& state, UserId user, TimeMs now,
                                           const NotificationQuery& query);
uint64_t UnreadNotifications(const UserNotifyState& notify, TimeMs now);

struct FeedPage {
  std::vector<const FeedEvent*> entries;  // ascending user_seq, all > after_user_seq
  bool has_more = false;
  bool resync_required = false;  // after_user_seq is older than the retained window
  uint64_t last_user_seq = 0;
};
Result<FeedPage> ReadFeed(const ShardState& state, UserId user, uint64_t after_user_seq,
                          uint32_t limit);
uint64_t UserSeqOf(const FeedEvent& entry);

}  // namespace parley
