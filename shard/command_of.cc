#include "shard/command_of.h"

#include <string>
#include <vector>

namespace parley::shard {
namespace {

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

// Absent strings leave a field as it is (SetChannelDetails).
std::optional<std::string> OptStr(const flatbuffers::String* s) {
  if (s == nullptr) return std::nullopt;
  return s->str();
}

}  // namespace

CreateWorkspace CommandOf(UserId actor, const wire::CreateWorkspace& req) {
  return {actor, Str(req.name())};
}

JoinWorkspace CommandOf(UserId actor, const wire::JoinWorkspace& req) {
  return {actor, req.workspace_id()};
}

CreateChannel CommandOf(UserId actor, const wire::CreateChannel& req) {
  return {actor, req.workspace_id(), Str(req.name()), req.is_private()};
}

JoinChannel CommandOf(UserId actor, const wire::JoinChannel& req) {
  return {actor, req.channel_id()};
}

LeaveChannel CommandOf(UserId actor, const wire::LeaveChannel& req) {
  return {actor, req.channel_id()};
}

Command CommandOf(UserId actor, const wire::PostMessage& req) {
  if (req.thread_seq() > 0) {
    return PostReply{actor,
                     req.channel_id(),
                     req.thread_seq(),
                     Str(req.client_msg_id()),
                     Str(req.text()),
                     req.also_to_channel()};
  }
  return PostMessage{actor, req.channel_id(), Str(req.client_msg_id()), Str(req.text())};
}

AddChannelMember CommandOf(UserId actor, const wire::AddChannelMember& req) {
  return {actor, req.channel_id(), req.user_id()};
}

UpdateChannel CommandOf(UserId actor, const wire::UpdateChannel& req) {
  return {actor, req.channel_id(), req.archived(), req.announcement()};
}

EditMessage CommandOf(UserId actor, const wire::EditMessage& req) {
  return {actor, req.channel_id(), req.seq(), Str(req.text())};
}

DeleteMessage CommandOf(UserId actor, const wire::DeleteMessage& req) {
  return {actor, req.channel_id(), req.seq()};
}

UpdateChannelDetails CommandOf(UserId actor, const wire::SetChannelDetails& req) {
  return {actor, req.channel_id(), OptStr(req.name()), OptStr(req.topic()),
          OptStr(req.purpose())};
}

RemoveChannelMember CommandOf(UserId actor, const wire::RemoveChannelMember& req) {
  return {actor, req.channel_id(), req.user_id()};
}

OpenConversation CommandOf(UserId actor, const wire::OpenConversation& req) {
  std::vector<UserId> others;
  if (req.user_ids() != nullptr) others.assign(req.user_ids()->begin(), req.user_ids()->end());
  return {actor, req.workspace_id(), std::move(others)};
}

MarkRead CommandOf(UserId actor, const wire::MarkRead& req) {
  return {actor, req.channel_id(), req.seq()};
}

SetPresenceChoice CommandOf(UserId actor, const wire::SetPresence& req) {
  return {actor, req.away()};
}

SetUserStatus CommandOf(UserId actor, const wire::SetStatus& req) {
  return {actor, Str(req.text()), Str(req.emoji()), req.expires_at_ms()};
}

SetReadReceipts CommandOf(UserId actor, const wire::SetReadReceipts& req) {
  return {actor, req.send()};
}

RevokeInvite CommandOf(UserId actor, const wire::RevokeInvite& req) {
  return {actor, req.workspace_id(), req.invite_id()};
}

SetMemberRole CommandOf(UserId actor, const wire::SetMemberRole& req) {
  return {actor, req.workspace_id(), req.user_id(), static_cast<uint8_t>(req.role())};
}

TransferOwnership CommandOf(UserId actor, const wire::TransferOwnership& req) {
  return {actor, req.workspace_id(), req.user_id()};
}

SetMemberActive CommandOf(UserId actor, const wire::SetMemberActive& req) {
  return {actor, req.workspace_id(), req.user_id(), req.active()};
}

SetThreadFollow CommandOf(UserId actor, const wire::FollowThread& req) {
  return {actor, req.channel_id(), req.thread_seq(), req.follow()};
}

MarkThreadRead CommandOf(UserId actor, const wire::MarkThreadRead& req) {
  return {actor, req.channel_id(), req.thread_seq()};
}

AddReaction CommandOf(UserId actor, const wire::AddReaction& req) {
  return {actor, req.channel_id(), req.seq(), Str(req.emoji())};
}

RemoveReaction CommandOf(UserId actor, const wire::RemoveReaction& req) {
  return {actor, req.channel_id(), req.seq(), Str(req.emoji())};
}

SetPinned CommandOf(UserId actor, const wire::PinMessage& req) {
  return {actor, req.channel_id(), req.seq(), req.pinned()};
}

AddBookmark CommandOf(UserId actor, const wire::AddBookmark& req) {
  return {actor, req.channel_id(), Str(req.title()), Str(req.url())};
}

RemoveBookmark CommandOf(UserId actor, const wire::RemoveBookmark& req) {
  return {actor, req.channel_id(), req.bookmark_id()};
}

std::optional<Command> CommandOf(UserId actor, const wire::Frame& frame) {
  using B = wire::Body;
  switch (frame.body_type()) {
#define PARLEY_COMMAND_OF(kind) \
  case B::kind:                 \
    return CommandOf(actor, *frame.body_as_##kind());
    PARLEY_COMMAND_OF(CreateWorkspace)
    PARLEY_COMMAND_OF(JoinWorkspace)
    PARLEY_COMMAND_OF(CreateChannel)
    PARLEY_COMMAND_OF(JoinChannel)
    PARLEY_COMMAND_OF(LeaveChannel)
    PARLEY_COMMAND_OF(PostMessage)
    PARLEY_COMMAND_OF(AddChannelMember)
    PARLEY_COMMAND_OF(UpdateChannel)
    PARLEY_COMMAND_OF(EditMessage)
    PARLEY_COMMAND_OF(DeleteMessage)
    PARLEY_COMMAND_OF(SetChannelDetails)
    PARLEY_COMMAND_OF(RemoveChannelMember)
    PARLEY_COMMAND_OF(OpenConversation)
    PARLEY_COMMAND_OF(MarkRead)
    PARLEY_COMMAND_OF(SetPresence)
    PARLEY_COMMAND_OF(SetStatus)
    PARLEY_COMMAND_OF(SetReadReceipts)
    PARLEY_COMMAND_OF(RevokeInvite)
    PARLEY_COMMAND_OF(SetMemberRole)
    PARLEY_COMMAND_OF(TransferOwnership)
    PARLEY_COMMAND_OF(SetMemberActive)
    PARLEY_COMMAND_OF(FollowThread)
    PARLEY_COMMAND_OF(MarkThreadRead)
    PARLEY_COMMAND_OF(AddReaction)
    PARLEY_COMMAND_OF(RemoveReaction)
    PARLEY_COMMAND_OF(PinMessage)
    PARLEY_COMMAND_OF(AddBookmark)
    PARLEY_COMMAND_OF(RemoveBookmark)
#undef PARLEY_COMMAND_OF
    default:
      return std::nullopt;
  }
}

}  // namespace parley::shard
