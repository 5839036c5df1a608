// The client's calls for threads, reactions, edit history, pins and bookmarks.
#include <string>
#include <utility>

#include "wire/client.h"
#include "wire/client_expect.h"

namespace parley::wire {

using internal::Expect;
using internal::ExpectOk;

Result<PostAckT> Client::Reply(uint64_t channel_id, uint64_t thread_seq, const std::string& text,
                               bool also_to_channel, const std::string& client_msg_id) {
  PostMessageT request;
  request.channel_id = channel_id;
  request.client_msg_id = client_msg_id;
  request.text = text;
  request.thread_seq = thread_seq;
  request.also_to_channel = also_to_channel;
  return Expect<PostAckT>(Call(MakeBody(std::move(request))));
}

Result<MessagePageT> Client::Timeline(uint64_t channel_id, uint64_t before_seq,
                                      uint64_t after_seq, uint16_t limit) {
  HistoryT request;
  request.channel_id = channel_id;
  request.before_seq = before_seq;
  request.after_seq = after_seq;
  request.limit = limit;
  request.top_level_only = true;
  return Expect<MessagePageT>(Call(MakeBody(std::move(request))));
}

Result<ThreadPageT> Client::ThreadHistory(uint64_t channel_id, uint64_t thread_seq,
                                          uint64_t after_seq, uint16_t limit) {
  ThreadHistoryT request;
  request.channel_id = channel_id;
  request.thread_seq = thread_seq;
  request.after_seq = after_seq;
  request.limit = limit;
  return Expect<ThreadPageT>(Call(MakeBody(std::move(request))));
}

Status Client::FollowThread(uint64_t channel_id, uint64_t thread_seq, bool follow) {
  FollowThreadT request;
  request.channel_id = channel_id;
  request.thread_seq = thread_seq;
  request.follow = follow;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Status Client::MarkThreadRead(uint64_t channel_id, uint64_t thread_seq) {
  MarkThreadReadT request;
  request.channel_id = channel_id;
  request.thread_seq = thread_seq;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<UnreadThreadListT> Client::ListUnreadThreads() {
  return Expect<UnreadThreadListT>(Call(MakeBody(ListUnreadThreadsT{})));
}

Status Client::AddReaction(uint64_t channel_id, uint64_t seq, const std::string& emoji) {
  AddReactionT request;
  request.channel_id = channel_id;
  request.seq = seq;
  request.emoji = emoji;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Status Client::RemoveReaction(uint64_t channel_id, uint64_t seq, const std::string& emoji) {
  RemoveReactionT request;
  request.channel_id = channel_id;
  request.seq = seq;
  request.emoji = emoji;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<EditListT> Client::ListEdits(uint64_t channel_id, uint64_t seq) {
  ListEditsT request;
  request.channel_id = channel_id;
  request.seq = seq;
  return Expect<EditListT>(Call(MakeBody(std::move(request))));
}

Status Client::Pin(uint64_t channel_id, uint64_t seq, bool pinned) {
  PinMessageT request;
  request.channel_id = channel_id;
  request.seq = seq;
  request.pinned = pinned;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<PinListT> Client::ListPins(uint64_t channel_id) {
  ListPinsT request;
  request.channel_id = channel_id;
  return Expect<PinListT>(Call(MakeBody(std::move(request))));
}

Result<BookmarkInfoT> Client::AddBookmark(uint64_t channel_id, const std::string& title,
                                          const std::string& url) {
  AddBookmarkT request;
  request.channel_id = channel_id;
  request.title = title;
  request.url = url;
  return Expect<BookmarkInfoT>(Call(MakeBody(std::move(request))));
}

Status Client::RemoveBookmark(uint64_t channel_id, uint64_t bookmark_id) {
  RemoveBookmarkT request;
  request.channel_id = channel_id;
  request.bookmark_id = bookmark_id;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<BookmarkListT> Client::ListBookmarks(uint64_t channel_id) {
  ListBookmarksT request;
  request.channel_id = channel_id;
  return Expect<BookmarkListT>(Call(MakeBody(std::move(request))));
}

}  // namespace parley::wire
