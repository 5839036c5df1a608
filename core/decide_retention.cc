// Message retention, on the workspace's shard (which owns the workspace's channels): admins set
// it; the shard's housekeeping sweeps each channel of a retained workspace with ExpireMessages.
#include <algorithm>

#include "core/decide_rules.h"

namespace parley::rules {

Decision DecideOn(const ShardState& state, const SetRetention& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  if (Status s = CheckWorkspaceAdmin(state, c.actor, c.workspace_id); !s.ok()) return s.error();
  if (c.days > kMaxRetentionDays) {
    return Invalid("retention_days is at most " + std::to_string(kMaxRetentionDays) +
                       " (0 keeps messages forever)",
                   "retention_days");
  }
  if (state.FindWorkspace(c.workspace_id)->settings.retention_days == c.days) return NoOp();
  return Emit(WorkspaceRetentionSet{c.workspace_id, c.days, c.actor, ctx.now});
}

// Expires the longest run of the oldest unexpired messages that are all at least the retention
// old, up to kMaxExpiredPerSweep of them. Seqs follow posting order, so this is all the due
// messages unless the clock stepped back between two posts: then the later one waits for the
// earlier one, keeping it a little longer than asked, never less.
Decision DecideOn(const ShardState& state, const ExpireMessages& c, Context& ctx) {
  const ChannelState* channel = state.FindChannel(c.channel_id);
  if (channel == nullptr) return NoOp();
  const WorkspaceState* ws = state.FindWorkspace(channel->workspace_id);
  if (ws == nullptr || ws->settings.retention_days == 0) return NoOp();
  const TimeMs cutoff = ctx.now - TimeMs{ws->settings.retention_days} * ctx.retention_unit_ms;
  const Seq first = channel->expired_up_to + 1;
  const Seq last = std::min<Seq>(channel->last_seq(), channel->expired_up_to + kMaxExpiredPerSweep);
  Seq up_to = channel->expired_up_to;
  while (up_to < last && channel->messages[up_to].at <= cutoff) ++up_to;  // [up_to] is up_to + 1
  if (up_to < first) return NoOp();
  return Emit(MessagesExpired{c.channel_id, first, up_to, ctx.now});
}

}  // namespace parley::rules

namespace parley {

std::vector<ChannelId> ChannelsUnderRetention(const ShardState& state) {
  std::vector<ChannelId> channels;
  for (WorkspaceId id : state.retained_workspaces()) {
    const WorkspaceState* ws = state.FindWorkspace(id);
    if (ws != nullptr) channels.insert(channels.end(), ws->channels.begin(), ws->channels.end());
  }
  return channels;
}

}  // namespace parley
