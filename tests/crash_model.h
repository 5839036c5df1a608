// The crash checker's model (tests/crash_check.cc): what each writer was told was durable, and
// what it sent without an answer; and the check of a restarted server's channels against it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "wire/client.h"

namespace parley::testing {

enum class OpKind { kPost, kReply, kEdit, kReact };

struct Op {
  OpKind kind = OpKind::kPost;
  uint64_t channel = 0;
  uint64_t target = 0;  // reply: the thread's seq; edit, react: the message's seq
  std::string text;     // post, reply: the text (= client_msg_id); edit: the new text
  std::string client_msg_id;
  std::string emoji;
  bool retry = false;  // left unanswered by a kill: sent again after the restart
};

struct AckedMessage {
  uint64_t channel = 0;
  uint64_t seq = 0;
  uint64_t thread_seq = 0;
  std::string client_msg_id;
};

using MessageKey = std::pair<uint64_t, uint64_t>;                 // channel, seq
using ReactionKey = std::tuple<uint64_t, uint64_t, std::string>;  // channel, seq, emoji

// One writer (one user, one connection per round). Owned by the writer's thread during a round
// and by the main thread between rounds.
struct Writer {
  int index = 0;
  std::string email;
  uint64_t user = 0;
  std::mt19937_64 rng;
  uint64_t next_op = 0;
  std::vector<AckedMessage> acked;          // posts and replies, in the order their acks arrived
  std::map<MessageKey, std::string> edits;  // the last acknowledged text of each edited message
  std::set<ReactionKey> reactions;
  std::deque<Op> pending;  // sent, or about to be, without an answer; oldest first
  uint64_t acked_edits = 0;
  uint64_t acked_reactions = 0;
  uint64_t retries_deduplicated = 0;  // retried posts answered as the original
  std::vector<std::string> violations;

  // Records an acknowledged post or reply; a violation if the server acknowledged it at a seq
  // not after this writer's earlier acknowledged writes in the channel, or called a first
  // attempt a duplicate.
  void AckMessage(const Op& op, const wire::PostAckT& ack);
  void AckEdit(const Op& op);
  void AckReaction(const Op& op);
  // The next operation on one of `channels` (several posts for a burst); appended to pending.
  void Plan(const std::vector<uint64_t>& channels, bool* burst);
};

struct CheckCounts {
  uint64_t acknowledged = 0;  // posts, replies, edits and reactions
  uint64_t present = 0;       // of those, found as acknowledged
  uint64_t lost = 0;
  uint64_t duplicates = 0;
  uint64_t unacked_present = 0;  // pending posts and replies found applied (whole)
  uint64_t unacked_absent = 0;
  uint64_t messages = 0;  // in the checked channels
};

// Reads every message of `channels` through `reader` (a member of all of them) and checks them
// against the writers: each acknowledged post and reply exactly once at its acknowledged seq,
// seqs gapless, acknowledged edits and reactions present, nothing any writer did not send, and
// every reply counted in its thread. Returns the violations (empty: none), naming each.
std::vector<std::string> CheckChannels(wire::Client& reader, const std::vector<uint64_t>& channels,
                                       const std::vector<Writer>& writers, CheckCounts* counts);

}  // namespace parley::testing
