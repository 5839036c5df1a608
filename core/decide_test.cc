#include "core/decide.h"
#include "core/decision_matchers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace parley {
namespace {

using namespace testing_matchers;

constexpr TimeMs kNow = 1'700'000'000'123;
// Users are minted on the shard of their email, usually another one: these ids are never minted
// by the state under test.
constexpr UserId kAlice = 1001;  // creates the workspace
constexpr UserId kBob = 1002;    // joins it
constexpr UserId kCarol = 1003;  // never joins


class DecideTest : public ::testing::Test {
 protected:
  Decision Try(const Command& c) { return Decide(state_, c, ctx_); }

  // Decides `c`, which must produce an event of type E, and applies it.
  template <class E>
  E Do(const Command& c) {
    E e = EventOf<E>(Try(c));
    state_.Apply(e);
    return e;
  }

  // Opens `ws` to anyone signed in (workspaces are invite-only when created). Mints no id.
  void OpenWorkspace(WorkspaceId ws) {
    Do<WorkspaceSettingsChanged>(UpdateWorkspaceSettings{kAlice, ws, /*join_open=*/true});
  }

  // Alice's workspace "Acme", opened, which Bob has joined.
  const WorkspaceCreated& Acme() {
    if (acme_.workspace_id == 0) {
      acme_ = Do<WorkspaceCreated>(CreateWorkspace{kAlice, "Acme"});
      OpenWorkspace(acme_.workspace_id);
      Do<WorkspaceJoined>(JoinWorkspace{kBob, acme_.workspace_id});
    }
    return acme_;
  }

  ChannelId NewChannel(std::string name, bool is_private = false, UserId creator = kAlice) {
    return Do<ChannelCreated>(CreateChannel{creator, Acme().workspace_id, name, is_private})
        .channel_id;
  }

  ShardState state_{0, 1};
  IdMinter ids_{0, 1, 0};
  Context ctx_{kNow, &ids_};
  WorkspaceCreated acme_;
};

RegisterUser ValidRegistration() {
  // The hash names its algorithm and parameters; only the legacy format had a salt beside it.
  return RegisterUser{"alice@example.com", "Alice", "correct horse", "", "scrypt$hash"};
}

// ---- Text helpers -----------------------------------------------------------------------------

TEST(IsValidUtf8Test, AcceptsWellFormedText) {
  const std::vector<std::string> valid = {
      "",
      "plain ascii",
      std::string("nul\0inside", 10),
      "\xc2\x80" /* U+0080 */,
      "\xc3\xa9",          // U+00E9
      "\xe0\xa0\x80",      // U+0800, shortest 3-byte
      "\xed\x9f\xbf",      // U+D7FF, just below the surrogates
      "\xee\x80\x80",      // U+E000, just above them
      "\xe2\x82\xac",      // U+20AC
      "\xf0\x90\x80\x80",  // U+10000, shortest 4-byte
      "\xf0\x9f\x98\x80",  // U+1F600
      "\xf4\x8f\xbf\xbf",  // U+10FFFF, the last code point
  };
  for (const std::string& s : valid) EXPECT_TRUE(IsValidUtf8(s)) << testing::PrintToString(s);
}

TEST(IsValidUtf8Test, RejectsMalformedText) {
  const std::vector<std::string> invalid = {
      "\x80",                  // lone continuation byte
      "a\xbfz",                // continuation byte mid-text
      "\xc0\xaf",              // overlong '/'
      "\xc1\xbf",              // overlong U+007F
      "\xe0\x80\xaf",          // overlong 3-byte '/'
      "\xe0\x9f\xbf",          // overlong U+07FF
      "\xf0\x8f\xbf\xbf",      // overlong U+FFFF
      "\xed\xa0\x80",          // U+D800, a surrogate
      "\xed\xbf\xbf",          // U+DFFF, a surrogate
      "\xf4\x90\x80\x80",      // U+110000, above the last code point
      "\xf5\x80\x80\x80",      // lead byte beyond U+10FFFF
      "\xf8\x88\x80\x80\x80",  // 5-byte form
      "\xfe",                  // never used in UTF-8
      "\xff",                  // never used in UTF-8
      "\xc3",                  // truncated 2-byte at end
      "\xe2\x82",              // truncated 3-byte at end
      "\xf0\x9f\x98",          // truncated 4-byte at end
      "a\xe2\x82z",            // truncated 3-byte mid-text
      "\xc3"
      "A",  // lead byte followed by ASCII
  };
  for (const std::string& s : invalid) EXPECT_FALSE(IsValidUtf8(s)) << testing::PrintToString(s);
}

TEST(NormaliseEmailTest, TrimsAndLowercasesAscii) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"alice@example.com", "alice@example.com"},
      {"  Alice@Example.COM \t\n", "alice@example.com"},
      {"a.b+tag@mail.example.co.uk", "a.b+tag@mail.example.co.uk"},
      {"\xc3\x9cser@b\xc3\xbc"
       "cher.de",
       "\xc3\x9cser@b\xc3\xbc"
       "cher.de"},  // only ASCII folds
  };
  for (const auto& [raw, want] : cases) {
    Result<std::string> got = NormaliseEmail(raw);
    ASSERT_TRUE(got.ok()) << raw << ": " << got.error().message;
    EXPECT_EQ(*got, want);
  }
}

TEST(NormaliseEmailTest, AcceptsExactlyMaxBytes) {
  std::string email = std::string(kMaxEmailBytes - 6, 'a') + "@b.com";
  ASSERT_EQ(email.size(), kMaxEmailBytes);
  EXPECT_TRUE(NormaliseEmail(email).ok());
}

TEST(NormaliseEmailTest, RejectsMalformedAddresses) {
  const std::vector<std::string> invalid = {
      "",
      "   ",
      "alice",
      "alice@@example.com",
      "a@b@example.com",
      "@example.com",
      "alice@",
      "alice@example",
      "alice@.example.com",
      "alice@example.com.",
      "al ice@example.com",
      "alice@exa\tmple.com",
      "alice\x01@example.com",
      "alice@example.com\x7f",
      "\xff"
      "alice@example.com",
      std::string(kMaxEmailBytes - 5, 'a') + "@b.com",  // one byte over
  };
  for (const std::string& raw : invalid) {
    EXPECT_TRUE(IsError(NormaliseEmail(raw), ErrorCode::kInvalidArgument, "email"))
        << testing::PrintToString(raw);
  }
}

// ---- RegisterUser -----------------------------------------------------------------------------

TEST_F(DecideTest, RegisterUserEmitsNormalisedUser) {
  RegisterUser c = ValidRegistration();
  c.email = " Alice@Example.com ";
  c.display_name = "  Alice Liddell ";
  UserRegistered e = EventOf<UserRegistered>(Try(c));
  EXPECT_EQ(e.user_id, MintId(1, 0, 1));
  EXPECT_EQ(e.email, "alice@example.com");
  EXPECT_EQ(e.display_name, "Alice Liddell");
  EXPECT_EQ(e.password_salt, "");
  EXPECT_EQ(e.password_hash, "scrypt$hash");
  EXPECT_EQ(e.at, kNow);
}

TEST_F(DecideTest, RegisterUserRejectsEmailTakenInAnyCase) {
  Do<UserRegistered>(ValidRegistration());
  RegisterUser again = ValidRegistration();
  again.email = "ALICE@example.com";
  EXPECT_TRUE(IsError(Try(again), ErrorCode::kAlreadyExists, "email"));
}

TEST_F(DecideTest, RegisterUserRejectsMalformedEmail) {
  RegisterUser c = ValidRegistration();
  c.email = "not-an-email";
  EXPECT_TRUE(IsError(Try(c), ErrorCode::kInvalidArgument, "email"));
}

TEST_F(DecideTest, RegisterUserRejectsBadDisplayNames) {
  const std::vector<std::string> invalid = {
      "",
      " \t ",
      std::string(kMaxDisplayNameBytes + 1, 'x'),
      "Al\xff",
      "Al\x07ice",
      "Alice\nLiddell",
      "Alice\xc2\x85",  // U+0085, a C1 control
  };
  for (const std::string& name : invalid) {
    RegisterUser c = ValidRegistration();
    c.display_name = name;
    EXPECT_TRUE(IsError(Try(c), ErrorCode::kInvalidArgument, "display_name"))
        << testing::PrintToString(name);
  }
}

TEST_F(DecideTest, RegisterUserAcceptsMaxLengthUnicodeDisplayName) {
  RegisterUser c = ValidRegistration();
  c.display_name = std::string(kMaxDisplayNameBytes - 2, 'x') + "\xc3\xa9";
  EXPECT_EQ(EventOf<UserRegistered>(Try(c)).display_name, c.display_name);
}

TEST_F(DecideTest, RegisterUserAppliesPasswordLengthPolicy) {
  struct Case {
    size_t bytes;
    bool ok;
  };
  for (Case t : {Case{kMinPasswordBytes - 1, false}, Case{kMinPasswordBytes, true},
                 Case{kMaxPasswordBytes, true}, Case{kMaxPasswordBytes + 1, false}}) {
    RegisterUser c = ValidRegistration();
    c.password = std::string(t.bytes, 'p');
    Decision r = Try(c);
    if (t.ok) {
      EXPECT_TRUE(r.ok()) << t.bytes;
    } else {
      EXPECT_TRUE(IsError(r, ErrorCode::kInvalidArgument, "password")) << t.bytes;
    }
  }
}

TEST_F(DecideTest, RegisterUserNeedsAHashButNoSalt) {
  EXPECT_TRUE(Try(ValidRegistration()).ok());  // no salt
  RegisterUser no_hash = ValidRegistration();
  no_hash.password_hash.clear();
  EXPECT_TRUE(IsError(Try(no_hash), ErrorCode::kInvalidArgument, "password_hash"));
}

TEST_F(DecideTest, RegisterUserKeepsALegacySalt) {
  RegisterUser legacy = ValidRegistration();
  legacy.password_salt = "salt";
  legacy.password_hash = "pbkdf2-hash";
  UserRegistered e = EventOf<UserRegistered>(Try(legacy));
  EXPECT_EQ(e.password_salt, "salt");
  EXPECT_EQ(e.password_hash, "pbkdf2-hash");
}

TEST_F(DecideTest, RegisterUserAppliesPasswordPolicy) {
  for (std::string password : {"alice@example.com", "ALICE@EXAMPLE.COM", "qwertyuiop"}) {
    RegisterUser c = ValidRegistration();
    c.password = password;
    EXPECT_TRUE(IsError(Try(c), ErrorCode::kInvalidArgument, "password")) << password;
  }
}

TEST_F(DecideTest, RegisterUserWithOpenIdHasNoPassword) {
  RegisterUser oidc{"alice@example.com", "Alice", "", "", "", /*oidc=*/true};
  UserRegistered e = EventOf<UserRegistered>(Try(oidc));
  EXPECT_EQ(e.password_hash, "");
  EXPECT_EQ(e.password_salt, "");
  RegisterUser with_password = ValidRegistration();
  with_password.oidc = true;
  EXPECT_TRUE(IsError(Try(with_password), ErrorCode::kInvalidArgument, "password"));
  RegisterUser with_hash = oidc;
  with_hash.password_hash = "scrypt$hash";
  EXPECT_TRUE(IsError(Try(with_hash), ErrorCode::kInvalidArgument, "password"));
}

TEST_F(DecideTest, RejectedCommandMintsNoId) {
  RegisterUser bad = ValidRegistration();
  bad.password = "short";
  ASSERT_FALSE(Try(bad).ok());
  EXPECT_EQ(EventOf<UserRegistered>(Try(ValidRegistration())).user_id, MintId(1, 0, 1));
}

// ---- Workspaces -------------------------------------------------------------------------------

TEST_F(DecideTest, CreateWorkspaceMintsWorkspaceThenGeneralThenRandom) {
  IdMinter ids(2, 4, 10);  // shard 2 of 4, ten ids already minted
  ctx_.ids = &ids;
  WorkspaceCreated e = EventOf<WorkspaceCreated>(Try(CreateWorkspace{kAlice, "  Acme Corp "}));
  EXPECT_EQ(e.workspace_id, MintId(11, 2, 4));
  EXPECT_EQ(e.general_id, MintId(12, 2, 4));
  EXPECT_EQ(e.random_id, MintId(13, 2, 4));
  EXPECT_EQ(e.name, "Acme Corp");
  EXPECT_EQ(e.owner_id, kAlice);
  EXPECT_EQ(e.at, kNow);
}

TEST_F(DecideTest, CreateWorkspaceRequiresSignedInActor) {
  EXPECT_TRUE(IsError(Try(CreateWorkspace{kNoId, "Acme"}), ErrorCode::kUnauthenticated, "actor"));
}

TEST_F(DecideTest, CreateWorkspaceRejectsBadNames) {
  const std::vector<std::string> invalid = {"", "   ", std::string(kMaxNameBytes + 1, 'w'),
                                            "Ac\xc0\xafme", "Ac\tme"};
  for (const std::string& name : invalid) {
    EXPECT_TRUE(IsError(Try(CreateWorkspace{kAlice, name}), ErrorCode::kInvalidArgument, "name"))
        << testing::PrintToString(name);
  }
}

TEST_F(DecideTest, CreateWorkspaceAcceptsMaxLengthName) {
  std::string name(kMaxNameBytes, 'w');
  EXPECT_EQ(EventOf<WorkspaceCreated>(Try(CreateWorkspace{kAlice, name})).name, name);
}

TEST_F(DecideTest, JoinWorkspaceEmitsJoin) {
  WorkspaceId ws = Do<WorkspaceCreated>(CreateWorkspace{kAlice, "Acme"}).workspace_id;
  OpenWorkspace(ws);
  WorkspaceJoined e = EventOf<WorkspaceJoined>(Try(JoinWorkspace{kBob, ws}));
  EXPECT_EQ(e.workspace_id, ws);
  EXPECT_EQ(e.user_id, kBob);
  EXPECT_EQ(e.at, kNow);
}

TEST_F(DecideTest, JoinWorkspaceIsIdempotent) {
  EXPECT_TRUE(IsNoOp(Try(JoinWorkspace{kBob, Acme().workspace_id})));
  EXPECT_TRUE(IsNoOp(Try(JoinWorkspace{kAlice, Acme().workspace_id})));  // the owner
}

TEST_F(DecideTest, JoinWorkspaceRejectsUnknownWorkspace) {
  EXPECT_TRUE(IsError(Try(JoinWorkspace{kBob, 999}), ErrorCode::kNotFound, "workspace_id"));
}

TEST_F(DecideTest, JoinWorkspaceHidesInviteOnlyWorkspace) {
  WorkspaceId ws = Do<WorkspaceCreated>(CreateWorkspace{kAlice, "Acme"}).workspace_id;
  Decision unknown = Try(JoinWorkspace{kBob, 999});
  Decision closed = Try(JoinWorkspace{kBob, ws});
  ASSERT_TRUE(IsError(closed, ErrorCode::kNotFound, "workspace_id"));
  EXPECT_EQ(closed.error().message, unknown.error().message);  // no hint that it exists
  EXPECT_TRUE(IsNoOp(Try(JoinWorkspace{kAlice, ws})));         // the owner is in it
}

TEST_F(DecideTest, JoinWorkspaceRefusesDeactivatedMember) {
  WorkspaceId ws = Acme().workspace_id;
  Do<MemberActiveChanged>(SetMemberActive{kAlice, ws, kBob, false});
  EXPECT_TRUE(IsError(Try(JoinWorkspace{kBob, ws}), ErrorCode::kForbidden, "workspace_id"));
}

// ---- CreateChannel ----------------------------------------------------------------------------

TEST_F(DecideTest, CreateChannelEmitsTrimmedNameAndMintsId) {
  WorkspaceId ws = Acme().workspace_id;  // minted ids 1..3
  ChannelCreated e = EventOf<ChannelCreated>(Try(CreateChannel{kBob, ws, "  dev-ops ", true}));
  EXPECT_EQ(e.workspace_id, ws);
  EXPECT_EQ(e.channel_id, MintId(4, 0, 1));
  EXPECT_EQ(e.name, "dev-ops");
  EXPECT_TRUE(e.is_private);
  EXPECT_EQ(e.creator_id, kBob);
  EXPECT_EQ(e.at, kNow);
}

TEST_F(DecideTest, CreateChannelAcceptsValidNames) {
  const std::vector<std::string> valid = {"dev", "team_2", "9lives", "a-b_c",
                                          std::string(kMaxNameBytes, 'c')};
  for (const std::string& name : valid) {
    EXPECT_TRUE(Try(CreateChannel{kAlice, Acme().workspace_id, name}).ok()) << name;
  }
}

TEST_F(DecideTest, CreateChannelRejectsBadNames) {
  const std::vector<std::string> invalid = {
      "",        "  ",   "Dev",        "-dev",  "_dev",    "dev ops",
      "dev.ops", "#dev", "d\xc3\xa9v", "de\nv", "dev\x01", std::string(kMaxNameBytes + 1, 'c')};
  for (const std::string& name : invalid) {
    EXPECT_TRUE(IsError(Try(CreateChannel{kAlice, Acme().workspace_id, name}),
                        ErrorCode::kInvalidArgument, "name"))
        << testing::PrintToString(name);
  }
}

TEST_F(DecideTest, CreateChannelRejectsTakenNames) {
  NewChannel("dev");
  for (std::string name : {"general", "random", "dev", " dev "}) {
    EXPECT_TRUE(IsError(Try(CreateChannel{kBob, Acme().workspace_id, name}),
                        ErrorCode::kAlreadyExists, "name"))
        << name;
  }
}

TEST_F(DecideTest, CreateChannelRejectsUnknownWorkspace) {
  EXPECT_TRUE(
      IsError(Try(CreateChannel{kAlice, 999, "dev"}), ErrorCode::kNotFound, "workspace_id"));
}

TEST_F(DecideTest, CreateChannelRequiresWorkspaceMembership) {
  // An outsider is told what they would be told about a workspace that does not exist.
  EXPECT_TRUE(IsError(Try(CreateChannel{kCarol, Acme().workspace_id, "dev"}), ErrorCode::kNotFound,
                      "workspace_id"));
}

// ---- JoinChannel / LeaveChannel ---------------------------------------------------------------

TEST_F(DecideTest, JoinChannelEmitsJoin) {
  ChannelId random = Acme().random_id;
  ChannelJoined e = EventOf<ChannelJoined>(Try(JoinChannel{kBob, random}));
  EXPECT_EQ(e.channel_id, random);
  EXPECT_EQ(e.user_id, kBob);
  EXPECT_EQ(e.at, kNow);
}

TEST_F(DecideTest, JoinChannelIsIdempotent) {
  EXPECT_TRUE(IsNoOp(Try(JoinChannel{kBob, Acme().general_id})));  // joined with the workspace
  Do<ChannelJoined>(JoinChannel{kBob, Acme().random_id});
  EXPECT_TRUE(IsNoOp(Try(JoinChannel{kBob, Acme().random_id})));
}

TEST_F(DecideTest, JoinChannelRejectsUnknownChannel) {
  EXPECT_TRUE(IsError(Try(JoinChannel{kBob, 999}), ErrorCode::kNotFound, "channel_id"));
}

TEST_F(DecideTest, JoinChannelRequiresWorkspaceMembership) {
  EXPECT_TRUE(
      IsError(Try(JoinChannel{kCarol, Acme().random_id}), ErrorCode::kNotFound, "channel_id"));
}

TEST_F(DecideTest, JoinChannelHidesPrivateChannels) {
  ChannelId secret = NewChannel("secret", /*is_private=*/true);
  // A workspace member and an outsider both see "not found", as for a channel that never existed.
  EXPECT_TRUE(IsError(Try(JoinChannel{kBob, secret}), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsError(Try(JoinChannel{kCarol, secret}), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsNoOp(Try(JoinChannel{kAlice, secret})));
}

TEST_F(DecideTest, LeaveChannelEmitsLeave) {
  ChannelLeft e = EventOf<ChannelLeft>(Try(LeaveChannel{kAlice, Acme().random_id}));
  EXPECT_EQ(e.channel_id, Acme().random_id);
  EXPECT_EQ(e.user_id, kAlice);
  EXPECT_EQ(e.at, kNow);
}

TEST_F(DecideTest, LeaveChannelIsIdempotent) {
  EXPECT_TRUE(IsNoOp(Try(LeaveChannel{kBob, Acme().random_id})));
}

TEST_F(DecideTest, LeaveChannelHidesChannelsFromOutsiders) {
  EXPECT_TRUE(
      IsError(Try(LeaveChannel{kCarol, Acme().random_id}), ErrorCode::kNotFound, "channel_id"));
}

TEST_F(DecideTest, LeaveChannelKeepsEveryoneInGeneral) {
  EXPECT_TRUE(
      IsError(Try(LeaveChannel{kBob, Acme().general_id}), ErrorCode::kForbidden, "channel_id"));
  EXPECT_TRUE(
      IsError(Try(LeaveChannel{kAlice, Acme().general_id}), ErrorCode::kForbidden, "channel_id"));
}

TEST_F(DecideTest, LeaveChannelRejectsUnknownOrHiddenChannel) {
  ChannelId secret = NewChannel("secret", /*is_private=*/true);
  EXPECT_TRUE(IsError(Try(LeaveChannel{kBob, 999}), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsError(Try(LeaveChannel{kBob, secret}), ErrorCode::kNotFound, "channel_id"));
}

TEST_F(DecideTest, ActorCommandsRequireSignedInActor) {
  const WorkspaceCreated& ws = Acme();
  const std::vector<Command> commands = {
      JoinWorkspace{kNoId, ws.workspace_id}, CreateChannel{kNoId, ws.workspace_id, "dev"},
      JoinChannel{kNoId, ws.random_id}, LeaveChannel{kNoId, ws.random_id},
      PostMessage{kNoId, ws.general_id, "", "hi"}};
  for (const Command& c : commands) {
    EXPECT_TRUE(IsError(Try(c), ErrorCode::kUnauthenticated, "actor")) << c.index();
  }
}

// ---- PostMessage ------------------------------------------------------------------------------

class PostMessageTest : public DecideTest {
 protected:
  Decision Post(std::string text, std::string client_id = "", UserId actor = kBob) {
    return Try(PostMessage{actor, Acme().general_id, std::move(client_id), std::move(text)});
  }
};

TEST_F(PostMessageTest, EmitsNextSeqAndMintedId) {
  MessagePosted first = Do<MessagePosted>(PostMessage{kBob, Acme().general_id, "c1", "hi"});
  MessagePosted e = EventOf<MessagePosted>(Post("  indented\n", "c2"));
  EXPECT_EQ(first.seq, 1u);
  EXPECT_EQ(e.seq, 2u);
  EXPECT_EQ(e.channel_id, Acme().general_id);
  EXPECT_EQ(e.message_id, MintId(5, 0, 1));  // after 3 workspace ids and the first message
  EXPECT_EQ(e.author_id, kBob);
  EXPECT_EQ(e.client_msg_id, "c2");
  EXPECT_EQ(e.text, "  indented\n");  // kept verbatim
  EXPECT_EQ(e.at, kNow);
}

TEST_F(PostMessageTest, AcceptsExactlyMaxBytes) {
  EXPECT_TRUE(Post(std::string(kMaxMessageBytes, 'x')).ok());
  std::string emoji;
  while (emoji.size() < kMaxMessageBytes) emoji += "\xf0\x9f\x98\x80";
  ASSERT_EQ(emoji.size(), kMaxMessageBytes);
  EXPECT_TRUE(Post(emoji).ok());
}

TEST_F(PostMessageTest, RejectsOneByteOverMax) {
  Decision r = Post(std::string(kMaxMessageBytes + 1, 'x'));
  ASSERT_TRUE(IsError(r, ErrorCode::kInvalidArgument, "text"));
  EXPECT_NE(r.error().message.find("4000"), std::string::npos) << r.error().message;
}

TEST_F(PostMessageTest, RejectsEmptyAndWhitespaceOnlyText) {
  for (std::string text : {"", " ", "\n", " \t\r\n\f\v "}) {
    EXPECT_TRUE(IsError(Post(text), ErrorCode::kInvalidArgument, "text"))
        << testing::PrintToString(text);
  }
}

TEST_F(PostMessageTest, RejectsInvalidUtf8) {
  for (std::string text : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ok\xe2\x82", "\x80"}) {
    EXPECT_TRUE(IsError(Post(text), ErrorCode::kInvalidArgument, "text"))
        << testing::PrintToString(text);
  }
}

TEST_F(PostMessageTest, LimitsClientMsgIdLength) {
  EXPECT_TRUE(Post("hi", std::string(kMaxClientMsgIdBytes, 'k')).ok());
  EXPECT_TRUE(IsError(Post("hi", std::string(kMaxClientMsgIdBytes + 1, 'k')),
                      ErrorCode::kInvalidArgument, "client_msg_id"));
}

TEST_F(PostMessageTest, RejectsRepostedClientMsgId) {
  Do<MessagePosted>(PostMessage{kBob, Acme().general_id, "c1", "hi"});
  EXPECT_TRUE(IsError(Post("hi again", "c1"), ErrorCode::kAlreadyExists, "client_msg_id"));
}

TEST_F(PostMessageTest, DeduplicatesPerAuthorAndOnlyNonEmptyIds) {
  Do<MessagePosted>(PostMessage{kBob, Acme().general_id, "c1", "hi"});
  Do<MessagePosted>(PostMessage{kBob, Acme().general_id, "", "hi"});
  EXPECT_TRUE(Post("hi", "c1", kAlice).ok());  // another author's c1
  EXPECT_TRUE(Post("hi", "").ok());            // no id: no deduplication
}

TEST_F(PostMessageTest, RejectsUnknownChannel) {
  EXPECT_TRUE(IsError(Try(PostMessage{kBob, 999, "", "hi"}), ErrorCode::kNotFound, "channel_id"));
}

TEST_F(PostMessageTest, RequiresChannelMembership) {
  EXPECT_TRUE(IsError(Try(PostMessage{kBob, Acme().random_id, "", "hi"}), ErrorCode::kForbidden,
                      "channel_id"));
  // Not in the workspace: the channel is not revealed.
  EXPECT_TRUE(IsError(Post("hi", "", kCarol), ErrorCode::kNotFound, "channel_id"));
}

TEST_F(PostMessageTest, HidesPrivateChannelFromNonMembers) {
  ChannelId secret = NewChannel("secret", /*is_private=*/true);
  EXPECT_TRUE(
      IsError(Try(PostMessage{kBob, secret, "", "hi"}), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(Try(PostMessage{kAlice, secret, "", "hi"}).ok());
}

TEST_F(PostMessageTest, ChecksAccessBeforeText) {
  // An outsider learns nothing about the channel from a text error.
  EXPECT_TRUE(IsError(Post("", "", kCarol), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsError(Try(PostMessage{kBob, Acme().random_id, "", ""}), ErrorCode::kForbidden,
                      "channel_id"));
}

TEST_F(DecideTest, FindPostedFindsOwnPostsOnly) {
  Do<MessagePosted>(PostMessage{kBob, Acme().general_id, "", "first"});
  Do<MessagePosted>(PostMessage{kBob, Acme().general_id, "c1", "second"});
  const ChannelState& general = *state_.FindChannel(Acme().general_id);
  EXPECT_EQ(FindPosted(general, kBob, "c1"), std::optional<Seq>(2));
  EXPECT_EQ(FindPosted(general, kAlice, "c1"), std::nullopt);
  EXPECT_EQ(FindPosted(general, kBob, "c2"), std::nullopt);
  EXPECT_EQ(FindPosted(general, kBob, ""), std::nullopt);
}

// ---- Reads ------------------------------------------------------------------------------------

TEST_F(DecideTest, CheckCanReadFollowsMembership) {
  ChannelId secret = NewChannel("secret", /*is_private=*/true);
  EXPECT_TRUE(CheckCanRead(state_, kBob, Acme().general_id).ok());
  EXPECT_TRUE(CheckCanRead(state_, kAlice, secret).ok());
  EXPECT_TRUE(
      IsError(CheckCanRead(state_, kBob, Acme().random_id), ErrorCode::kForbidden, "channel_id"));
  EXPECT_TRUE(
      IsError(CheckCanRead(state_, kCarol, Acme().general_id), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsError(CheckCanRead(state_, kBob, secret), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsError(CheckCanRead(state_, kBob, 999), ErrorCode::kNotFound, "channel_id"));
  EXPECT_TRUE(IsError(CheckCanRead(state_, kNoId, Acme().general_id), ErrorCode::kUnauthenticated,
                      "actor"));
}

class ReadHistoryTest : public DecideTest {
 protected:
  void PostMany(int n) {
    for (int i = 0; i < n; ++i) {
      Do<MessagePosted>(PostMessage{kBob, Acme().general_id, "", "m" + std::to_string(i + 1)});
    }
  }

  Result<HistoryPage> Read(HistoryQuery q, UserId actor = kBob) {
    q.channel_id = Acme().general_id;
    return ReadHistory(state_, actor, q);
  }

  static std::vector<Seq> Seqs(const HistoryPage& page) {
    std::vector<Seq> seqs;
    for (const StoredMessage* m : page.messages) seqs.push_back(m->seq);
    return seqs;
  }
};

TEST_F(ReadHistoryTest, PagesBothDirections) {
  PostMany(10);
  constexpr Seq kAll = std::numeric_limits<Seq>::max();
  struct Case {
    const char* name;
    HistoryQuery q;  // channel_id is filled in by Read
    std::vector<Seq> want;
    bool has_more;
    Seq last_seq;
  };
  const std::vector<Case> cases = {
      {"newest page", {0, 0, 0, false, 3}, {8, 9, 10}, true, 10},
      {"below before", {0, 8, 0, false, 3}, {5, 6, 7}, true, 10},
      {"oldest page backward", {0, 4, 0, false, 3}, {1, 2, 3}, false, 10},
      {"backward down to after", {0, 0, 5, false, 10}, {6, 7, 8, 9, 10}, false, 10},
      {"backward above after", {0, 0, 5, false, 3}, {8, 9, 10}, true, 10},
      {"before beyond the end", {0, 100, 0, false, 3}, {8, 9, 10}, true, 10},
      {"oldest page forward", {0, 0, 0, true, 3}, {1, 2, 3}, true, 10},
      {"forward after", {0, 0, 4, true, 3}, {5, 6, 7}, true, 10},
      {"forward to the end", {0, 0, 7, true, 3}, {8, 9, 10}, false, 10},
      {"forward below before", {0, 5, 0, true, 10}, {1, 2, 3, 4}, false, 10},
      {"forward page below before", {0, 5, 0, true, 2}, {1, 2}, true, 10},
      {"whole channel", {0, 0, 0, false, 0}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, false, 10},
      {"after at the end", {0, 0, 10, true, 3}, {}, false, 10},
      {"after far beyond", {0, 0, kAll, false, 3}, {}, false, 10},
      {"before at the start", {0, 1, 0, false, 3}, {}, false, 10},
      {"before not above after", {0, 5, 5, true, 3}, {}, false, 10},
  };
  for (const Case& t : cases) {
    SCOPED_TRACE(t.name);
    Result<HistoryPage> page = Read(t.q);
    ASSERT_TRUE(page.ok()) << page.error().message;
    EXPECT_EQ(Seqs(*page), t.want);
    EXPECT_EQ(page->has_more, t.has_more);
    EXPECT_EQ(page->last_seq, t.last_seq);
  }
}

TEST_F(ReadHistoryTest, PagePointsAtStoredMessages) {
  PostMany(3);
  Result<HistoryPage> page = Read(HistoryQuery{0, 0, 1, true, 1});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 1u);
  EXPECT_EQ(page->messages[0]->text, "m2");
  EXPECT_EQ(page->messages[0]->author_id, kBob);
  EXPECT_EQ(page->messages[0], &state_.FindChannel(Acme().general_id)->messages[1]);
}

TEST_F(ReadHistoryTest, LimitZeroMeansDefault) {
  PostMany(kDefaultHistoryLimit + 10);
  Result<HistoryPage> page = Read(HistoryQuery{0, 0, 0, false, 0});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), kDefaultHistoryLimit);
  EXPECT_EQ(page->messages.front()->seq, 11u);
  EXPECT_TRUE(page->has_more);
}

TEST_F(ReadHistoryTest, AcceptsMaxLimitAndRejectsAbove) {
  PostMany(kMaxHistoryLimit + 1);
  Result<HistoryPage> page = Read(HistoryQuery{0, 0, 0, true, kMaxHistoryLimit});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->messages.size(), kMaxHistoryLimit);
  EXPECT_TRUE(page->has_more);
  EXPECT_TRUE(IsError(Read(HistoryQuery{0, 0, 0, true, kMaxHistoryLimit + 1}),
                      ErrorCode::kInvalidArgument, "limit"));
}

TEST_F(ReadHistoryTest, ChecksAccessFirst) {
  ChannelId secret = NewChannel("secret", /*is_private=*/true);
  HistoryQuery q{Acme().random_id, 0, 0, false, 500};  // also a bad limit: access wins
  EXPECT_TRUE(IsError(ReadHistory(state_, kBob, q), ErrorCode::kForbidden, "channel_id"));
  q.channel_id = secret;
  EXPECT_TRUE(IsError(ReadHistory(state_, kBob, q), ErrorCode::kNotFound, "channel_id"));
}

}  // namespace
}  // namespace parley
