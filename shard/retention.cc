// Message retention on the workspace's shard (which owns its channels): the setting, and the
// sweep the housekeeping tick runs. The sweep only supplies the time: which messages expire is
// core's decision (ExpireMessages), logged as MessagesExpired like any event, so replay removes
// exactly what the live server removed.
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {

Status Shard::UpdateRetentionSetting(const RequestMeta& meta,
                                     const wire::UpdateWorkspaceSettings* req) {
  const wire::WorkspaceSettings* settings = req->settings();
  if (settings == nullptr || !settings->retention_days().has_value()) return OkStatus();
  auto outcome =
      Execute(SetRetention{meta.actor(), req->workspace_id(), settings->retention_days().value()});
  if (!outcome.ok()) return outcome.error();
  return OkStatus();
}

// Each channel's batch is bounded by kMaxExpiredPerSweep, so a large backlog is worked off over
// several ticks instead of stalling one. Nothing is expired while stopping: a drain finishes
// what is in flight and starts nothing.
void Shard::SweepRetention() {
  if (stopping_) return;
  for (ChannelId id : ChannelsUnderRetention(state_)) {
    auto outcome = Execute(ExpireMessages{id});
    if (!outcome.ok() || !*outcome) continue;
    const auto& expired = std::get<MessagesExpired>(**outcome);
    wire::MessagesExpiredT event;
    event.channel_id = id;
    event.from_seq = expired.from_seq;
    event.up_to_seq = expired.up_to_seq;
    event.at_ms = expired.at;
    AfterDurable([this, id, frame = std::make_shared<const wire::Bytes>(
                                EncodeBody(0, std::move(event)))]() mutable {
      FanOut(id, std::move(frame));
    });
  }
}

}  // namespace parley::shard
