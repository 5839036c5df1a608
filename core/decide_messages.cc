// The chat product's decisions and reads on the channel's shard: thread replies, following and
// reading threads, reactions, pins and bookmarks.
#include <algorithm>

#include "core/decide_rules.h"
#include "core/mentions.h"

namespace parley {
namespace {

using rules::ChannelAccess;
using rules::Decision;
using rules::Emit;
using rules::Invalid;
using rules::NoOp;

Error Forbidden(std::string message, std::string field) {
  return MakeError(ErrorCode::kForbidden, std::move(message), std::move(field));
}

Error NotFound(std::string message, std::string field) {
  return MakeError(ErrorCode::kNotFound, std::move(message), std::move(field));
}

// The channel if the actor is a member of it (see CheckCanRead); `doing` completes "join the
// channel to ...".
Result<ChannelAccess> MemberChannel(const ShardState& state, UserId actor, ChannelId id,
                                    std::string_view doing) {
  if (Status s = rules::RequireActor(actor); !s) return s.error();
  ChannelAccess access = rules::FindVisibleChannel(state, actor, id);
  if (access.channel == nullptr) return rules::ChannelNotFound();
  if (!access.channel->IsMember(actor)) {
    return Forbidden("join the channel to " + std::string(doing), "channel_id");
  }
  return access;
}

// The same, for changes everyone in the channel sees: not while it is archived.
Result<ChannelAccess> WritableChannel(const ShardState& state, UserId actor, ChannelId id,
                                      std::string_view doing) {
  Result<ChannelAccess> access = MemberChannel(state, actor, id, doing);
  if (access.ok() && access->channel->archived) {
    return Forbidden("the channel is archived: it is read-only", "channel_id");
  }
  return access;
}

constexpr char kExpired[] = "the message expired under the workspace's retention";

// A message that is neither deleted nor expired.
Result<const StoredMessage*> LiveMessage(const ChannelState& channel, Seq seq,
                                         std::string field = "seq") {
  if (seq == 0 || seq > channel.last_seq()) return NotFound("no such message", field);
  if (seq <= channel.expired_up_to) return NotFound(kExpired, field);
  const StoredMessage& m = channel.messages[seq - 1];
  if (m.deleted) return NotFound("the message was deleted", field);
  return &m;
}

const ThreadState* FindThread(const ChannelState& channel, Seq seq) {
  auto it = channel.threads.find(seq);
  return it == channel.threads.end() ? nullptr : &it->second;
}

// The top-level message a thread hangs under. A deleted one still holds its thread's replies,
// so it is found while it has some.
Result<const StoredMessage*> ThreadParent(const ChannelState& channel, Seq seq) {
  if (seq == 0 || seq > channel.last_seq()) return NotFound("no such message", "thread_seq");
  if (seq <= channel.expired_up_to) return NotFound(kExpired, "thread_seq");
  const StoredMessage& m = channel.messages[seq - 1];
  if (m.thread_seq != 0) {
    return Invalid("message " + std::to_string(seq) + " is a reply in thread " +
                       std::to_string(m.thread_seq) + ": use that thread",
                   "thread_seq");
  }
  const ThreadState* thread = FindThread(channel, seq);
  if (m.deleted && (thread == nullptr || thread->replies.empty())) {
    return NotFound("the message was deleted", "thread_seq");
  }
  return &m;
}

// The channel of a thread the actor may follow or read: a member's, with that thread in it.
Result<const ChannelState*> MemberThread(const ShardState& state, UserId actor, ChannelId id,
                                         Seq thread_seq, std::string_view what) {
  Result<ChannelAccess> access = MemberChannel(state, actor, id, what);
  if (!access) return access.error();
  if (Result<const StoredMessage*> parent = ThreadParent(*access->channel, thread_seq); !parent) {
    return parent.error();
  }
  return access->channel;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-';
}

// Spaces outside ASCII that would make an "emoji" look blank: U+00A0, U+1680, U+2000..U+200B,
// U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF. REQUIRES: IsValidUtf8(s).
bool HasUnicodeSpace(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    if (b(i) == 0xc2 && i + 1 < s.size() && b(i + 1) == 0xa0) return true;
    if (i + 2 >= s.size()) continue;
    uint32_t three = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    if (three == 0xe19a80 || (three >= 0xe28080 && three <= 0xe2808b) || three == 0xe280a8 ||
        three == 0xe280a9 || three == 0xe280af || three == 0xe2819f || three == 0xe38080 ||
        three == 0xefbbbf) {
      return true;
    }
  }
  return false;
}

}  // namespace

namespace rules {
// A reaction's emoji as stored: a name of 1..kMaxEmojiBytes of [a-z0-9_+-], given as "name" or
// ":name:" in any case, or one emoji character (non-ASCII UTF-8 without spaces or controls).
Result<std::string> NormaliseEmoji(std::string_view raw) {
  const std::string kField = "emoji";
  if (raw.empty()) return Invalid("emoji is empty", kField);
  bool ascii = std::all_of(raw.begin(), raw.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    std::string name(raw);
    if (name.size() >= 2 && name.front() == ':' && name.back() == ':') {
      name = name.substr(1, name.size() - 2);
    }
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (name.empty() || name.size() > kMaxEmojiBytes ||
        !std::all_of(name.begin(), name.end(), IsNameChar)) {
      return Invalid("emoji names are 1 to " + std::to_string(kMaxEmojiBytes) +
                         " letters, digits, '_', '+' or '-', like :thumbsup:",
                     kField);
    }
    return name;
  }
  if (raw.size() > kMaxEmojiBytes) return Invalid(rules::TooLong("emoji", kMaxEmojiBytes), kField);
  if (!IsValidUtf8(raw)) return Invalid("emoji is not valid UTF-8", kField);
  bool any_ascii = std::any_of(raw.begin(), raw.end(),
                               [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (any_ascii || rules::HasControlCharacters(raw) || HasUnicodeSpace(raw)) {
    return Invalid("an emoji is a name like :thumbsup: or one emoji character", kField);
  }
  return std::string(raw);
}

}  // namespace rules

namespace {

const ReactionState* FindReaction(const ChannelState& channel, Seq seq, std::string_view emoji) {
  auto it = channel.reactions.find(seq);
  if (it == channel.reactions.end()) return nullptr;
  for (const ReactionState& r : it->second) {
    if (r.emoji == emoji) return &r;
  }
  return nullptr;
}

bool Reacted(const ReactionState* r, UserId user) {
  return r != nullptr && std::find(r->users.begin(), r->users.end(), user) != r->users.end();
}

bool IsPinned(const ChannelState& channel, Seq seq) {
  return std::any_of(channel.pins.begin(), channel.pins.end(),
                     [seq](const PinState& p) { return p.seq == seq; });
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// An http or https URL with a host, at most kMaxUrlBytes, without spaces or control characters.
// Returns it trimmed.
Result<std::string> ValidateUrl(std::string_view raw) {
  const std::string kField = "url";
  std::string_view url = rules::TrimAscii(raw);
  if (url.empty()) return Invalid("url is empty", kField);
  if (url.size() > kMaxUrlBytes) return Invalid(rules::TooLong("url", kMaxUrlBytes), kField);
  if (!IsValidUtf8(url)) return Invalid("url is not valid UTF-8", kField);
  bool bad_char = std::any_of(url.begin(), url.end(), [](char c) {
    auto b = static_cast<unsigned char>(c);
    return b <= 0x20 || b == 0x7f;
  });
  if (bad_char || rules::HasControlCharacters(url) || HasUnicodeSpace(url)) {
    return Invalid("url contains spaces or control characters", kField);
  }
  size_t scheme = StartsWithNoCase(url, "http://")    ? 7
                  : StartsWithNoCase(url, "https://") ? 8
                                                      : 0;
  if (scheme == 0) return Invalid("url must start with http:// or https://", kField);
  std::string_view authority = url.substr(scheme);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  std::string_view host = authority.substr(std::min(authority.size(), authority.rfind('@') + 1));
  if (!host.empty() && host.front() != '[') host = host.substr(0, host.find(':'));
  if (host.empty()) return Invalid("url has no host", kField);
  return std::string(url);
}

}  // namespace

std::vector<UserId> UnknownMentions(const ChannelState& channel, std::string_view text) {
  std::vector<UserId> unknown = ParseMentions(text).users;  // ascending
  std::erase_if(unknown, [&](UserId user) { return channel.IsMember(user); });
  return unknown;
}

namespace rules {

// Same rules as a post, then the thread: a top-level message that is not deleted.
Decision DecideOn(const ShardState& state, const PostReply& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  ChannelAccess access = FindVisibleChannel(state, c.actor, c.channel_id);
  const ChannelState* channel = access.channel;
  if (channel == nullptr) return ChannelNotFound();
  if (Status s = CheckCanPost(access, c.actor); !s) return s.error();
  if (c.thread_seq == 0) return Invalid("a reply names its thread's message", "thread_seq");
  Result<const StoredMessage*> parent = LiveMessage(*channel, c.thread_seq, "thread_seq");
  if (!parent) return parent.error();
  if (Result<const StoredMessage*> top = ThreadParent(*channel, c.thread_seq); !top) {
    return top.error();
  }
  if (Status s = ValidatePost(c.text, c.client_msg_id); !s) return s.error();
  if (FindPosted(*channel, c.actor, c.client_msg_id).has_value()) {
    return MakeError(ErrorCode::kAlreadyExists, "this client_msg_id was already posted",
                     "client_msg_id");
  }
  return Emit(ThreadReplyPosted{channel->id, channel->last_seq() + 1, NextId(ctx), c.actor,
                                c.client_msg_id, c.text, ctx.now, c.thread_seq,
                                c.also_to_channel});
}

Decision DecideOn(const ShardState& state, const SetThreadFollow& c, Context& ctx) {
  Result<const ChannelState*> found =
      MemberThread(state, c.actor, c.channel_id, c.thread_seq, "follow threads");
  if (!found) return found.error();
  const ChannelState& channel = **found;
  const ThreadState* thread = FindThread(channel, c.thread_seq);
  bool following = thread != nullptr && thread->followers.count(c.actor) != 0;
  if (following == c.follow) return NoOp();
  return Emit(ThreadFollowChanged{channel.id, c.thread_seq, c.actor, c.follow, ctx.now});
}

Decision DecideOn(const ShardState& state, const MarkThreadRead& c, Context& ctx) {
  Result<const ChannelState*> found =
      MemberThread(state, c.actor, c.channel_id, c.thread_seq, "read threads");
  if (!found) return found.error();
  const ChannelState& channel = **found;
  const ThreadState* thread = FindThread(channel, c.thread_seq);
  if (thread == nullptr || thread->replies.empty()) return NoOp();
  auto read = thread->read_up_to.find(c.actor);
  Seq last = thread->last_reply_seq();
  if (read != thread->read_up_to.end() && read->second >= last) return NoOp();
  return Emit(ThreadMarkedRead{channel.id, c.thread_seq, c.actor, last, ctx.now});
}

Decision DecideOn(const ShardState& state, const AddReaction& c, Context& ctx) {
  Result<ChannelAccess> access = WritableChannel(state, c.actor, c.channel_id, "react");
  if (!access) return access.error();
  const ChannelState& channel = *access->channel;
  if (Result<const StoredMessage*> m = LiveMessage(channel, c.seq); !m) return m.error();
  Result<std::string> emoji = NormaliseEmoji(c.emoji);
  if (!emoji) return emoji.error();
  const ReactionState* existing = FindReaction(channel, c.seq, *emoji);
  if (Reacted(existing, c.actor)) return NoOp();
  if (existing == nullptr) {
    auto it = channel.reactions.find(c.seq);
    if (it != channel.reactions.end() && it->second.size() >= kMaxDistinctReactions) {
      return Invalid("a message has at most " + std::to_string(kMaxDistinctReactions) +
                         " different reactions",
                     "emoji");
    }
  }
  return Emit(ReactionAdded{channel.id, c.seq, c.actor, std::move(*emoji), ctx.now});
}

Decision DecideOn(const ShardState& state, const RemoveReaction& c, Context& ctx) {
  Result<ChannelAccess> access = WritableChannel(state, c.actor, c.channel_id, "react");
  if (!access) return access.error();
  const ChannelState& channel = *access->channel;
  if (Result<const StoredMessage*> m = LiveMessage(channel, c.seq); !m) return m.error();
  Result<std::string> emoji = NormaliseEmoji(c.emoji);
  if (!emoji) return emoji.error();
  if (!Reacted(FindReaction(channel, c.seq, *emoji), c.actor)) return NoOp();
  return Emit(ReactionRemoved{channel.id, c.seq, c.actor, std::move(*emoji), ctx.now});
}

Decision DecideOn(const ShardState& state, const SetPinned& c, Context& ctx) {
  Result<ChannelAccess> access = WritableChannel(state, c.actor, c.channel_id, "pin messages");
  if (!access) return access.error();
  const ChannelState& channel = *access->channel;
  if (Result<const StoredMessage*> m = LiveMessage(channel, c.seq); !m) return m.error();
  if (IsPinned(channel, c.seq) == c.pinned) return NoOp();
  if (c.pinned && channel.pins.size() >= kMaxPins) {
    return Invalid("a channel has at most " + std::to_string(kMaxPins) + " pinned messages",
                   "seq");
  }
  return Emit(PinChanged{channel.id, c.seq, c.pinned, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const AddBookmark& c, Context& ctx) {
  Result<ChannelAccess> access = WritableChannel(state, c.actor, c.channel_id, "add bookmarks");
  if (!access) return access.error();
  const ChannelState& channel = *access->channel;
  Result<std::string> title =
      ValidateName(c.title, kMaxBookmarkTitleBytes, "bookmark title", "title");
  if (!title) return title.error();
  Result<std::string> url = ValidateUrl(c.url);
  if (!url) return url.error();
  if (channel.bookmarks.size() >= kMaxBookmarks) {
    return Invalid("a channel has at most " + std::to_string(kMaxBookmarks) + " bookmarks",
                   "channel_id");
  }
  return Emit(BookmarkAdded{channel.id, NextId(ctx), std::move(*title), std::move(*url), c.actor,
                            ctx.now});
}

Decision DecideOn(const ShardState& state, const RemoveBookmark& c, Context& ctx) {
  Result<ChannelAccess> access =
      WritableChannel(state, c.actor, c.channel_id, "remove bookmarks");
  if (!access) return access.error();
  const ChannelState& channel = *access->channel;
  auto it = channel.bookmarks.find(c.bookmark_id);
  if (it == channel.bookmarks.end()) return NotFound("no such bookmark", "bookmark_id");
  if (it->second.by != c.actor && !access->is_admin()) {
    return Forbidden("only who added a bookmark, or an admin, removes it", "bookmark_id");
  }
  return Emit(BookmarkRemoved{channel.id, c.bookmark_id, c.actor, ctx.now});
}

}  // namespace rules

// ---- Reads ------------------------------------------------------------------------------------

Result<ThreadPage> ReadThread(const ShardState& state, UserId actor, const ThreadQuery& query) {
  if (Status s = CheckCanRead(state, actor, query.channel_id); !s) return s.error();
  Result<uint32_t> page_limit = rules::PageLimit(query.limit, kDefaultHistoryLimit, kMaxHistoryLimit);
  if (!page_limit) return page_limit.error();
  const uint32_t limit = *page_limit;
  const ChannelState& channel = *state.FindChannel(query.channel_id);
  Result<const StoredMessage*> parent = ThreadParent(channel, query.thread_seq);
  if (!parent) return parent.error();
  ThreadPage page;
  page.parent = *parent;
  const ThreadState* thread = FindThread(channel, query.thread_seq);
  if (thread == nullptr || thread->replies.empty()) return page;
  page.thread = thread;
  const std::vector<Seq>& replies = thread->replies;
  auto first = std::upper_bound(replies.begin(), replies.end(), query.after);
  size_t available = static_cast<size_t>(replies.end() - first);
  size_t count = std::min<size_t>(available, limit);
  page.has_more = available > count;
  page.replies.reserve(count);
  for (auto it = first; it != first + static_cast<std::ptrdiff_t>(count); ++it) {
    page.replies.push_back(&channel.messages[*it - 1]);
  }
  return page;
}

// A followed thread is unread when a reply by someone else, not deleted, lies after the user's
// read mark.
void AppendUnreadThreads(const ChannelState& channel, UserId user,
                         std::vector<UnreadThread>& out) {
  for (const auto& [seq, thread] : channel.threads) {
    if (thread.replies.empty() || thread.followers.count(user) == 0) continue;
    auto read = thread.read_up_to.find(user);
    Seq read_seq = read == thread.read_up_to.end() ? 0 : read->second;
    uint64_t unread = 0;
    for (auto it = thread.replies.rbegin(); it != thread.replies.rend() && *it > read_seq; ++it) {
      const StoredMessage& reply = channel.messages[*it - 1];
      if (reply.author_id != user && !reply.deleted) ++unread;
    }
    if (unread > 0) out.push_back(UnreadThread{channel.id, seq, unread, thread.last_reply_at});
  }
}

// Newest reply first.
std::vector<UnreadThread> UnreadThreadsOf(const ShardState& state, UserId user) {
  std::vector<UnreadThread> out;
  for (ChannelId id : state.ChannelsOf(user)) AppendUnreadThreads(*state.FindChannel(id), user, out);
  std::sort(out.begin(), out.end(), [](const UnreadThread& a, const UnreadThread& b) {
    if (a.last_reply_at != b.last_reply_at) return a.last_reply_at > b.last_reply_at;
    return a.channel_id != b.channel_id ? a.channel_id < b.channel_id
                                        : a.thread_seq < b.thread_seq;
  });
  return out;
}

}  // namespace parley
