#include "tests/crash_model.h"

#include <algorithm>
#include <memory>

namespace parley::testing {
namespace {

constexpr const char* kEmoji[] = {"thumbsup", "tada", "eyes", "rocket", "heart"};

std::string Name(const Writer& w) { return "writer " + std::to_string(w.index); }

std::string At(uint64_t channel, uint64_t seq) {
  return "channel " + std::to_string(channel) + " seq " + std::to_string(seq);
}

using Page = std::vector<std::unique_ptr<wire::MessageT>>;  // index: seq - 1

// Every message of the channel, oldest first; a violation if the seqs have a gap.
bool ReadChannel(wire::Client& reader, uint64_t channel, Page* all,
                 std::vector<std::string>* violations) {
  for (;;) {
    auto page = reader.Sync(channel, all->size(), 200);
    if (!page.ok()) {
      violations->push_back("cannot read channel " + std::to_string(channel) + ": " +
                            page.error().message);
      return false;
    }
    for (auto& m : page->messages) {
      if (m->seq != all->size() + 1) {
        violations->push_back("seq gap in channel " + std::to_string(channel) + ": " +
                              std::to_string(m->seq) + " follows " + std::to_string(all->size()));
        return false;
      }
      all->push_back(std::move(m));
    }
    if (!page->has_more) {
      if (page->last_seq != all->size()) {
        violations->push_back("channel " + std::to_string(channel) + " says last seq " +
                              std::to_string(page->last_seq) + " but holds " +
                              std::to_string(all->size()));
      }
      return true;
    }
  }
}

class ChannelCheck {
 public:
  ChannelCheck(uint64_t channel, const Page& all, const std::vector<Writer>& writers,
               std::vector<std::string>* violations, CheckCounts* counts)
      : channel_(channel), all_(all), writers_(writers), v_(violations), counts_(counts) {}

  void Run() {
    for (const Writer& w : writers_) {
      by_user_[w.user] = &w;
      for (const AckedMessage& a : w.acked) {
        if (a.channel == channel_) sent_threads_[{w.user, a.client_msg_id}] = a.thread_seq;
      }
      for (const Op& op : w.pending) {
        if (op.channel != channel_) continue;
        if (op.kind == OpKind::kPost) sent_threads_[{w.user, op.client_msg_id}] = 0;
        if (op.kind == OpKind::kReply) sent_threads_[{w.user, op.client_msg_id}] = op.target;
      }
    }
    CheckEachMessage();
    for (const Writer& w : writers_) CheckWriter(w);
    CheckThreads();
  }

 private:
  void CheckEachMessage() {
    std::map<std::pair<uint64_t, std::string>, uint64_t> seen;  // author, client id -> seq
    for (const auto& m : all_) {
      auto writer = by_user_.find(m->author_id);
      if (writer == by_user_.end()) {
        v_->push_back("message by a non-writer at " + At(channel_, m->seq));
        continue;
      }
      auto [it, fresh] = seen.emplace(std::pair{m->author_id, m->client_msg_id}, m->seq);
      if (!fresh) {
        ++counts_->duplicates;
        v_->push_back("duplicate: " + Name(*writer->second) + "'s " + m->client_msg_id + " at " +
                      At(channel_, it->second) + " and seq " + std::to_string(m->seq));
      }
      CheckSent(*writer->second, *m);
      CheckReactions(*m);
    }
  }

  // A message is one this writer sent, whole: its thread and its text are ones it sent.
  void CheckSent(const Writer& w, const wire::MessageT& m) {
    auto sent = sent_threads_.find({w.user, m.client_msg_id});
    if (sent == sent_threads_.end()) {
      v_->push_back("phantom: " + At(channel_, m.seq) + " holds " + m.client_msg_id + " by " +
                    Name(w) + ", which it never sent");
      return;
    }
    const uint64_t thread_seq = sent->second;
    if (m.thread_seq != thread_seq) {
      v_->push_back("half-applied: " + m.client_msg_id + " at " + At(channel_, m.seq) +
                    " is in thread " + std::to_string(m.thread_seq) + ", sent to " +
                    std::to_string(thread_seq));
    }
    std::set<std::string> texts;  // the last acknowledged text, or a pending edit's
    auto edited = w.edits.find({channel_, m.seq});
    texts.insert(edited != w.edits.end() ? edited->second : m.client_msg_id);
    for (const Op& op : w.pending) {
      if (op.kind == OpKind::kEdit && op.channel == channel_ && op.target == m.seq) {
        texts.insert(op.text);
      }
    }
    if (!texts.count(m.text)) {
      v_->push_back("wrong text at " + At(channel_, m.seq) + ": \"" + m.text + "\", expected \"" +
                    *texts.begin() + "\"" + (texts.size() > 1 ? " or a pending edit" : ""));
    }
  }

  void CheckReactions(const wire::MessageT& m) {
    for (const auto& r : m.reactions) {
      std::set<uint64_t> users(r->users.begin(), r->users.end());
      if (users.size() != r->users.size() || r->count != r->users.size()) {
        v_->push_back("half-applied reaction " + r->emoji + " at " + At(channel_, m.seq) +
                      ": count " + std::to_string(r->count) + ", " +
                      std::to_string(r->users.size()) + " users");
      }
      for (uint64_t user : users) {
        auto writer = by_user_.find(user);
        if (writer == by_user_.end() || !SentReaction(*writer->second, m.seq, r->emoji)) {
          v_->push_back("phantom reaction " + r->emoji + " by user " + std::to_string(user) +
                        " at " + At(channel_, m.seq));
        }
      }
    }
  }

  bool SentReaction(const Writer& w, uint64_t seq, const std::string& emoji) const {
    if (w.reactions.count({channel_, seq, emoji})) return true;
    return std::any_of(w.pending.begin(), w.pending.end(), [&](const Op& op) {
      return op.kind == OpKind::kReact && op.channel == channel_ && op.target == seq &&
             op.emoji == emoji;
    });
  }

  // Everything acknowledged to `w` is where the acknowledgement said.
  void CheckWriter(const Writer& w) {
    for (const AckedMessage& a : w.acked) {
      if (a.channel != channel_) continue;
      ++counts_->acknowledged;
      const wire::MessageT* m = a.seq <= all_.size() ? all_[a.seq - 1].get() : nullptr;
      if (m == nullptr || m->author_id != w.user || m->client_msg_id != a.client_msg_id) {
        ++counts_->lost;
        v_->push_back("lost: " + Name(w) + "'s acknowledged " + a.client_msg_id + " is not at " +
                      At(channel_, a.seq));
        continue;
      }
      ++counts_->present;
    }
    for (const auto& [key, text] : w.edits) {
      if (key.first != channel_) continue;
      ++counts_->acknowledged;
      // A wrong text was reported by CheckSent; count it lost here too.
      const uint64_t seq = key.second;  // a lambda may not capture a structured binding (C++17)
      const wire::MessageT* m = seq <= all_.size() ? all_[seq - 1].get() : nullptr;
      bool pending_edit = std::any_of(w.pending.begin(), w.pending.end(), [&](const Op& op) {
        return op.kind == OpKind::kEdit && op.channel == channel_ && op.target == seq &&
               m != nullptr && op.text == m->text;
      });
      if (m != nullptr && (m->text == text || pending_edit) && m->edit_count > 0) {
        ++counts_->present;
      } else {
        ++counts_->lost;
        v_->push_back("lost edit: " + Name(w) + "'s \"" + text + "\" at " +
                      At(channel_, key.second));
      }
    }
    for (const auto& [channel, seq, emoji] : w.reactions) {
      if (channel != channel_) continue;
      ++counts_->acknowledged;
      if (HasReaction(seq, emoji, w.user)) {
        ++counts_->present;
      } else {
        ++counts_->lost;
        v_->push_back("lost reaction: " + Name(w) + "'s " + emoji + " at " + At(channel_, seq));
      }
    }
    for (const Op& op : w.pending) {
      if (op.channel != channel_ || (op.kind != OpKind::kPost && op.kind != OpKind::kReply)) {
        continue;
      }
      bool found = std::any_of(all_.begin(), all_.end(), [&](const auto& m) {
        return m->author_id == w.user && m->client_msg_id == op.client_msg_id;
      });
      ++(found ? counts_->unacked_present : counts_->unacked_absent);
    }
  }

  bool HasReaction(uint64_t seq, const std::string& emoji, uint64_t user) const {
    if (seq == 0 || seq > all_.size()) return false;
    for (const auto& r : all_[seq - 1]->reactions) {
      if (r->emoji == emoji &&
          std::find(r->users.begin(), r->users.end(), user) != r->users.end()) {
        return true;
      }
    }
    return false;
  }

  // A reply that is there is counted in its thread: reply_count and reply_users agree with the
  // replies present.
  void CheckThreads() {
    std::map<uint64_t, std::vector<uint64_t>> replies;  // thread seq -> authors, in seq order
    for (const auto& m : all_) {
      if (m->thread_seq == 0) continue;
      if (m->thread_seq >= m->seq || all_[m->thread_seq - 1]->thread_seq != 0) {
        v_->push_back("reply at " + At(channel_, m->seq) + " is in a thread that is not a " +
                      "top-level message before it (" + std::to_string(m->thread_seq) + ")");
        continue;
      }
      replies[m->thread_seq].push_back(m->author_id);
    }
    for (const auto& m : all_) {
      if (m->thread_seq != 0) continue;
      const std::vector<uint64_t>& authors = replies[m->seq];
      std::set<uint64_t> want(authors.begin(), authors.end());
      std::set<uint64_t> have(m->reply_users.begin(), m->reply_users.end());
      if (m->reply_count != authors.size() || want != have) {
        v_->push_back("half-applied thread at " + At(channel_, m->seq) + ": reply_count " +
                      std::to_string(m->reply_count) + " with " +
                      std::to_string(m->reply_users.size()) + " reply users, but " +
                      std::to_string(authors.size()) + " replies by " +
                      std::to_string(want.size()) + " users are there");
      }
    }
  }

  uint64_t channel_;
  const Page& all_;
  const std::vector<Writer>& writers_;
  std::vector<std::string>* v_;
  CheckCounts* counts_;
  std::map<uint64_t, const Writer*> by_user_;
  // Every post and reply a writer sent here (acknowledged or pending) -> the thread it went to.
  std::map<std::pair<uint64_t, std::string>, uint64_t> sent_threads_;
};

}  // namespace

void Writer::AckMessage(const Op& op, const wire::PostAckT& ack) {
  for (auto it = acked.rbegin(); it != acked.rend(); ++it) {
    if (it->channel != op.channel) continue;
    if (it->seq >= ack.seq) {
      violations.push_back("out of order: " + Name(*this) + "'s " + op.client_msg_id +
                           " acknowledged at " + At(op.channel, ack.seq) + " after " +
                           it->client_msg_id + " at seq " + std::to_string(it->seq));
    }
    break;
  }
  if (ack.duplicate && !op.retry) {
    violations.push_back("first attempt of " + op.client_msg_id + " answered as a duplicate");
  }
  if (ack.duplicate) ++retries_deduplicated;
  acked.push_back(AckedMessage{op.channel, ack.seq, op.kind == OpKind::kReply ? op.target : 0,
                               op.client_msg_id});
}

void Writer::AckEdit(const Op& op) {
  edits[{op.channel, op.target}] = op.text;
  ++acked_edits;
}

void Writer::AckReaction(const Op& op) {
  reactions.insert({op.channel, op.target, op.emoji});
  ++acked_reactions;
}

void Writer::Plan(const std::vector<uint64_t>& channels, bool* burst) {
  auto next_id = [&] { return "w" + std::to_string(index) + "-" + std::to_string(next_op++); };
  uint64_t roll = rng() % 100;
  *burst = false;
  Op op;
  if (roll < 12) {  // a pipelined burst of posts to one channel
    *burst = true;
    uint64_t channel = channels[rng() % channels.size()];
    for (uint64_t n = 5 + rng() % 16; n > 0; --n) {
      std::string id = next_id();
      pending.push_back(Op{OpKind::kPost, channel, 0, id, id, "", false});
    }
    return;
  }
  if (roll < 50 || acked.empty()) {
    op.kind = OpKind::kPost;
    op.channel = channels[rng() % channels.size()];
  } else {
    const AckedMessage& target = acked[rng() % acked.size()];
    op.channel = target.channel;
    op.target = target.seq;
    if (roll < 68 && target.thread_seq == 0) {
      op.kind = OpKind::kReply;
    } else if (roll < 84) {
      op.kind = OpKind::kEdit;
      op.text = next_id() + " (edited)";
    } else {
      op.kind = OpKind::kReact;
      op.emoji = kEmoji[rng() % std::size(kEmoji)];
    }
  }
  if (op.kind == OpKind::kPost || op.kind == OpKind::kReply) {
    op.client_msg_id = next_id();
    op.text = op.client_msg_id;
  }
  pending.push_back(std::move(op));
}

std::vector<std::string> CheckChannels(wire::Client& reader, const std::vector<uint64_t>& channels,
                                       const std::vector<Writer>& writers, CheckCounts* counts) {
  std::vector<std::string> violations;
  *counts = CheckCounts{};
  for (const Writer& w : writers) {
    violations.insert(violations.end(), w.violations.begin(), w.violations.end());
  }
  for (uint64_t channel : channels) {
    Page all;
    if (!ReadChannel(reader, channel, &all, &violations)) continue;
    counts->messages += all.size();
    ChannelCheck(channel, all, writers, &violations, counts).Run();
  }
  return violations;
}

}  // namespace parley::testing
