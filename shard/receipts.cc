// Delivery and read receipts, on the channel's owner. A tracked message's Deliver says so
// (receipt_seq); each session shard that writes it to sessions reports their users back, once
// per Deliver, and the owner gathers the reports of a loop turn into one record per channel.
// History and Sync pages count as delivered to the reader, a MarkRead as read unless the reader
// turned read receipts off. Each advance is logged (only when something moves) and shown to the
// channel's subscribers as ReceiptUpdated.
#include <algorithm>

#include "core/presence.h"
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

wire::SharedBytes Share(wire::Bytes bytes) {
  return std::make_shared<const wire::Bytes>(std::move(bytes));
}

}  // namespace

Seq Shard::ReceiptSeqOf(const ChannelState& channel, Seq seq) const {
  return ReceiptsTracked(state_, channel) ? seq : 0;
}

void Shard::ReportDelivered(ChannelId channel, const std::vector<uint32_t>& slots, Seq seq) {
  ReceiptReport report{channel, seq, {}};
  for (uint32_t slot : slots) {
    UserId user = sessions_[slot].user;
    if (user == 0) continue;
    if (std::find(report.users.begin(), report.users.end(), user) == report.users.end()) {
      report.users.push_back(user);
    }
  }
  if (report.users.empty()) return;
  ShardId owner = OwnerShard(channel, config_.shard_count);
  if (owner == id_) return OnReceiptReport(report);
  Send(owner, PresenceMessage{std::move(report)});
}

// The author's own sessions are no receipt. Gathered until the end of the loop turn.
void Shard::OnReceiptReport(const ReceiptReport& report) {
  const ChannelState* channel = state_.FindChannel(report.channel_id);
  if (channel == nullptr || report.seq == 0 || report.seq > channel->last_seq()) return;
  UserId author = channel->messages[report.seq - 1].author_id;
  auto& pending = presence_.delivered[report.channel_id];
  for (UserId user : report.users) {
    if (user == author) continue;
    Seq& seq = pending[user];
    seq = std::max(seq, report.seq);
  }
}

void Shard::FlushReceipts() {
  auto delivered = std::move(presence_.delivered);
  presence_.delivered.clear();
  for (auto& [channel, users] : delivered) {
    AdvanceReceipts command{channel, {}};
    for (auto [user, seq] : users) command.progress.push_back({user, seq, 0});
    if (!command.progress.empty()) AdvanceReceiptsOf(std::move(command));
  }
}

void Shard::AdvanceReceiptsOf(AdvanceReceipts command) {
  ChannelId id = command.channel_id;
  auto outcome = Execute(command);
  if (!outcome.ok() || !*outcome) return;
  const auto& advanced = std::get<ReceiptsAdvanced>(**outcome);
  const ChannelState& channel = *state_.FindChannel(id);
  std::vector<wire::SharedBytes> frames;
  for (UserId user : advanced.user_ids) {
    const ReceiptState& r = channel.receipts.at(user);
    wire::ReceiptUpdatedT e;
    e.channel_id = id;
    e.user_id = user;
    e.delivered_up_to = r.delivered_up_to;
    e.read_up_to = r.read_up_to;
    frames.push_back(Share(EncodeBody(0, std::move(e))));
  }
  AfterDurable([this, id, frames = std::move(frames)] {
    for (const auto& frame : frames) FanOut(id, frame);
  });
}

Status Shard::UpdateReceiptsSetting(const RequestMeta& meta,
                                    const wire::UpdateWorkspaceSettings* req) {
  const wire::WorkspaceSettings* settings = req->settings();
  if (settings == nullptr || !settings->receipts_max_members().has_value()) return OkStatus();
  auto outcome = Execute(SetReceiptsMaxMembers{meta.actor(), req->workspace_id(),
                                               settings->receipts_max_members().value()});
  if (!outcome.ok()) return outcome.error();
  return OkStatus();
}

}  // namespace parley::shard
