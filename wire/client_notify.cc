// Client calls for notifications, their settings, and the user feed.
#include <utility>

#include "wire/client.h"
#include "wire/client_expect.h"

namespace parley::wire {

using internal::Expect;

Result<ChannelNotifyPrefT> Client::SetChannelNotifyPref(uint64_t channel_id, NotifyLevel level,
                                                        bool muted) {
  SetChannelNotifyPrefT request;
  request.channel_id = channel_id;
  request.level = level;
  request.muted = muted;
  return Expect<ChannelNotifyPrefT>(Call(MakeBody(std::move(request))));
}

Result<ChannelNotifyPrefT> Client::GetChannelNotifyPref(uint64_t channel_id) {
  GetChannelNotifyPrefT request;
  request.channel_id = channel_id;
  return Expect<ChannelNotifyPrefT>(Call(MakeBody(std::move(request))));
}

Result<NotificationSettingsT> Client::SetNotifyKeywords(const std::vector<std::string>& keywords) {
  SetNotifyKeywordsT request;
  request.keywords = keywords;
  return Expect<NotificationSettingsT>(Call(MakeBody(std::move(request))));
}

Result<NotificationSettingsT> Client::SnoozeNotifications(uint32_t minutes) {
  SetDndT request;
  request.op = DndOp::Snooze;
  request.snooze_minutes = minutes;
  return Expect<NotificationSettingsT>(Call(MakeBody(std::move(request))));
}

Result<NotificationSettingsT> Client::SetDndSchedule(uint16_t start_minute, uint16_t end_minute,
                                                     const std::string& time_zone) {
  SetDndT request;
  request.op = DndOp::Schedule;
  request.start_minute = start_minute;
  request.end_minute = end_minute;
  request.time_zone = time_zone;
  return Expect<NotificationSettingsT>(Call(MakeBody(std::move(request))));
}

Result<NotificationSettingsT> Client::SetDnd(DndOp op) {
  SetDndT request;
  request.op = op;
  return Expect<NotificationSettingsT>(Call(MakeBody(std::move(request))));
}

Result<NotificationSettingsT> Client::GetNotificationSettings() {
  return Expect<NotificationSettingsT>(Call(MakeBody(GetNotificationSettingsT{})));
}

Result<NotificationListT> Client::ListNotifications(uint64_t before_id, uint16_t limit,
                                                    bool unread_only) {
  ListNotificationsT request;
  request.before_id = before_id;
  request.limit = limit;
  request.unread_only = unread_only;
  return Expect<NotificationListT>(Call(MakeBody(std::move(request))));
}

Result<uint32_t> Client::UnreadNotifications() {
  ListNotificationsT request;
  request.count_only = true;
  auto list = Expect<NotificationListT>(Call(MakeBody(std::move(request))));
  if (!list.ok()) return list.error();
  return list->unread;
}

Result<NotificationsReadT> Client::MarkNotificationsRead(uint64_t notification_id) {
  MarkNotificationsReadT request;
  request.notification_id = notification_id;
  return Expect<NotificationsReadT>(Call(MakeBody(std::move(request))));
}

Result<Client::UserFeed> Client::SyncUser(uint64_t after_user_seq, uint16_t limit) {
  SyncUserT request;
  request.after_user_seq = after_user_seq;
  request.limit = limit;
  auto page = Expect<UserFeedPageT>(Call(MakeBody(std::move(request))));
  if (!page.ok()) return page.error();
  UserFeed feed;
  feed.has_more = page->has_more;
  feed.resync_required = page->resync_required;
  feed.user_seq = page->user_seq;
  for (const auto& item : page->frames) {
    if (!item) continue;
    Result<const Frame*> frame = VerifyFrame(item->frame);
    if (!frame.ok()) return frame.error();
    FrameT decoded;
    (*frame)->UnPackTo(&decoded);
    feed.frames.push_back(std::move(decoded));
  }
  return feed;
}

}  // namespace parley::wire
