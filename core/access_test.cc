// The permission rules as one table: (actor, action, target) -> outcome, all decided against one
// state holding two workspaces. A row marked kHidden must fail exactly as the same request does
// for a channel or workspace that does not exist (same code, message and details): someone who
// may not know a thing exists gets no hint of it.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/decide.h"

namespace parley {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;  // setup, and every message's post time
constexpr ChannelId kMissingChannel = 999'999;
constexpr WorkspaceId kMissingWorkspace = 999'998;
constexpr UserId kStranger = 424'242;  // in no workspace, never seen

// clang-format off
// Workspace A ("Acme"): owner, two admins, two members, a guest and a deactivated member.
// Workspace B ("Beta"): the outsider's, who is in no other workspace.
enum class Who {
  kNone, kOwner, kAdmin, kAdmin2, kMember, kMember2, kGuest, kDeactivated, kOutsider,
};

enum class Target { kGeneral, kRandom, kDev, kSecret, kOld, kNews, kA, kB, kMissing };

enum class Act {
  kRead, kSubscribe, kPost, kJoin, kLeave, kCreatePublic, kCreatePrivate, kEdit, kDelete,
  kArchive, kUnarchive, kAddMember, kList, kInvite, kMakeAdmin, kMakeMember, kTransfer,
  kDeactivate, kReactivate, kJoinWorkspace, kSettings,
};

enum class Setting { kDefault, kJoinOpen, kAdminsCreatePrivate, kMembersPostAnnouncements };

enum class Want { kOk, kNoOp, kForbidden, kNotFound, kHidden };
// clang-format on

struct Row {
  Who actor;
  Act act;
  Target target;
  Want want;
  Who subject = Who::kNone;  // the user acted on: add member, roles, transfer, (de)activation
  Setting setting = Setting::kDefault;
  TimeMs since_post = kMinuteMs;  // the clock: this long after the messages were posted
};

// clang-format off
std::string_view NameOf(Who who) {
  constexpr std::string_view kNames[] = {"nobody", "owner",       "admin",   "admin2", "member",
                                         "member2", "guest", "deactivated", "outsider"};
  return kNames[static_cast<int>(who)];
}

std::string_view NameOf(Target target) {
  constexpr std::string_view kNames[] = {"A#general", "A#random", "A#dev (public)",
                                         "A#secret (private)", "A#old (archived)",
                                         "A#news (announcement)", "workspace A", "workspace B",
                                         "missing"};
  return kNames[static_cast<int>(target)];
}

std::string_view NameOf(Act act) {
  constexpr std::string_view kNames[] = {
      "read",        "subscribe",   "post",          "join",        "leave",
      "create public channel",      "create private channel",     "edit message 1",
      "delete message 1",           "archive",       "unarchive",   "add member",
      "list channels",              "invite",        "make admin",  "make member",
      "transfer ownership",         "deactivate",    "reactivate",  "join workspace",
      "change settings"};
  return kNames[static_cast<int>(act)];
}

std::string_view NameOf(Setting setting) {
  constexpr std::string_view kNames[] = {"", " [A open]", " [A: only admins create private]",
                                         " [A: members post announcements]"};
  return kNames[static_cast<int>(setting)];
}

std::string_view NameOf(Want want) {
  constexpr std::string_view kNames[] = {"ok", "no-op", "forbidden", "not_found",
                                         "not_found, as if it did not exist"};
  return kNames[static_cast<int>(want)];
}
// clang-format on

std::string Describe(const Row& r) {
  std::string s = std::string(NameOf(r.actor)) + " / " + std::string(NameOf(r.act)) + " / " +
                  std::string(NameOf(r.target));
  if (r.subject != Who::kNone) s += " / user " + std::string(NameOf(r.subject));
  s += NameOf(r.setting);
  if (r.since_post != kMinuteMs) s += " [" + std::to_string(r.since_post) + " ms after posting]";
  return s;
}

// What a request came to: an event, a no-op, or an error.
struct Got {
  bool ok = false;
  std::string event;  // the event's name, or "query" for an allowed query; empty for a no-op
  Error error;

  std::string ToString() const {
    if (ok) return event.empty() ? "ok/no-op" : "ok (" + event + ")";
    return std::string(ErrorCodeName(error.code)) + " [" + error.details + "] \"" + error.message +
           "\"";
  }
};

Got FromStatus(const Status& s) {
  return s.ok() ? Got{true, "query", {}} : Got{false, "", s.error()};
}

Got FromDecision(const Result<std::optional<Event>>& r) {
  if (!r.ok()) return Got{false, "", r.error()};
  return Got{true, r->has_value() ? std::string(EventName(TagOf(**r))) : "", {}};
}

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override { BuildWorkspaces(); }

  // Decides and applies `c` at kT0; setup must not fail.
  template <class E>
  E Do(const Command& c) {
    Context ctx{kT0, &ids_};
    Result<std::optional<Event>> r = Decide(state_, c, ctx);
    if (!r.ok() || !r->has_value() || !std::holds_alternative<E>(**r)) {
      ADD_FAILURE() << "setup command " << c.index() << ": " << FromDecision(r).ToString();
      return E{};
    }
    state_.Apply(**r);
    return std::get<E>(**r);
  }

  void BuildWorkspaces() {
    using enum Who;
    const WorkspaceCreated a = Do<WorkspaceCreated>(CreateWorkspace{Id(kOwner), "Acme"});
    const WorkspaceCreated b = Do<WorkspaceCreated>(CreateWorkspace{Id(kOutsider), "Beta"});
    workspace_a_ = a.workspace_id;
    workspace_b_ = b.workspace_id;
    channels_[Target::kGeneral] = a.general_id;
    channels_[Target::kRandom] = a.random_id;
    // Staff join while A is open; then it is invite-only again, as it was created.
    Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{Id(kOwner), workspace_a_, true});
    for (Who who : {kAdmin, kAdmin2, kMember, kMember2, kDeactivated}) {
      Do<WorkspaceJoined>(JoinWorkspace{Id(who), workspace_a_});
    }
    Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{Id(kOwner), workspace_a_, false});
    for (Who who : {kAdmin, kAdmin2}) {
      Do<RoleChanged>(SetMemberRole{Id(kOwner), workspace_a_, Id(who), kAdminRole});
    }
    channels_[Target::kDev] = NewChannel(kMember, "dev", false);
    channels_[Target::kSecret] = NewChannel(kMember, "secret", true);
    channels_[Target::kOld] = NewChannel(kMember, "old", false);
    channels_[Target::kNews] = NewChannel(kOwner, "news", false);
    Do<ChannelUpdated>(UpdateChannel{Id(kOwner), Ch(Target::kNews), std::nullopt, true});
    Do<ChannelJoined>(JoinChannel{Id(kAdmin), Ch(Target::kNews)});
    Do<ChannelJoined>(JoinChannel{Id(kMember), Ch(Target::kNews)});
    Do<ChannelJoined>(JoinChannel{Id(kDeactivated), Ch(Target::kDev)});
    Do<ChannelMemberAdded>(AddChannelMember{Id(kMember), Ch(Target::kSecret), Id(kDeactivated)});
    // The guest comes by invite, to #dev alone.
    const InviteCreated invite =
        Do<InviteCreated>(CreateInvite{Id(kAdmin),
                                       workspace_a_,
                                       "Guest@Example.com",
                                       static_cast<uint8_t>(WorkspaceRole::kGuest),
                                       {Ch(Target::kDev)},
                                       "tok",
                                       0});
    Do<InviteAccepted>(
        AcceptInvite{Id(kGuest), "guest@example.com", workspace_a_, invite.invite_id, "tok"});
    // Message 1 of every channel of A, by one of its members.
    Post(kMember, Target::kGeneral);
    Post(kOwner, Target::kRandom);
    Post(kMember, Target::kDev);
    Post(kMember, Target::kSecret);
    Post(kMember, Target::kOld);
    Post(kOwner, Target::kNews);
    Post(kDeactivated, Target::kDev);  // message 2 of #dev
    Do<ChannelUpdated>(UpdateChannel{Id(kMember), Ch(Target::kOld), true, std::nullopt});
    Do<MemberActiveChanged>(SetMemberActive{Id(kAdmin), workspace_a_, Id(kDeactivated), false});
  }

  static constexpr uint8_t kAdminRole = static_cast<uint8_t>(WorkspaceRole::kAdmin);
  static constexpr uint8_t kMemberRole = static_cast<uint8_t>(WorkspaceRole::kMember);

  static UserId Id(Who who) {
    if (who == Who::kNone) return kStranger;
    return 1000 + static_cast<UserId>(who);
  }

  ChannelId NewChannel(Who creator, std::string name, bool is_private) {
    return Do<ChannelCreated>(CreateChannel{Id(creator), workspace_a_, std::move(name), is_private})
        .channel_id;
  }

  void Post(Who author, Target channel) {
    Do<MessagePosted>(
        PostMessage{Id(author), Ch(channel), "", "hello from " + std::string(NameOf(author))});
  }

  ChannelId Ch(Target t) const {
    auto it = channels_.find(t);
    return it == channels_.end() ? kMissingChannel : it->second;
  }

  WorkspaceId Ws(Target t) const {
    if (t == Target::kA) return workspace_a_;
    if (t == Target::kB) return workspace_b_;
    return kMissingWorkspace;
  }

  // state_, with A's settings changed as the row asks.
  ShardState StateFor(Setting setting) {
    ShardState state = state_;
    WorkspaceSettingsChanged e{workspace_a_, false, true, false, Id(Who::kOwner), kT0};
    switch (setting) {
      case Setting::kDefault:
        return state;
      case Setting::kJoinOpen:
        e.join_open = true;
        break;
      case Setting::kAdminsCreatePrivate:
        e.members_create_private = false;
        break;
      case Setting::kMembersPostAnnouncements:
        e.members_post_announcements = true;
        break;
    }
    state.Apply(e);
    return state;
  }

  // Runs the row's request, against `target` rather than the row's own when given.
  Got Run(const Row& r, std::optional<Target> target = std::nullopt) {
    const ShardState state = StateFor(r.setting);
    IdMinter ids(0, 1, state.max_minted());
    Context ctx{kT0 + r.since_post, &ids};
    const Target t = target.value_or(r.target);
    const UserId actor = Id(r.actor), user = Id(r.subject);
    const ChannelId ch = Ch(t);
    const WorkspaceId ws = Ws(t);
    auto decide = [&](const Command& c) { return FromDecision(Decide(state, c, ctx)); };
    switch (r.act) {
      case Act::kRead:
      case Act::kSubscribe:  // a subscription is allowed exactly when a read is
        return FromStatus(CheckCanRead(state, actor, ch));
      case Act::kPost:
        return decide(PostMessage{actor, ch, "", "hi"});
      case Act::kJoin:
        return decide(JoinChannel{actor, ch});
      case Act::kLeave:
        return decide(LeaveChannel{actor, ch});
      case Act::kCreatePublic:
        return decide(CreateChannel{actor, ws, "fresh", false});
      case Act::kCreatePrivate:
        return decide(CreateChannel{actor, ws, "fresh", true});
      case Act::kEdit:
        return decide(EditMessage{actor, ch, 1, "edited"});
      case Act::kDelete:
        return decide(DeleteMessage{actor, ch, 1});
      case Act::kArchive:
        return decide(UpdateChannel{actor, ch, true, std::nullopt});
      case Act::kUnarchive:
        return decide(UpdateChannel{actor, ch, false, std::nullopt});
      case Act::kAddMember:
        return decide(AddChannelMember{actor, ch, user});
      case Act::kList: {
        auto list = VisibleChannels(state, actor, ws);
        return list.ok() ? Got{true, "query", {}} : Got{false, "", list.error()};
      }
      case Act::kInvite:
        return decide(CreateInvite{actor, ws, "new@example.com", kMemberRole, {}, "t", 0});
      case Act::kMakeAdmin:
        return decide(SetMemberRole{actor, ws, user, kAdminRole});
      case Act::kMakeMember:
        return decide(SetMemberRole{actor, ws, user, kMemberRole});
      case Act::kTransfer:
        return decide(TransferOwnership{actor, ws, user});
      case Act::kDeactivate:
        return decide(SetMemberActive{actor, ws, user, false});
      case Act::kReactivate:
        return decide(SetMemberActive{actor, ws, user, true});
      case Act::kJoinWorkspace:
        return decide(JoinWorkspace{actor, ws});
      case Act::kSettings:
        return decide(UpdateWorkspaceSettings{actor, ws, true, false, true});
    }
    return Got{false, "", MakeError(ErrorCode::kInternal, "unknown action")};
  }

  // Empty when the row holds; otherwise why not.
  std::string Check(const Row& r) {
    const Got got = Run(r);
    bool holds = false;
    switch (r.want) {
      case Want::kOk:
        holds = got.ok && !got.event.empty();
        break;
      case Want::kNoOp:
        holds = got.ok && got.event.empty();
        break;
      case Want::kForbidden:
        holds = !got.ok && got.error.code == ErrorCode::kForbidden;
        break;
      case Want::kNotFound:
        holds = !got.ok && got.error.code == ErrorCode::kNotFound;
        break;
      case Want::kHidden: {
        const Got missing = Run(r, Target::kMissing);
        holds = !got.ok && !missing.ok && got.error.code == ErrorCode::kNotFound &&
                got.error.code == missing.error.code &&
                got.error.message == missing.error.message &&
                got.error.details == missing.error.details;
        if (!holds && !missing.ok) {
          return "got " + got.ToString() + "; a missing target gives " + missing.ToString();
        }
        break;
      }
    }
    return holds ? "" : "got " + got.ToString();
  }

  void CheckTable(const std::vector<Row>& rows) {
    for (size_t i = 0; i < rows.size(); ++i) {
      std::string why = Check(rows[i]);
      if (!why.empty()) {
        ADD_FAILURE() << "row " << i << ": " << Describe(rows[i]) << "\n  want "
                      << NameOf(rows[i].want) << "; " << why;
      }
    }
  }

  ShardState state_{0, 1};
  IdMinter ids_{0, 1, 0};
  WorkspaceId workspace_a_ = 0, workspace_b_ = 0;
  std::map<Target, ChannelId> channels_;
};

using enum Who;
using enum Target;
using enum Act;
using enum Want;
using enum Setting;

TEST_F(AccessTest, ChannelRules) {
  CheckTable({
      // Read (CheckCanRead), and subscribe, which is allowed exactly when a read is.
      {kOwner, kRead, kGeneral, kOk},
      {kMember2, kRead, kGeneral, kOk},
      {kGuest, kRead, kGeneral, kHidden},  // guests see only their channels
      {kGuest, kRead, kRandom, kHidden},
      {kGuest, kRead, kDev, kOk},
      {kGuest, kRead, kSecret, kHidden},
      {kGuest, kRead, kNews, kHidden},
      {kOwner, kRead, kRandom, kOk},
      {kMember2, kRead, kRandom, kForbidden},  // public, not joined
      {kMember, kRead, kDev, kOk},
      {kMember2, kRead, kDev, kForbidden},
      {kAdmin, kRead, kDev, kForbidden},
      {kMember, kRead, kSecret, kOk},
      {kMember2, kRead, kSecret, kHidden},
      {kAdmin, kRead, kSecret, kHidden},  // admins see private channels only from inside
      {kOwner, kRead, kSecret, kHidden},
      {kMember, kRead, kOld, kOk},  // archived channels stay readable
      {kMember2, kRead, kOld, kForbidden},
      {kMember, kRead, kNews, kOk},
      {kMember, kSubscribe, kDev, kOk},
      {kGuest, kSubscribe, kDev, kOk},
      {kGuest, kSubscribe, kGeneral, kHidden},
      {kMember2, kSubscribe, kRandom, kForbidden},
      {kMember2, kSubscribe, kSecret, kHidden},

      // Post.
      {kMember, kPost, kGeneral, kOk},
      {kGuest, kPost, kGeneral, kHidden},
      {kGuest, kPost, kDev, kOk},
      {kMember2, kPost, kDev, kForbidden},  // join first
      {kMember, kPost, kSecret, kOk},
      {kMember2, kPost, kSecret, kHidden},
      {kMember, kPost, kOld, kForbidden},   // archived: read-only
      {kMember, kPost, kNews, kForbidden},  // announcement: admins only by default
      {kMember, kPost, kNews, kOk, kNone, kMembersPostAnnouncements},
      {kAdmin, kPost, kNews, kOk},
      {kOwner, kPost, kNews, kOk},
      {kAdmin, kPost, kNews, kOk, kNone, kMembersPostAnnouncements},
      {kMember2, kPost, kNews, kForbidden, kNone, kMembersPostAnnouncements},  // not joined
      {kGuest, kPost, kNews, kHidden},

      // Join.
      {kMember2, kJoin, kDev, kOk},
      {kMember, kJoin, kDev, kNoOp},
      {kGuest, kJoin, kDev, kNoOp},
      {kGuest, kJoin, kRandom, kHidden},
      {kGuest, kJoin, kGeneral, kHidden},
      {kMember2, kJoin, kSecret, kHidden},
      {kAdmin, kJoin, kSecret, kHidden},
      {kMember2, kJoin, kOld, kForbidden},  // archived
      {kMember, kJoin, kOld, kNoOp},
      {kMember2, kJoin, kNews, kOk},

      // Leave.
      {kMember, kLeave, kGeneral, kForbidden},  // everyone stays in #general
      {kOwner, kLeave, kGeneral, kForbidden},
      {kGuest, kLeave, kDev, kOk},
      {kMember, kLeave, kDev, kOk},
      {kMember2, kLeave, kDev, kNoOp},
      {kMember, kLeave, kSecret, kOk},
      {kMember2, kLeave, kSecret, kHidden},
      {kMember, kLeave, kOld, kOk},
      {kOwner, kLeave, kRandom, kOk},
  });
}

TEST_F(AccessTest, MessageRules) {
  CheckTable({
      // Edit: the author, for five minutes.
      {kMember, kEdit, kDev, kOk},
      {kMember, kEdit, kDev, kOk, kNone, kDefault, kEditWindowMs},
      {kMember, kEdit, kDev, kForbidden, kNone, kDefault, kEditWindowMs + 1},
      {kMember, kEdit, kDev, kForbidden, kNone, kDefault, kDayMs},
      {kMember2, kEdit, kDev, kForbidden},
      {kAdmin, kEdit, kDev, kForbidden},  // admins delete, they do not rewrite
      {kOwner, kEdit, kDev, kForbidden},
      {kGuest, kEdit, kDev, kForbidden},
      {kMember, kEdit, kSecret, kOk},
      {kMember2, kEdit, kSecret, kHidden},
      {kMember, kEdit, kOld, kForbidden},  // archived

      // Delete: the author (at any time) or an admin.
      {kMember, kDelete, kDev, kOk},
      {kMember, kDelete, kDev, kOk, kNone, kDefault, kDayMs},
      {kAdmin, kDelete, kDev, kOk},
      {kAdmin2, kDelete, kDev, kOk},
      {kOwner, kDelete, kDev, kOk},
      {kMember2, kDelete, kDev, kForbidden},
      {kGuest, kDelete, kDev, kForbidden},
      {kMember, kDelete, kSecret, kOk},
      {kAdmin, kDelete, kSecret, kHidden},
      {kMember2, kDelete, kSecret, kHidden},
      {kAdmin, kDelete, kOld, kForbidden},  // archived
  });
}

TEST_F(AccessTest, ChannelAdministrationRules) {
  CheckTable({
      // Create, with members_create_private on (the default) and off.
      {kMember, kCreatePublic, kA, kOk},
      {kMember, kCreatePrivate, kA, kOk},
      {kMember, kCreatePublic, kA, kOk, kNone, kAdminsCreatePrivate},
      {kMember, kCreatePrivate, kA, kForbidden, kNone, kAdminsCreatePrivate},
      {kAdmin, kCreatePrivate, kA, kOk, kNone, kAdminsCreatePrivate},
      {kOwner, kCreatePrivate, kA, kOk, kNone, kAdminsCreatePrivate},
      {kGuest, kCreatePublic, kA, kForbidden},
      {kGuest, kCreatePrivate, kA, kForbidden},
      {kMember, kCreatePublic, kB, kHidden},
      {kOutsider, kCreatePublic, kB, kOk},

      // Archive and unarchive: admins and the channel's creator.
      {kAdmin, kArchive, kDev, kOk},
      {kOwner, kArchive, kDev, kOk},
      {kMember, kArchive, kDev, kOk},  // the creator
      {kMember2, kArchive, kDev, kForbidden},
      {kGuest, kArchive, kDev, kForbidden},
      {kOwner, kArchive, kGeneral, kForbidden},  // never #general
      {kAdmin, kArchive, kGeneral, kForbidden},
      {kMember, kArchive, kSecret, kOk},
      {kAdmin, kArchive, kSecret, kHidden},
      {kAdmin, kArchive, kOld, kNoOp},
      {kAdmin, kUnarchive, kOld, kOk},
      {kOwner, kUnarchive, kOld, kOk},
      {kMember, kUnarchive, kOld, kOk},  // the creator
      {kMember2, kUnarchive, kOld, kForbidden},
      {kGuest, kUnarchive, kOld, kHidden},
      {kAdmin, kUnarchive, kDev, kNoOp},

      // Add a member: any non-guest member of the channel, or an admin.
      {kMember, kAddMember, kDev, kOk, kMember2},
      {kMember, kAddMember, kSecret, kOk, kGuest},  // a member adds a guest to their channel
      {kMember, kAddMember, kSecret, kOk, kMember2},
      {kMember, kAddMember, kDev, kNoOp, kGuest},
      {kGuest, kAddMember, kDev, kForbidden, kMember2},  // guests cannot add
      {kMember2, kAddMember, kDev, kForbidden, kGuest},  // not in the channel
      {kAdmin, kAddMember, kDev, kOk, kMember2},
      {kMember2, kAddMember, kSecret, kHidden, kGuest},
      {kMember, kAddMember, kDev, kNotFound, kOutsider},  // not in the workspace
      {kMember, kAddMember, kDev, kNotFound, kNone},      // not anywhere
      {kMember, kAddMember, kDev, kNotFound, kDeactivated},
      {kMember, kAddMember, kOld, kForbidden, kMember2},  // archived
  });
}

TEST_F(AccessTest, WorkspaceAdministrationRules) {
  CheckTable({
      // Invites: owner and admins.
      {kAdmin, kInvite, kA, kOk},
      {kAdmin2, kInvite, kA, kOk},
      {kOwner, kInvite, kA, kOk},
      {kMember, kInvite, kA, kForbidden},
      {kGuest, kInvite, kA, kForbidden},
      {kMember, kInvite, kB, kHidden},

      // Settings: owner and admins.
      {kAdmin, kSettings, kA, kOk},
      {kOwner, kSettings, kA, kOk},
      {kMember, kSettings, kA, kForbidden},
      {kGuest, kSettings, kA, kForbidden},
      {kAdmin, kSettings, kB, kHidden},

      // Roles: the owner alone.
      {kOwner, kMakeAdmin, kA, kOk, kMember},
      {kOwner, kMakeMember, kA, kOk, kAdmin},
      {kOwner, kMakeAdmin, kA, kNoOp, kAdmin},
      {kOwner, kMakeAdmin, kA, kForbidden, kOwner},  // not on oneself
      {kOwner, kMakeAdmin, kA, kForbidden, kGuest},
      {kOwner, kMakeAdmin, kA, kNotFound, kOutsider},
      {kAdmin, kMakeAdmin, kA, kForbidden, kMember},
      {kAdmin, kMakeMember, kA, kForbidden, kAdmin2},
      {kMember, kMakeAdmin, kA, kForbidden, kMember2},
      {kGuest, kMakeAdmin, kA, kForbidden, kGuest},

      // Ownership: the owner hands it to an active full member.
      {kOwner, kTransfer, kA, kOk, kMember},
      {kOwner, kTransfer, kA, kOk, kAdmin},
      {kOwner, kTransfer, kA, kForbidden, kOwner},
      {kOwner, kTransfer, kA, kForbidden, kGuest},
      {kOwner, kTransfer, kA, kForbidden, kDeactivated},
      {kOwner, kTransfer, kA, kNotFound, kOutsider},
      {kAdmin, kTransfer, kA, kForbidden, kMember},
      {kMember, kTransfer, kA, kForbidden, kMember2},

      // Deactivation: admins deactivate members and guests, the owner also admins, nobody the
      // owner.
      {kAdmin, kDeactivate, kA, kOk, kMember},
      {kAdmin, kDeactivate, kA, kOk, kGuest},
      {kAdmin, kDeactivate, kA, kForbidden, kAdmin2},
      {kAdmin, kDeactivate, kA, kForbidden, kAdmin},  // not on oneself
      {kOwner, kDeactivate, kA, kOk, kAdmin},
      {kAdmin, kDeactivate, kA, kForbidden, kOwner},
      {kOwner, kDeactivate, kA, kForbidden, kOwner},
      {kMember, kDeactivate, kA, kForbidden, kMember2},
      {kGuest, kDeactivate, kA, kForbidden, kMember},
      {kAdmin, kDeactivate, kA, kNotFound, kOutsider},
      {kAdmin, kDeactivate, kA, kNoOp, kDeactivated},
      {kAdmin, kReactivate, kA, kOk, kDeactivated},
      {kAdmin, kReactivate, kA, kNoOp, kMember},
      {kMember, kReactivate, kA, kForbidden, kDeactivated},

      // Joining: open workspaces only; a deactivated member cannot rejoin.
      {kOutsider, kJoinWorkspace, kA, kHidden},  // invite-only
      {kOutsider, kJoinWorkspace, kA, kOk, kNone, kJoinOpen},
      {kDeactivated, kJoinWorkspace, kA, kForbidden, kNone, kJoinOpen},
      {kDeactivated, kJoinWorkspace, kA, kForbidden},
      {kMember, kJoinWorkspace, kA, kNoOp},
      {kGuest, kJoinWorkspace, kA, kNoOp},
      {kOwner, kJoinWorkspace, kA, kNoOp},
      {kOutsider, kJoinWorkspace, kB, kNoOp},
      {kMember, kJoinWorkspace, kB, kHidden},
  });
}

// The outsider (a member of B only) and the deactivated member of A learn nothing about A: every
// request about A or one of its channels fails as for one that does not exist. The exception is
// the deactivated member's JoinWorkspace (WorkspaceAdministrationRules): they know A, and are
// told they may not come back.
TEST_F(AccessTest, OutsiderAndDeactivatedMemberFindNothingInA) {
  const std::vector<Act> channel_acts = {kRead, kSubscribe, kPost,    kJoin,      kLeave,
                                         kEdit, kDelete,    kArchive, kUnarchive, kAddMember};
  const std::vector<Act> workspace_acts = {kCreatePublic, kCreatePrivate, kList,
                                           kInvite,       kMakeAdmin,     kMakeMember,
                                           kTransfer,     kDeactivate,    kSettings};
  std::vector<Row> rows;
  for (Who who : {kOutsider, kDeactivated}) {
    for (Setting setting : {kDefault, kJoinOpen}) {
      for (Target channel : {kGeneral, kRandom, kDev, kSecret, kOld, kNews}) {
        for (Act act : channel_acts)
          rows.push_back({who, act, channel, kHidden, kMember2, setting});
      }
      for (Act act : workspace_acts) rows.push_back({who, act, kA, kHidden, kMember, setting});
      rows.push_back({who, kReactivate, kA, kHidden, kDeactivated, setting});
    }
  }
  CheckTable(rows);
}

TEST_F(AccessTest, VisibleChannelsTable) {
  struct ListRow {
    Who actor;
    Target workspace;
    std::vector<std::string> want;  // names in creation order
    bool hidden = false;
  };
  const std::vector<std::string> kPublic = {"general", "random", "dev", "old", "news"};
  const std::vector<ListRow> rows = {
      {kOwner, kA, kPublic},
      {kAdmin, kA, kPublic},  // #secret stays hidden from admins outside it
      {kMember, kA, {"general", "random", "dev", "secret", "old", "news"}},
      {kMember2, kA, kPublic},
      {kGuest, kA, {"dev"}},
      {kDeactivated, kA, {}, true},
      {kOutsider, kA, {}, true},
      {kOutsider, kB, {"general", "random"}},
      {kMember, kB, {}, true},
  };
  const Result<std::vector<const ChannelState*>> missing =
      VisibleChannels(state_, Id(kMember), kMissingWorkspace);
  ASSERT_FALSE(missing.ok());
  for (const ListRow& r : rows) {
    SCOPED_TRACE(std::string(NameOf(r.actor)) + " / list channels / " +
                 std::string(NameOf(r.workspace)));
    Result<std::vector<const ChannelState*>> got =
        VisibleChannels(state_, Id(r.actor), Ws(r.workspace));
    if (r.hidden) {
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
      EXPECT_EQ(got.error().message, missing.error().message);
      EXPECT_EQ(got.error().details, missing.error().details);
      continue;
    }
    ASSERT_TRUE(got.ok()) << got.error().message;
    std::vector<std::string> names;
    for (const ChannelState* c : *got) names.push_back(c->name);
    EXPECT_EQ(names, r.want);
  }
}

TEST_F(AccessTest, GuestAddedToAChannelSeesIt) {
  Do<ChannelMemberAdded>(AddChannelMember{Id(kMember), Ch(kSecret), Id(kGuest)});
  Result<std::vector<const ChannelState*>> got = VisibleChannels(state_, Id(kGuest), Ws(kA));
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0]->name, "dev");
  EXPECT_EQ((*got)[1]->name, "secret");
  EXPECT_TRUE(CheckCanRead(state_, Id(kGuest), Ch(kSecret)).ok());
}

// What the shard subscribes a user to at sign-in and lists as their workspaces.
TEST_F(AccessTest, MembershipQueriesLeaveOutWhatAUserCannotSee) {
  EXPECT_EQ(state_.WorkspacesOf(Id(kOutsider)), std::vector<WorkspaceId>{Ws(kB)});
  EXPECT_EQ(state_.WorkspacesOf(Id(kGuest)), std::vector<WorkspaceId>{Ws(kA)});
  EXPECT_EQ(state_.ChannelsOf(Id(kGuest)), std::vector<ChannelId>{Ch(kDev)});
  // Still a member of #general, #dev and #secret on record, but deactivated.
  EXPECT_TRUE(state_.FindChannel(Ch(kDev))->IsMember(Id(kDeactivated)));
  EXPECT_TRUE(state_.WorkspacesOf(Id(kDeactivated)).empty());
  EXPECT_TRUE(state_.ChannelsOf(Id(kDeactivated)).empty());
}

TEST_F(AccessTest, DeactivationTakesEffectAtOnceAndReactivationRestoresAccess) {
  ASSERT_TRUE(CheckCanRead(state_, Id(kMember), Ch(kSecret)).ok());
  Do<MemberActiveChanged>(SetMemberActive{Id(kAdmin), Ws(kA), Id(kMember), false});
  const Status gone = CheckCanRead(state_, Id(kMember), Ch(kSecret));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  // Their own message, inside the edit window, is out of reach too.
  Context ctx{kT0 + kMinuteMs, &ids_};
  Result<std::optional<Event>> edit =
      Decide(state_, EditMessage{Id(kMember), Ch(kDev), 1, "edited"}, ctx);
  ASSERT_FALSE(edit.ok());
  EXPECT_EQ(edit.error().code, ErrorCode::kNotFound);
  Do<MemberActiveChanged>(SetMemberActive{Id(kAdmin), Ws(kA), Id(kMember), true});
  EXPECT_TRUE(CheckCanRead(state_, Id(kMember), Ch(kSecret)).ok());
  EXPECT_EQ(state_.FindWorkspace(Ws(kA))->RoleOf(Id(kMember)), WorkspaceRole::kMember);
}

// An invite's channels are joined on acceptance, so an inviter names only channels they could add
// someone to themselves: not a private channel they are outside of (hidden as if missing), not a
// channel of another workspace.
TEST_F(AccessTest, InviteNamesOnlyChannelsTheInviterCanSee) {
  struct Case {
    Who inviter;
    ChannelId channel;
    bool ok;
  };
  const WorkspaceState& b = *state_.FindWorkspace(Ws(kB));
  const std::vector<Case> cases = {
      {kAdmin, Ch(kDev), true},     {kAdmin, Ch(kRandom), true},   {kAdmin, Ch(kSecret), false},
      {kOwner, Ch(kSecret), false}, {kAdmin, b.general_id, false}, {kAdmin, kMissingChannel, false},
  };
  Context ctx{kT0, &ids_};
  Result<std::optional<Event>> missing = Decide(
      state_, CreateInvite{Id(kAdmin), Ws(kA), "g@example.com", 4, {kMissingChannel}, "t", 0}, ctx);
  ASSERT_FALSE(missing.ok());
  for (const Case& t : cases) {
    SCOPED_TRACE(std::string(NameOf(t.inviter)) + " invites a guest to channel " +
                 std::to_string(t.channel));
    Result<std::optional<Event>> r = Decide(
        state_, CreateInvite{Id(t.inviter), Ws(kA), "g@example.com", 4, {t.channel}, "t", 0}, ctx);
    if (t.ok) {
      EXPECT_TRUE(r.ok()) << FromDecision(r).ToString();
      continue;
    }
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
    EXPECT_EQ(r.error().message, missing.error().message);
    EXPECT_EQ(r.error().details, missing.error().details);
  }
  // A member of #secret who is an admin may name it.
  Do<RoleChanged>(SetMemberRole{Id(kOwner), Ws(kA), Id(kMember), kAdminRole});
  EXPECT_TRUE(Decide(state_,
                     CreateInvite{Id(kMember), Ws(kA), "g@example.com", 4, {Ch(kSecret)}, "t", 0},
                     ctx)
                  .ok());
}

TEST_F(AccessTest, DemotedAdminLosesAdminRights) {
  Do<RoleChanged>(SetMemberRole{Id(kOwner), Ws(kA), Id(kAdmin), kMemberRole});
  CheckTable({
      {kAdmin, kInvite, kA, kForbidden},
      {kAdmin, kDelete, kDev, kForbidden},
      {kAdmin, kArchive, kDev, kForbidden},
      {kAdmin, kPost, kNews, kForbidden},
  });
}

TEST_F(AccessTest, FormerOwnerIsAnAdminAfterTransfer) {
  Do<OwnershipTransferred>(TransferOwnership{Id(kOwner), Ws(kA), Id(kMember)});
  CheckTable({
      {kMember, kMakeAdmin, kA, kOk, kMember2},
      {kOwner, kMakeAdmin, kA, kForbidden, kMember2},
      {kOwner, kInvite, kA, kOk},
      {kAdmin, kDeactivate, kA, kForbidden, kOwner},  // an admin now: only the owner may
      {kMember, kDeactivate, kA, kOk, kOwner},
  });
}

}  // namespace
}  // namespace parley
