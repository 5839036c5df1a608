// Response and event frames built on the shard. Object-API bodies for cold paths; hand-built
// tables for the hot ones (post acks, events, history pages).
#pragma once

#include <utility>

#include "core/state.h"
#include "wire/frame.h"

namespace parley::shard {

template <class T>
wire::Bytes EncodeBody(uint64_t request_id, T body) {
  return wire::EncodeFrame(request_id, wire::MakeBody(std::move(body)));
}

wire::Bytes EncodeOk(uint64_t request_id);
// unknown_mentions: ascending (UnknownMentions).
wire::Bytes EncodePostAck(uint64_t request_id, ChannelId channel, const StoredMessage& m,
                          bool duplicate, const std::vector<UserId>& unknown_mentions = {});
// REQUIRES: m was just posted (it has no thread, reactions, pin or edits yet).
wire::Bytes EncodeMessagePosted(ChannelId channel, const StoredMessage& m);
// A message with its thread summary, reactions, pin and edit count (object API: cold paths).
wire::MessageT MessageOf(const ChannelState& channel, const StoredMessage& m);
wire::Bytes EncodeMembership(ChannelId channel, UserId user, bool joined);
wire::Bytes EncodeMessagePage(uint64_t request_id, const ChannelState& channel,
                              const std::vector<const StoredMessage*>& messages, bool has_more,
                              Seq last_seq);
// role: the viewer's.
wire::WorkspaceInfoT WorkspaceInfoOf(const WorkspaceState& ws, UserId viewer);
wire::Bytes EncodeMessageEdited(ChannelId channel, Seq seq, const StoredMessage& m, UserId by);
wire::Bytes EncodeMessageDeleted(ChannelId channel, Seq seq, UserId by);
wire::Bytes EncodeChannelUpdated(const ChannelState& channel);
wire::AuditEntryT AuditEntryOf(const AuditEntry& entry);
wire::ChannelInfoT ChannelInfoOf(const ChannelState& channel, UserId viewer);

}  // namespace parley::shard
