// The core Command a request frame asks its owner to decide, for the requests that are one
// command each. Pure functions of the verified frame and the caller: the owner's handlers run
// exactly these (shard/owner.cc and the others), and fuzz/request_fuzzer.cc drives Decide and
// Apply with them without sockets. Requests that need more than the frame (a password hashed
// off the loop, an invite secret, a token) build their commands in their handlers.
#pragma once

#include <optional>

#include "core/commands.h"
#include "core/ids.h"
#include "wire/frame.h"

namespace parley::shard {

CreateWorkspace CommandOf(UserId actor, const wire::CreateWorkspace& req);
JoinWorkspace CommandOf(UserId actor, const wire::JoinWorkspace& req);
CreateChannel CommandOf(UserId actor, const wire::CreateChannel& req);
JoinChannel CommandOf(UserId actor, const wire::JoinChannel& req);
LeaveChannel CommandOf(UserId actor, const wire::LeaveChannel& req);
// A PostMessage, or a PostReply when thread_seq > 0.
Command CommandOf(UserId actor, const wire::PostMessage& req);
AddChannelMember CommandOf(UserId actor, const wire::AddChannelMember& req);
UpdateChannel CommandOf(UserId actor, const wire::UpdateChannel& req);
EditMessage CommandOf(UserId actor, const wire::EditMessage& req);
DeleteMessage CommandOf(UserId actor, const wire::DeleteMessage& req);
UpdateChannelDetails CommandOf(UserId actor, const wire::SetChannelDetails& req);
RemoveChannelMember CommandOf(UserId actor, const wire::RemoveChannelMember& req);
OpenConversation CommandOf(UserId actor, const wire::OpenConversation& req);
MarkRead CommandOf(UserId actor, const wire::MarkRead& req);
SetPresenceChoice CommandOf(UserId actor, const wire::SetPresence& req);
SetUserStatus CommandOf(UserId actor, const wire::SetStatus& req);
SetReadReceipts CommandOf(UserId actor, const wire::SetReadReceipts& req);
RevokeInvite CommandOf(UserId actor, const wire::RevokeInvite& req);
SetMemberRole CommandOf(UserId actor, const wire::SetMemberRole& req);
TransferOwnership CommandOf(UserId actor, const wire::TransferOwnership& req);
SetMemberActive CommandOf(UserId actor, const wire::SetMemberActive& req);
SetThreadFollow CommandOf(UserId actor, const wire::FollowThread& req);
MarkThreadRead CommandOf(UserId actor, const wire::MarkThreadRead& req);
AddReaction CommandOf(UserId actor, const wire::AddReaction& req);
RemoveReaction CommandOf(UserId actor, const wire::RemoveReaction& req);
SetPinned CommandOf(UserId actor, const wire::PinMessage& req);
AddBookmark CommandOf(UserId actor, const wire::AddBookmark& req);
RemoveBookmark CommandOf(UserId actor, const wire::RemoveBookmark& req);

// The command of any request above; nullopt for every other body.
// REQUIRES: `frame` passed wire::VerifyFrame.
std::optional<Command> CommandOf(UserId actor, const wire::Frame& frame);

}  // namespace parley::shard
