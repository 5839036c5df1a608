// A shard's varied history for replay tests: drives a ShardState through Decide with a live
// minter, recording its log as a server would, with every event kind (core/state_test.cc checks
// that it covers them all). Shared by core's replay tests and persist's snapshot tests.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/decide.h"
#include "core/error.h"
#include "core/events.h"
#include "core/state.h"

namespace parley {

class ReplayScenario {
 public:
  static constexpr ShardId kShard = 1;
  static constexpr uint32_t kShards = 4;
  static constexpr TimeMs kT = 1'700'000'000'000;
  static constexpr UserId kAlice = 1001;
  static constexpr UserId kBob = 1002;

  template <class E>
  E Do(const Command& c) {
    Result<std::optional<Event>> r = Decide(live_, c, ctx_);
    if (!r.ok()) {
      ADD_FAILURE() << "command " << c.index() << ": " << ErrorCodeName(r.error().code) << ": "
                    << r.error().message;
      return E{};
    }
    if (!r->has_value()) {
      ADD_FAILURE() << "command " << c.index() << " was a no-op";
      return E{};
    }
    log_.push_back(**r);
    live_.Apply(**r);
    const E* e = std::get_if<E>(&**r);
    if (e == nullptr) ADD_FAILURE() << "command " << c.index() << ": unexpected event";
    return e == nullptr ? E{} : *e;
  }

  void RunScenario() {
    Do<UserRegistered>(RegisterUser{"alice@example.com", "Alice", "correct horse", "", "h"});
    WorkspaceCreated ws = Do<WorkspaceCreated>(CreateWorkspace{kAlice, "Acme"});
    Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{kAlice, ws.workspace_id, true});
    Do<WorkspaceJoined>(JoinWorkspace{kBob, ws.workspace_id});
    ChannelId secret =
        Do<ChannelCreated>(CreateChannel{kAlice, ws.workspace_id, "secret", true}).channel_id;
    Do<ChannelJoined>(JoinChannel{kBob, ws.random_id});
    Do<MessagePosted>(PostMessage{kBob, ws.random_id, "c1", "hi"});
    Do<ChannelLeft>(LeaveChannel{kBob, ws.random_id});
    Do<MessagePosted>(PostMessage{kAlice, secret, "", "psst"});
    Do<MessagePosted>(PostMessage{kBob, ws.general_id, "c1", "hello"});
  }

  // After RunScenario: every identity and administration event kind, with the clock moving.
  void RunIdentityAndAdminScenario() {
    constexpr UserId kCarol = 1003;
    const UserRegistered& alice = std::get<UserRegistered>(log_.front());
    const WorkspaceCreated& ws = std::get<WorkspaceCreated>(log_[1]);
    const UserId user = alice.user_id;
    const WorkspaceId wsid = ws.workspace_id;
    const ChannelId random = ws.random_id, general = ws.general_id;
    auto tick = [this] { ctx_.now += 1000; };

    // The user's shard.
    Do<ProfileUpdated>(UpdateProfile{user, "Alice L.", std::string("Engineer"),
                                     std::string("https://cdn.example.com/a.png")});
    tick();
    Do<PasswordChanged>(ChangePassword{user, "a better passphrase", "h2", false});
    Do<PasswordChanged>(ChangePassword{user, "", "h3", true});
    uint64_t s1 =
        Do<SessionStarted>(StartSession{user, "r1", "laptop", "10.0.0.1", 1, kDayMs}).session_id;
    tick();
    Do<SessionRefreshed>(RefreshSession{user, s1, "r1", "r2", kDayMs});
    tick();
    Do<SessionRevoked>(RefreshSession{user, s1, "r1", "r3", kDayMs});  // reuse
    uint64_t s2 =
        Do<SessionStarted>(StartSession{user, "q1", "phone", "10.0.0.2", 3, kDayMs}).session_id;
    Do<SessionRevoked>(RevokeSession{user, s2, static_cast<uint8_t>(RevokeReason::kLogout), user});
    for (size_t i = 0; i < kLockoutFailures; ++i) {
      tick();
      Do<SignInFailed>(RecordSignInFailure{user, "10.0.0.9", i % 2 == 1});
    }
    ctx_.now += kLockoutMs;
    Do<MfaEnrollStarted>(StartMfaEnrollment{user, std::string(20, 's')});
    std::vector<std::string> codes;
    for (size_t i = 0; i < kRecoveryCodeCount; ++i) codes.push_back("rc" + std::to_string(i));
    Do<MfaEnabled>(ConfirmMfa{user, 100, codes});
    Do<MfaCodeUsed>(UseSecondFactor{user, 101, ""});
    Do<MfaCodeUsed>(UseSecondFactor{user, 0, "rc4"});
    Do<MfaDisabled>(DisableMfa{user});
    uint64_t key =
        Do<ApiKeyCreated>(CreateApiKey{user, "ci", kScopeRead | kScopeWrite, "kh", 0}).key_id;
    tick();
    Do<ApiKeyRevoked>(RevokeApiKey{user, key});
    Do<OidcLinked>(LinkOidc{user, "https://accounts.example.com", "sub-1"});

    // The workspace's shard.
    tick();
    Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{kAlice, wsid, false, false, true});
    uint64_t dropped =
        Do<InviteCreated>(CreateInvite{kAlice, wsid, "dave@example.com", 2, {}, "t0", 0}).invite_id;
    Do<InviteRevoked>(RevokeInvite{kAlice, wsid, dropped});
    uint64_t invite =
        Do<InviteCreated>(
            CreateInvite{kAlice, wsid, "Carol@Example.com", 4, {random}, "t1", kDayMs})
            .invite_id;
    tick();
    Do<InviteAccepted>(AcceptInvite{kCarol, "carol@example.com", wsid, invite, "t1"});
    Do<RoleChanged>(SetMemberRole{kAlice, wsid, kBob, static_cast<uint8_t>(WorkspaceRole::kAdmin)});
    ChannelId secret = live_.FindWorkspace(wsid)->channel_by_name.at("secret");
    Do<ChannelMemberAdded>(AddChannelMember{kAlice, secret, kBob});
    Do<ChannelUpdated>(UpdateChannel{kAlice, random, std::nullopt, true});
    MessagePosted m = Do<MessagePosted>(PostMessage{kBob, general, "c2", "tyop"});
    tick();
    Do<MessageEdited>(EditMessage{kBob, general, m.seq, "typo"});
    Do<MessageDeleted>(DeleteMessage{kAlice, general, m.seq});
    Do<ChannelUpdated>(UpdateChannel{kAlice, secret, true, std::nullopt});
    Do<MemberActiveChanged>(SetMemberActive{kBob, wsid, kCarol, false});
    tick();
    Do<OwnershipTransferred>(TransferOwnership{kAlice, wsid, kBob});

    // The chat product's message features, in #general.
    Seq top = Do<MessagePosted>(PostMessage{kAlice, general, "", "thread <@1002>"}).seq;
    Do<ThreadReplyPosted>(PostReply{kBob, general, top, "c3", "reply <!here>", true});
    Do<ThreadFollowChanged>(SetThreadFollow{kBob, general, top, false});
    Do<ThreadMarkedRead>(MarkThreadRead{kAlice, general, top});
    Do<ReactionAdded>(AddReaction{kBob, general, top, ":Tada:"});
    Do<ReactionAdded>(AddReaction{kAlice, general, top, "tada"});
    Do<ReactionRemoved>(RemoveReaction{kBob, general, top, "tada"});
    Do<PinChanged>(SetPinned{kAlice, general, top, true});
    uint64_t docs =
        Do<BookmarkAdded>(AddBookmark{kBob, general, "Docs", "https://docs.example.com"})
            .bookmark_id;
    tick();
    Do<BookmarkAdded>(AddBookmark{kAlice, general, "Wiki", "https://wiki.example.com/a"});
    Do<BookmarkRemoved>(RemoveBookmark{kBob, general, docs});

    // Channel details and members, conversations and read markers.
    Do<ChannelDetailsChanged>(
        UpdateChannelDetails{kAlice, random, std::string("chatter"), "Off topic", "Anything"});
    ChannelId ops = Do<ChannelCreated>(CreateChannel{kAlice, wsid, "ops", true}).channel_id;
    Do<ChannelMemberAdded>(AddChannelMember{kAlice, ops, kBob});
    Do<ChannelMemberRemoved>(RemoveChannelMember{kBob, ops, kAlice});
    tick();
    ChannelId dm = Do<ConversationOpened>(OpenConversation{kAlice, wsid, {kBob}}).channel_id;
    Do<ReadMarkerSet>(MarkRead{kBob, general, 0});

    // Presence (the user's shard) and receipts (the channel's).
    Do<PresenceChoiceSet>(SetPresenceChoice{user, true});
    Do<UserStatusSet>(SetUserStatus{user, "Lunch", ":sandwich:", ctx_.now + kDayMs});
    Do<LastSeenRecorded>(RecordLastSeen{user});
    Do<ReadReceiptsChanged>(SetReadReceipts{user, false});
    Do<ReceiptsMaxMembersSet>(SetReceiptsMaxMembers{kAlice, wsid, 10});
    Seq said = Do<MessagePosted>(PostMessage{kAlice, dm, "", "hi"}).seq;
    Do<ReceiptsAdvanced>(AdvanceReceipts{dm, {{kBob, said, said}}});
    // Notifications and the user feed (the user's and the channel's shard).
    Do<ChannelNotifyPrefSet>(SetChannelNotifyPref{kBob, general, 1, true});
    Do<NotificationCreated>(CreateNotification{user, 1, wsid, general, top, 0, kBob, "thread"});
    Do<UserFeedNoted>(NoteUserFeed{user, 1, general, 0, 3, false});
    Do<KeywordsSet>(SetKeywords{user, {"Deploy"}});
    Do<DndSet>(SetDnd{user, DndOp::kSnooze, 30, 0, 0, ""});
    Do<NotificationsRead>(MarkNotificationsRead{user, 0});
    // Message retention (the workspace's shard): #general's oldest messages expire.
    Do<WorkspaceRetentionSet>(SetRetention{kBob, wsid, 1});
    ctx_.now += kDayMs;
    Do<MessagesExpired>(ExpireMessages{general});
    // Recent searches (the user's shard).
    Do<SearchRecorded>(RecordSearch{user, "deploy in:#general"});
    tick();
    Do<RecentSearchesCleared>(ClearRecentSearches{user});
    Do<SearchRecorded>(RecordSearch{user, " from:@bob has:link "});
  }

  static ShardState Replay(const std::vector<Event>& log) {
    ShardState state(kShard, kShards);
    for (const Event& e : log) state.Apply(e);
    return state;
  }

  ShardState live_{kShard, kShards};
  IdMinter ids_{kShard, kShards, 0};
  Context ctx_{kT, &ids_};
  std::vector<Event> log_;
};

}  // namespace parley
