#include "shard/page_cache.h"

#include <type_traits>

namespace parley::shard {
namespace {

template <class T, class... Of>
constexpr bool kOneOf = (std::is_same_v<T, Of> || ...);

// Events that never change a page: a page holds messages with their threads' summaries,
// reactions, pins and edits, and nothing of sessions, receipts, read markers, presence,
// notifications or preferences. Every other event forgets its channel's pages, or all pages
// when it names no channel.
template <class T>
constexpr bool kLeavesPages =
    kOneOf<T, SessionStarted, SessionRefreshed, SessionRevoked, SignInFailed, MfaEnrollStarted,
           MfaEnabled, MfaDisabled, MfaCodeUsed, ApiKeyCreated, ApiKeyRevoked, OidcLinked,
           PasswordChanged, ProfileUpdated, ThreadFollowChanged, ThreadMarkedRead, ReadMarkerSet,
           PresenceChoiceSet, UserStatusSet, LastSeenRecorded, ReceiptsAdvanced,
           NotificationCreated, NotificationsRead, UserFeedNoted, ChannelNotifyPrefSet,
           KeywordsSet, DndSet, SearchRecorded, RecentSearchesCleared>;

}  // namespace

PageImpact PageImpactOf(const Event& event) {
  return std::visit(
      [](const auto& e) -> PageImpact {
        using T = std::decay_t<decltype(e)>;
        if constexpr (kLeavesPages<T>) {
          return {PageScope::kNone, 0};
        } else if constexpr (requires { ChannelId{e.channel_id}; }) {
          return {PageScope::kChannel, e.channel_id};
        } else {
          return {PageScope::kAll, 0};
        }
      },
      event);
}

bool PageCache::Same(const HistoryQuery& a, const HistoryQuery& b) {
  return a.channel_id == b.channel_id && a.before == b.before && a.after == b.after &&
         a.forward == b.forward && a.limit == b.limit && a.top_level_only == b.top_level_only;
}

const PageCache::Page* PageCache::Find(const HistoryQuery& query) const {
  auto it = by_channel_.find(query.channel_id);
  if (it == by_channel_.end()) return nullptr;
  for (const Entry& entry : it->second) {
    if (Same(entry.query, query)) return &entry.page;
  }
  return nullptr;
}

void PageCache::Keep(const HistoryQuery& query, Page page) {
  if (bytes_ + page.frame.size() > kMaxBytes) Clear();
  bytes_ += page.frame.size();
  ++pages_;
  by_channel_[query.channel_id].push_back(Entry{query, std::move(page)});
}

void PageCache::Note(const Event& event) {
  if (pages_ == 0) return;
  PageImpact impact = PageImpactOf(event);
  if (impact.scope == PageScope::kChannel) Forget(impact.channel);
  if (impact.scope == PageScope::kAll) Clear();
}

void PageCache::Forget(ChannelId channel) {
  auto it = by_channel_.find(channel);
  if (it == by_channel_.end()) return;
  for (const Entry& entry : it->second) bytes_ -= entry.page.frame.size();
  pages_ -= it->second.size();
  by_channel_.erase(it);
}

void PageCache::Clear() {
  by_channel_.clear();
  bytes_ = 0;
  pages_ = 0;
}

}  // namespace parley::shard
