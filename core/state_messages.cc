// Applying the chat product's message events: thread replies, following and reading threads,
// reactions, pins, bookmarks, edits and deletions, and the indexes every message keeps (client
// ids, mentions, the timeline).
#include <algorithm>
#include <cassert>
#include <utility>

#include "core/decide.h"
#include "core/mentions.h"
#include "core/state.h"

namespace parley {
namespace {

// Inserts `seq` into an ascending list unless it is there.
void InsertSorted(std::vector<Seq>& seqs, Seq seq) {
  auto it = std::lower_bound(seqs.begin(), seqs.end(), seq);
  if (it == seqs.end() || *it != seq) seqs.insert(it, seq);
}

void EraseSorted(std::vector<Seq>& seqs, Seq seq) {
  auto it = std::lower_bound(seqs.begin(), seqs.end(), seq);
  if (it != seqs.end() && *it == seq) seqs.erase(it);
}

// Adds the mentions of `text` at `seq` to the channel's indexes: members only, since a
// non-member is not notified (and the poster was told so).
void IndexMentions(ChannelState& channel, Seq seq, std::string_view text) {
  Mentions mentions = ParseMentions(text);
  if (mentions.empty()) return;
  for (UserId user : mentions.users) {
    if (channel.IsMember(user)) InsertSorted(channel.mention_seqs[user], seq);
  }
  if (mentions.channel) InsertSorted(channel.channel_mention_seqs, seq);
}

// Removes what IndexMentions added for `text` at `seq`. Empty lists are dropped so that the
// index, and hence operator==, depends only on the mentions that exist.
void UnindexMentions(ChannelState& channel, Seq seq, std::string_view text) {
  Mentions mentions = ParseMentions(text);
  if (mentions.empty()) return;
  for (UserId user : mentions.users) {
    auto it = channel.mention_seqs.find(user);
    if (it == channel.mention_seqs.end()) continue;
    EraseSorted(it->second, seq);
    if (it->second.empty()) channel.mention_seqs.erase(it);
  }
  if (mentions.channel) EraseSorted(channel.channel_mention_seqs, seq);
}

void Unpin(ChannelState& channel, Seq seq) {
  std::erase_if(channel.pins, [seq](const PinState& pin) { return pin.seq == seq; });
}

// REQUIRES: 1 <= seq <= channel.last_seq().
StoredMessage* MessageAt(ChannelState* channel, Seq seq) {
  if (channel == nullptr || seq == 0 || seq > channel->last_seq()) return nullptr;
  return &channel->messages[seq - 1];
}

}  // namespace

// Seqs arrive in increasing order, so appending keeps every list ascending.
void ShardState::NoteMessage(ChannelState& channel, const StoredMessage& m) {
  if (!m.client_msg_id.empty()) {
    channel.seq_by_client_id.emplace(ClientIdKey(m.author_id, m.client_msg_id), m.seq);
  }
  IndexMentions(channel, m.seq, m.text);
  bool in_timeline = m.thread_seq == 0 || m.also_to_channel;
  if (channel.has_replies) {
    if (in_timeline) channel.timeline.push_back(m.seq);
  } else if (!in_timeline) {
    // The first reply kept out of the timeline: until now the timeline was every seq.
    channel.has_replies = true;
    channel.timeline.reserve(m.seq);
    for (Seq seq = 1; seq < m.seq; ++seq) channel.timeline.push_back(seq);
  }
}

void ShardState::ApplyEvent(ThreadReplyPosted&& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (channel == nullptr) return;
  assert(e.seq == channel->last_seq() + 1);
  assert(e.thread_seq >= 1 && e.thread_seq < e.seq);
  const StoredMessage& m = channel->messages.emplace_back(
      StoredMessage{.id = e.message_id,
                    .seq = e.seq,
                    .author_id = e.author_id,
                    .client_msg_id = Text(e.client_msg_id),
                    .text = Text(e.text),
                    .at = e.at,
                    .also_to_channel = e.also_to_channel,
                    .thread_seq = e.thread_seq});
  NoteMessage(*channel, m);
  NoteMinted(e.message_id);

  ThreadState& thread = channel->threads[e.thread_seq];
  if (thread.replies.empty()) {
    // The thread starts: its parent's author follows it (while still in the channel).
    UserId parent_author = channel->messages[e.thread_seq - 1].author_id;
    if (channel->IsMember(parent_author)) thread.followers.insert(parent_author);
  }
  thread.replies.push_back(e.seq);
  if (std::find(thread.participants.begin(), thread.participants.end(), e.author_id) ==
      thread.participants.end()) {
    thread.participants.push_back(e.author_id);
  }
  thread.last_reply_at = e.at;
  // Replying follows the thread and reads it up to one's own reply.
  thread.followers.insert(e.author_id);
  thread.read_up_to[e.author_id] = e.seq;
  for (UserId user : ParseMentions(m.text).users) {
    if (channel->IsMember(user)) thread.followers.insert(user);
  }
}

void ShardState::ApplyEvent(const ThreadFollowChanged& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (channel == nullptr) return;
  ThreadState& thread = channel->threads[e.thread_seq];
  if (e.following) {
    thread.followers.insert(e.user_id);
  } else {
    thread.followers.erase(e.user_id);
  }
}

void ShardState::ApplyEvent(const ThreadMarkedRead& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (channel == nullptr) return;
  Seq& read = channel->threads[e.thread_seq].read_up_to[e.user_id];
  read = std::max(read, e.read_seq);
}

void ShardState::ApplyEvent(const ReactionAdded& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (channel == nullptr) return;
  std::vector<ReactionState>& reactions = channel->reactions[e.seq];
  auto it = std::find_if(reactions.begin(), reactions.end(),
                         [&](const ReactionState& r) { return r.emoji == e.emoji; });
  if (it == reactions.end()) {
    reactions.push_back(ReactionState{e.emoji, {e.user_id}});
  } else if (std::find(it->users.begin(), it->users.end(), e.user_id) == it->users.end()) {
    it->users.push_back(e.user_id);
  }
}

// An emoji whose last user took it back disappears, and so does an empty list: a message with
// no reactions costs nothing.
void ShardState::ApplyEvent(const ReactionRemoved& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (channel == nullptr) return;
  auto entry = channel->reactions.find(e.seq);
  if (entry == channel->reactions.end()) return;
  std::vector<ReactionState>& reactions = entry->second;
  auto it = std::find_if(reactions.begin(), reactions.end(),
                         [&](const ReactionState& r) { return r.emoji == e.emoji; });
  if (it == reactions.end()) return;
  std::erase(it->users, e.user_id);
  if (it->users.empty()) reactions.erase(it);
  if (reactions.empty()) channel->reactions.erase(entry);
}

void ShardState::ApplyEvent(const PinChanged& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (channel == nullptr) return;
  Unpin(*channel, e.seq);
  if (e.pinned) channel->pins.push_back(PinState{e.seq, e.by, e.at});
}

void ShardState::ApplyEvent(const BookmarkAdded& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (channel == nullptr) return;
  channel->bookmarks[e.bookmark_id] = BookmarkState{e.bookmark_id, e.title, e.url, e.by, e.at};
  NoteMinted(e.bookmark_id);
}

void ShardState::ApplyEvent(const BookmarkRemoved& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (channel == nullptr) return;
  channel->bookmarks.erase(e.bookmark_id);
}

// The replaced text goes to the message's edit history (the newest kMaxEditHistory kept), and
// its mentions are indexed anew: an edit may add or remove some.
void ShardState::ApplyEvent(const MessageEdited& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  StoredMessage* m = MessageAt(channel, e.seq);
  if (m == nullptr) return;
  UnindexMentions(*channel, e.seq, m->text);
  std::vector<EditRecord>& history = channel->edits[e.seq];
  history.push_back(EditRecord{std::string(m->text), e.at});
  if (history.size() > kMaxEditHistory) history.erase(history.begin());
  m->text = e.text;
  m->edited_at = e.at;
  IndexMentions(*channel, e.seq, m->text);
}

// A tombstone: the seq stays (and a thread under it stays reachable), everything said or added
// to the message goes: text, edit history, mentions, reactions, pin.
void ShardState::ApplyEvent(const MessageDeleted& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  StoredMessage* m = MessageAt(channel, e.seq);
  if (m == nullptr) return;
  UnindexMentions(*channel, e.seq, m->text);
  channel->edits.erase(e.seq);
  channel->reactions.erase(e.seq);
  Unpin(*channel, e.seq);
  m->text.clear();
  m->text.shrink_to_fit();
  m->deleted = true;
}

void ShardState::ApplyEvent(const WorkspaceRetentionSet& e) {
  WorkspaceState* ws = MutableWorkspace(e.workspace_id);
  if (ws == nullptr) return;
  ws->settings.retention_days = e.days;
  if (e.days == 0) {
    retained_workspaces_.erase(e.workspace_id);
  } else {
    retained_workspaces_.insert(e.workspace_id);
  }
}

// Each expired message becomes a tombstone as a deletion leaves it (its slot keeps the seqs
// dense), and everything hanging off it goes: indexes, edits, reactions, its thread, its pin.
// A thread whose parent expired is gone with it; its newer replies stay in the channel until
// they expire in turn. Work is O(up_to_seq - from_seq) plus the channel's pins, so the
// sweep's batch bound holds here too. The timeline keeps expired seqs: reads start after
// expired_up_to, and trimming its front would cost the whole vector on every sweep.
void ShardState::ApplyEvent(const MessagesExpired& e) {
  ChannelState* channel = MutableChannel(e.channel_id);
  if (channel == nullptr) return;
  Seq up_to = std::min(e.up_to_seq, channel->last_seq());
  if (up_to <= channel->expired_up_to) return;
  for (Seq seq = channel->expired_up_to + 1; seq <= up_to; ++seq) {
    StoredMessage& m = channel->messages[seq - 1];
    UnindexMentions(*channel, seq, m.text);  // a deleted message's text is already empty
    if (!m.client_msg_id.empty()) {
      channel->seq_by_client_id.erase(ClientIdKey(m.author_id, m.client_msg_id));
    }
    channel->edits.erase(seq);
    channel->reactions.erase(seq);
    channel->threads.erase(seq);
    m.text.clear();
    m.text.shrink_to_fit();
    m.client_msg_id.clear();
    m.client_msg_id.shrink_to_fit();
    m.deleted = true;
  }
  std::erase_if(channel->pins, [up_to](const PinState& pin) { return pin.seq <= up_to; });
  channel->expired_up_to = up_to;
}

}  // namespace parley
