#include "persist/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "core/decide.h"

namespace parley::persist {
namespace {

// core's caps on list fields must fit the codec's bound, or EncodeEvent would abort on events
// that core considers valid.
static_assert(kMaxInviteChannels <= kMaxListElements);
static_assert(kRecoveryCodeCount <= kMaxListElements);

using namespace std::string_literals;

// Field lists written out independently of codec.cc, so a field the codec forgot to encode
// fails here instead of silently round-tripping as a default.
auto Tie(const UserRegistered& e) {
  return std::tie(e.user_id, e.email, e.display_name, e.password_salt, e.password_hash, e.at);
}
auto Tie(const WorkspaceCreated& e) {
  return std::tie(e.workspace_id, e.name, e.owner_id, e.general_id, e.random_id, e.at);
}
auto Tie(const WorkspaceJoined& e) { return std::tie(e.workspace_id, e.user_id, e.at); }
auto Tie(const ChannelCreated& e) {
  return std::tie(e.workspace_id, e.channel_id, e.name, e.is_private, e.creator_id, e.at);
}
auto Tie(const ChannelJoined& e) { return std::tie(e.channel_id, e.user_id, e.at); }
auto Tie(const ChannelLeft& e) { return std::tie(e.channel_id, e.user_id, e.at); }
auto Tie(const MessagePosted& e) {
  return std::tie(e.channel_id, e.seq, e.message_id, e.author_id, e.client_msg_id, e.text, e.at);
}
auto Tie(const ProfileUpdated& e) {
  return std::tie(e.user_id, e.display_name, e.title, e.avatar_url, e.at);
}
auto Tie(const PasswordChanged& e) { return std::tie(e.user_id, e.password_hash, e.rehash, e.at); }
auto Tie(const SessionStarted& e) {
  return std::tie(e.user_id, e.session_id, e.refresh_hash, e.device, e.address, e.method, e.at,
                  e.expires_at);
}
auto Tie(const SessionRefreshed& e) {
  return std::tie(e.user_id, e.session_id, e.refresh_hash, e.at, e.expires_at);
}
auto Tie(const SessionRevoked& e) {
  return std::tie(e.user_id, e.session_id, e.reason, e.by, e.at);
}
auto Tie(const SignInFailed& e) {
  return std::tie(e.user_id, e.address, e.second_factor, e.at, e.locked_until);
}
auto Tie(const MfaEnrollStarted& e) { return std::tie(e.user_id, e.secret, e.at); }
auto Tie(const MfaEnabled& e) { return std::tie(e.user_id, e.recovery_hashes, e.totp_step, e.at); }
auto Tie(const MfaDisabled& e) { return std::tie(e.user_id, e.at); }
auto Tie(const MfaCodeUsed& e) { return std::tie(e.user_id, e.totp_step, e.recovery_index, e.at); }
auto Tie(const ApiKeyCreated& e) {
  return std::tie(e.user_id, e.key_id, e.name, e.scopes, e.key_hash, e.expires_at, e.at);
}
auto Tie(const ApiKeyRevoked& e) { return std::tie(e.user_id, e.key_id, e.at); }
auto Tie(const OidcLinked& e) { return std::tie(e.user_id, e.issuer, e.subject, e.at); }
auto Tie(const WorkspaceSettingsChanged& e) {
  return std::tie(e.workspace_id, e.join_open, e.members_create_private,
                  e.members_post_announcements, e.by, e.at);
}
auto Tie(const InviteCreated& e) {
  return std::tie(e.workspace_id, e.invite_id, e.email, e.role, e.channel_ids, e.token_hash, e.by,
                  e.at, e.expires_at);
}
auto Tie(const InviteRevoked& e) { return std::tie(e.workspace_id, e.invite_id, e.by, e.at); }
auto Tie(const InviteAccepted& e) { return std::tie(e.workspace_id, e.invite_id, e.user_id, e.at); }
auto Tie(const RoleChanged& e) { return std::tie(e.workspace_id, e.user_id, e.role, e.by, e.at); }
auto Tie(const OwnershipTransferred& e) {
  return std::tie(e.workspace_id, e.from_user, e.to_user, e.at);
}
auto Tie(const MemberActiveChanged& e) {
  return std::tie(e.workspace_id, e.user_id, e.active, e.by, e.at);
}
auto Tie(const ChannelUpdated& e) {
  return std::tie(e.channel_id, e.archived, e.announcement, e.by, e.at);
}
auto Tie(const ChannelMemberAdded& e) { return std::tie(e.channel_id, e.user_id, e.by, e.at); }
auto Tie(const MessageEdited& e) { return std::tie(e.channel_id, e.seq, e.text, e.by, e.at); }
auto Tie(const MessageDeleted& e) { return std::tie(e.channel_id, e.seq, e.by, e.at); }
auto Tie(const ThreadReplyPosted& e) {
  return std::tie(e.channel_id, e.seq, e.message_id, e.author_id, e.client_msg_id, e.text, e.at,
                  e.thread_seq, e.also_to_channel);
}
auto Tie(const ThreadFollowChanged& e) {
  return std::tie(e.channel_id, e.thread_seq, e.user_id, e.following, e.at);
}
auto Tie(const ThreadMarkedRead& e) {
  return std::tie(e.channel_id, e.thread_seq, e.user_id, e.read_seq, e.at);
}
auto Tie(const ReactionAdded& e) { return std::tie(e.channel_id, e.seq, e.user_id, e.emoji, e.at); }
auto Tie(const ReactionRemoved& e) {
  return std::tie(e.channel_id, e.seq, e.user_id, e.emoji, e.at);
}
auto Tie(const PinChanged& e) { return std::tie(e.channel_id, e.seq, e.pinned, e.by, e.at); }
auto Tie(const BookmarkAdded& e) {
  return std::tie(e.channel_id, e.bookmark_id, e.title, e.url, e.by, e.at);
}
auto Tie(const BookmarkRemoved& e) { return std::tie(e.channel_id, e.bookmark_id, e.by, e.at); }
// Channel details, conversations and read markers (their samples come with that feature).
auto Tie(const ChannelDetailsChanged& e) {
  return std::tie(e.channel_id, e.name, e.topic, e.purpose, e.by, e.at);
}
auto Tie(const ChannelMemberRemoved& e) { return std::tie(e.channel_id, e.user_id, e.by, e.at); }
auto Tie(const ConversationOpened& e) {
  return std::tie(e.workspace_id, e.channel_id, e.members, e.by, e.at);
}
auto Tie(const ReadMarkerSet& e) { return std::tie(e.channel_id, e.user_id, e.seq, e.at); }
auto Tie(const PresenceChoiceSet& e) { return std::tie(e.user_id, e.away, e.at); }
auto Tie(const UserStatusSet& e) {
  return std::tie(e.user_id, e.text, e.emoji, e.expires_at, e.at);
}
auto Tie(const LastSeenRecorded& e) { return std::tie(e.user_id, e.at); }
auto Tie(const ReadReceiptsChanged& e) { return std::tie(e.user_id, e.send_read_receipts, e.at); }
auto Tie(const ReceiptsMaxMembersSet& e) {
  return std::tie(e.workspace_id, e.max_members, e.by, e.at);
}
auto Tie(const ReceiptsAdvanced& e) {
  return std::tie(e.channel_id, e.user_ids, e.delivered, e.read, e.at);
}
// Notifications and the user feed.
auto Tie(const NotificationCreated& e) {
  return std::tie(e.user_id, e.user_seq, e.reason, e.workspace_id, e.channel_id, e.seq,
                  e.thread_seq, e.actor_id, e.snippet, e.push, e.at);
}
auto Tie(const NotificationsRead& e) {
  return std::tie(e.user_id, e.user_seq, e.notification_id, e.up_to, e.at);
}
auto Tie(const UserFeedNoted& e) {
  return std::tie(e.user_id, e.user_seq, e.kind, e.channel_id, e.thread_seq, e.value, e.flag,
                  e.at);
}
auto Tie(const ChannelNotifyPrefSet& e) {
  return std::tie(e.channel_id, e.user_id, e.level, e.muted, e.at);
}
auto Tie(const KeywordsSet& e) { return std::tie(e.user_id, e.user_seq, e.keywords, e.at); }
auto Tie(const DndSet& e) {
  return std::tie(e.user_id, e.user_seq, e.snooze_until, e.schedule, e.start_minute,
                  e.end_minute, e.time_zone, e.at);
}
auto Tie(const SearchRecorded& e) { return std::tie(e.user_id, e.query, e.at); }
auto Tie(const RecentSearchesCleared& e) { return std::tie(e.user_id, e.at); }
auto Tie(const WorkspaceRetentionSet& e) { return std::tie(e.workspace_id, e.days, e.by, e.at); }
auto Tie(const MessagesExpired& e) {
  return std::tie(e.channel_id, e.from_seq, e.up_to_seq, e.at);
}

constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();
constexpr uint8_t kMaxU8 = std::numeric_limits<uint8_t>::max();
constexpr uint32_t kMaxU32 = std::numeric_limits<uint32_t>::max();
constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();

// `count` distinct 32-byte binary strings, like SHA-256 digests.
std::vector<std::string> Hashes(size_t count) {
  std::vector<std::string> hashes;
  for (size_t i = 0; i < count; ++i) {
    std::string hash(32, static_cast<char>(0x80 + i));
    hash[0] = '\0';
    hashes.push_back(hash);
  }
  return hashes;
}

// `count` channel ids, from 0 up, ending with the largest uint64.
std::vector<uint64_t> ChannelIds(size_t count) {
  std::vector<uint64_t> ids;
  for (size_t i = 0; i + 1 < count; ++i) ids.push_back(i * 1000);
  if (count > 0) ids.push_back(kMaxU64);
  return ids;
}

// One event of every kind, with edge values: 0, max, negative time, empty and binary strings,
// empty, 10-element and (for invites) 32-element lists. For each kind, the first sample has no
// field at its default (EverySampleKindHasOneSampleWithNoDefaultField).
std::vector<Event> SampleEvents() {
  return {
      UserRegistered{42, "ada@example.com", "Ada Lovelace", "\x00\x01\xff salt"s,
                     std::string(32, '\xab'), 1700000000123},
      WorkspaceCreated{8, "Difference Engines", 7, 1002, 1003, 1700000000000},
      WorkspaceCreated{kMaxU64, "Analytical Engines", 7, 1000, 1001, 0},
      WorkspaceJoined{3, 9, -1},
      ChannelCreated{3, 77, "design-reviews", true, 9, std::numeric_limits<int64_t>::min()},
      ChannelCreated{3, 78, "", false, 0, std::numeric_limits<int64_t>::max()},
      ChannelJoined{77, 9, 1700000000999},
      ChannelLeft{77, 9, 1700000001000},
      MessagePosted{77, 1, 500, 9, "", "hello \xf0\x9f\x91\x8b", 1700000001234},
      MessagePosted{77, kMaxU64, 501, 9, "client-id-1", std::string(70000, 'x'), 5},
      ProfileUpdated{42, "Grace", "Rear Admiral", "https://example.com/g.png", -5},
      ProfileUpdated{kMaxU64, "", "", "", kMinTime},
      PasswordChanged{42, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", true, 1700000002000},
      SessionStarted{42, 9001, Hashes(1)[0], "Firefox on Linux", "2001:db8::1", kMaxU8,
                     -1700000000000, 1700000000000},
      SessionStarted{42, kMaxU64, "", "", "", 3, 0, kMinTime},
      SessionRefreshed{42, 9001, "\x00\x01\x02"s, -1, kMaxU64 >> 1},
      SessionRevoked{42, 9001, kMaxU8, 7, -3},
      SessionRevoked{42, 9002, 1, 0, 4},
      SignInFailed{42, "192.0.2.1", true, -10, 20},
      MfaEnrollStarted{42, "\x00\x10\x20\xff secret"s, -30},
      MfaEnabled{42, Hashes(10), 56666666, -40},
      MfaEnabled{43, {}, 1, 40},
      MfaEnabled{44, {""s, "\x00"s}, kMaxU64, kMinTime},
      MfaDisabled{42, -50},
      MfaCodeUsed{42, 56666667, 3, -60},
      ApiKeyCreated{42, 77, "ci deploy", kMaxU32, Hashes(1)[0], 1800000000000, -70},
      ApiKeyCreated{42, 78, "", 1, "", 0, 70},
      ApiKeyRevoked{42, 77, -80},
      OidcLinked{42, "https://accounts.example.com", "1234567890", -90},
      WorkspaceSettingsChanged{3, true, false, true, 42, -100},
      InviteCreated{3, 11, "bob@example.com", kMaxU8, ChannelIds(10), Hashes(1)[0], 42, -110, 120},
      InviteCreated{3, 12, "eve@example.com", 2, {}, "t"s, 42, 110, -120},
      InviteCreated{3, 13, "", 0, ChannelIds(32), "", 0, 0, 0},
      InviteRevoked{3, 11, 42, -130},
      InviteAccepted{3, 11, 43, -140},
      RoleChanged{3, 43, kMaxU8, 42, -150},
      RoleChanged{3, 43, 1, 42, 150},
      OwnershipTransferred{3, 42, 43, -160},
      MemberActiveChanged{3, 43, true, 42, -170},
      ChannelUpdated{77, true, true, 42, -180},
      ChannelMemberAdded{77, 43, 42, -190},
      MessageEdited{77, 5, "edited \xe2\x9c\x8f", 42, -200},
      MessageDeleted{77, 5, 42, -210},
      ThreadReplyPosted{77, 6, 502, 9, "client-id-2", "reply \xe2\x86\xa9", -220, 5, true},
      ThreadReplyPosted{77, kMaxU64, 503, 9, "", "", 0, 1, false},
      ThreadFollowChanged{77, 5, 43, true, -230},
      ThreadMarkedRead{77, 5, 43, kMaxU64, -240},
      ReactionAdded{77, 5, 43, "\xf0\x9f\x8e\x89", -250},
      ReactionAdded{77, 5, 43, std::string(64, 'z'), 250},
      ReactionRemoved{77, 5, 43, "thumbsup", -260},
      PinChanged{77, 5, true, 42, -270},
      PinChanged{77, 5, false, 42, 270},
      BookmarkAdded{77, 9005, "Runbook \xe2\x9c\x8f", "https://example.com/runbook", 42, -280},
      BookmarkAdded{77, kMaxU64, "", std::string(2048, 'u'), 0, kMinTime},
      BookmarkRemoved{77, 9005, 42, -290},
      ChannelDetailsChanged{77, "design-crits", "Topic \xe2\x9c\x8f", "Why we meet", 42, -300},
      ChannelDetailsChanged{77, "", "", "", 0, 0},
      ChannelMemberRemoved{77, 43, 42, -310},
      ConversationOpened{3, 79, ChannelIds(8), 42, -320},
      ConversationOpened{3, 80, {}, 0, 0},
      ReadMarkerSet{77, 43, kMaxU64, -330},
      PresenceChoiceSet{42, true, -340},
      UserStatusSet{42, "in a meeting \xe2\x80\x94 back at 3", "calendar",
                    std::numeric_limits<int64_t>::max(), -350},
      LastSeenRecorded{42, -360},
      ReadReceiptsChanged{42, false, -370},
      ReceiptsMaxMembersSet{3, kMaxU32, 42, -380},
      ReceiptsAdvanced{77, ChannelIds(8), ChannelIds(8), ChannelIds(8), -390},
      ReceiptsAdvanced{77, {}, {}, {}, 0},
      NotificationCreated{43, 7, 1, 3, 77, 5, 4, 42, "hi \xe2\x9c\x8f", true, -340},
      NotificationCreated{43, kMaxU64, kMaxU8, 0, 0, 0, 0, 0, "", false, 0},
      NotificationsRead{43, 8, 7, 6, -350},
      NotificationsRead{43, 9, 0, kMaxU64, 350},
      UserFeedNoted{43, 10, 1, 77, 5, kMaxU64, true, -360},
      ChannelNotifyPrefSet{77, 43, 3, true, -370},
      KeywordsSet{43, 11, {"deploy", "on-call"}, -380},
      KeywordsSet{43, 12, {}, 0},
      DndSet{43, 13, 1'700'000'000'000, true, 1320, 420, "Europe/Berlin", -390},
      SearchRecorded{43, "from:@ann \"release notes\" \xe6\x97\xa5\xe6\x9c\xac", -400},
      SearchRecorded{kMaxU64, std::string(1000, 'q'), kMinTime},
      RecentSearchesCleared{43, -410},
      WorkspaceRetentionSet{3, 3650, 42, -420},
      WorkspaceRetentionSet{3, 0, 0, 0},
      MessagesExpired{77, 1, 1000, -430},
      MessagesExpired{77, kMaxU64, kMaxU64, kMinTime},
  };
}

// The samples whose records are short enough to flip, truncate and mutate byte by byte.
std::vector<Event> SmallSampleEvents() {
  std::vector<Event> small;
  for (const Event& event : SampleEvents()) {
    if (EncodeEvent(event).size() <= 4096) small.push_back(event);
  }
  return small;
}

Error DecodeError(const std::string& bytes) {
  Result<Event> decoded = DecodeEvent(bytes);
  EXPECT_FALSE(decoded.ok());
  if (decoded.ok()) return {};
  EXPECT_EQ(decoded.error().code, ErrorCode::kInternal);
  EXPECT_EQ(decoded.error().message, "corrupt event");
  return decoded.error();
}

std::string ErrorDetails(const std::string& bytes) { return DecodeError(bytes).details; }

TEST(CodecTest, RoundTripsEveryEventKind) {
  size_t kinds_seen = 0;
  std::vector<bool> seen(std::variant_size_v<Event>, false);
  for (const Event& event : SampleEvents()) {
    Result<Event> decoded = DecodeEvent(EncodeEvent(event));
    ASSERT_TRUE(decoded.ok()) << decoded.error().details;
    ASSERT_EQ(decoded->index(), event.index());
    std::visit(
        [&](const auto& want) {
          using T = std::decay_t<decltype(want)>;
          EXPECT_EQ(Tie(std::get<T>(*decoded)), Tie(want));
        },
        event);
    if (!seen[event.index()]) ++kinds_seen;
    seen[event.index()] = true;
  }
  EXPECT_EQ(kinds_seen, std::variant_size_v<Event>);
}

template <class Tuple, size_t... I>
bool NoFieldIsDefault(const Tuple& value, const Tuple& defaults, std::index_sequence<I...>) {
  return ((std::get<I>(value) != std::get<I>(defaults)) && ...);
}

// The round trip above proves a field survives only if its sample value is not the default.
TEST(CodecTest, EverySampleKindHasOneSampleWithNoDefaultField) {
  std::vector<bool> covered(std::variant_size_v<Event>, false);
  for (const Event& event : SampleEvents()) {
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          const T defaults{};
          const auto value = Tie(e);
          if (NoFieldIsDefault(value, Tie(defaults),
                               std::make_index_sequence<std::tuple_size_v<decltype(value)>>{})) {
            covered[event.index()] = true;
          }
        },
        event);
  }
  for (size_t i = 0; i < covered.size(); ++i) EXPECT_TRUE(covered[i]) << "alternative " << i;
}

// The codec's tags are generated from PARLEY_EVENT_TYPES; they must be core's TagOf.
TEST(CodecTest, WritesCoresTagForEveryKind) {
  for (const Event& event : SampleEvents()) {
    const std::string bytes = EncodeEvent(event);
    // Every record is a fixarray of at most 11 elements, and every tag a positive fixint.
    ASSERT_EQ(static_cast<unsigned char>(bytes[0]) & 0xf0, 0x90);
    EXPECT_EQ(static_cast<unsigned char>(bytes[1]), static_cast<unsigned>(TagOf(event)))
        << EventName(TagOf(event));
    EXPECT_EQ(bytes[2], '\x01') << "schema version";
  }
}

TEST(CodecTest, EveryTagDecodesAndTheNextIsUnknown) {
  for (unsigned tag = 1; tag <= static_cast<unsigned>(EventTag::kDndSet); ++tag) {
    // Too few elements for every event, so the error names the tag's own element count.
    const std::string details = ErrorDetails("\x92"s + static_cast<char>(tag) + "\x01"s);
    EXPECT_EQ(details.rfind("tag " + std::to_string(tag) + ": expected ", 0), 0u) << details;
  }
  for (unsigned tag = static_cast<unsigned>(EventTag::kPresenceChoiceSet);
       tag <= static_cast<unsigned>(EventTag::kMessagesExpired); ++tag) {
    const std::string details = ErrorDetails("\x92"s + static_cast<char>(tag) + "\x01"s);
    EXPECT_EQ(details.rfind("tag " + std::to_string(tag) + ": expected ", 0), 0u) << details;
  }
  EXPECT_EQ(ErrorDetails("\x92\x32\x01"s), "unknown tag 50");
  EXPECT_EQ(ErrorDetails("\x92\x3e\x01"s), "unknown tag 62");
  EXPECT_EQ(ErrorDetails("\x9b\x32\x01\x04\x05\xa0\x02\x90\xc4\x00\x07\x08\x09"s),
            "unknown tag 50");
}

// Golden bytes: the on-disk format must not change by accident (docs/log_format.md).
TEST(CodecTest, ChannelJoinedGoldenBytes) {
  EXPECT_EQ(EncodeEvent(ChannelJoined{5, 7, 9}), "\x95\x05\x01\x05\x07\x09"s);
}

TEST(CodecTest, UserRegisteredGoldenBytesUseStrForTextAndBinForSecrets) {
  // One line per field; the split literals stop "\xa3" from swallowing the hex digit "a".
  // clang-format off
  const std::string want = "\x98\x01\x01"      // array of 8, tag 1, version 1
                           "\x2a"              // user_id 42
                           "\xa3" "a@b"        // email: fixstr
                           "\xa1" "A"          // display_name: fixstr
                           "\xc4\x02\x00\xff"  // password_salt: bin8
                           "\xc4\x01\x01"      // password_hash: bin8
                           "\xff"s;            // at -1: negative fixint
  // clang-format on
  EXPECT_EQ(EncodeEvent(UserRegistered{42, "a@b", "A", "\x00\xff"s, "\x01", -1}), want);
}

TEST(CodecTest, MessagePostedGoldenBytes) {
  const std::string want =
      "\x99\x07\x01"            // array of 9, tag 7, version 1
      "\x0c\x02"                // channel_id 12, seq 2
      "\xcd\x01\x00"            // message_id 256: uint16
      "\x03"                    // author_id 3
      "\xa0"                    // client_msg_id ""
      "\xa2hi"                  // text
      "\xd2\xff\xff\x00\x00"s;  // at -65536: int32
  EXPECT_EQ(EncodeEvent(MessagePosted{12, 2, 256, 3, "", "hi", -65536}), want);
}

TEST(CodecTest, SearchRecordedGoldenBytesStoreTheQueryAsStr) {
  const std::string want =
      "\x95\x3a\x01"  // array of 5, tag 58, version 1
      "\x2b"          // user_id 43
      "\xa1q"         // query "q": fixstr
      "\xff"s;        // at -1
  EXPECT_EQ(EncodeEvent(SearchRecorded{43, "q", -1}), want);
}

TEST(CodecTest, MfaEnabledGoldenBytesHoldANestedArrayOfBin) {
  const std::string want =
      "\x96\x0f\x01"  // array of 6, tag 15, version 1
      "\x01"          // user_id 1
      "\x92"          // recovery_hashes: fixarray of 2
      "\xc4\x01\xaa"  //   bin8 "\xaa"
      "\xc4\x00"      //   bin8 ""
      "\x02"          // totp_step 2
      "\xfd"s;        // at -3
  EXPECT_EQ(EncodeEvent(MfaEnabled{1, {"\xaa", ""}, 2, -3}), want);
}

TEST(CodecTest, InviteCreatedGoldenBytes) {
  // clang-format off
  const std::string want =
      "\x9b\x16\x01"          // array of 11, tag 22, version 1
      "\x04\x05"              // workspace_id 4, invite_id 5
      "\xa1" "e"              // email
      "\x02"                  // role 2
      "\x92\x06\xcd\x01\x2c"  // channel_ids: fixarray [6, 300]
      "\xc4\x01\x01"          // token_hash: bin8
      "\x07\x08\x09"s;        // by 7, at 8, expires_at 9
  // clang-format on
  EXPECT_EQ(EncodeEvent(InviteCreated{4, 5, "e", 2, {6, 300}, "\x01", 7, 8, 9}), want);
}

TEST(CodecTest, ApiKeyCreatedGoldenBytesStoreScopesAsUint) {
  const std::string want =
      "\x99\x12\x01"          // array of 9, tag 18, version 1
      "\x01\x02\xa1k"         // user_id 1, key_id 2, name "k"
      "\xce\xff\xff\xff\xff"  // scopes 2^32-1: uint32
      "\xc4\x00"              // key_hash ""
      "\x00\xff"s;            // expires_at 0, at -1
  EXPECT_EQ(EncodeEvent(ApiKeyCreated{1, 2, "k", kMaxU32, "", 0, -1}), want);
}

TEST(CodecTest, TruncationAtEveryLengthIsAnError) {
  for (const Event& event : SampleEvents()) {
    const std::string bytes = EncodeEvent(event);
    // Every prefix of a long text is checked once, not one per byte of the 70 KB string.
    const size_t step = bytes.size() > 4096 ? 997 : 1;
    for (size_t len = 0; len < bytes.size(); len += step) {
      EXPECT_EQ(ErrorDetails(bytes.substr(0, len)), "truncated") << "length " << len;
    }
  }
}

TEST(CodecTest, TrailingBytesAreAnError) {
  EXPECT_EQ(ErrorDetails(EncodeEvent(ChannelJoined{5, 7, 9}) + "\x00"s), "trailing bytes: 1");
  EXPECT_EQ(ErrorDetails(EncodeEvent(ChannelLeft{}) + EncodeEvent(ChannelLeft{})),
            "trailing bytes: 6");
}

TEST(CodecTest, UnknownTag) {
  EXPECT_EQ(ErrorDetails("\x95\x63\x01\x05\x07\x09"s), "unknown tag 99");
  EXPECT_EQ(ErrorDetails("\x95\x00\x01\x05\x07\x09"s), "unknown tag 0");
  EXPECT_EQ(ErrorDetails("\x95\xcf\xff\xff\xff\xff\xff\xff\xff\xff\x01\x05\x07\x09"s),
            "unknown tag 18446744073709551615");
}

TEST(CodecTest, UnsupportedSchemaVersion) {
  EXPECT_EQ(ErrorDetails("\x95\x05\x02\x05\x07\x09"s), "unsupported schema version 2");
  EXPECT_EQ(ErrorDetails("\x95\x05\x00\x05\x07\x09"s), "unsupported schema version 0");
}

TEST(CodecTest, HeaderOfTheWrongShape) {
  EXPECT_EQ(ErrorDetails("\x05"s), "expected array, got uint");
  EXPECT_EQ(ErrorDetails("\x81\x01\x02"s), "expected array, got map");
  EXPECT_EQ(ErrorDetails("\x90"s), "missing tag or schema version");
  EXPECT_EQ(ErrorDetails("\x91\x05"s), "missing tag or schema version");
  EXPECT_EQ(ErrorDetails("\x92\xa1x\x01"s), "field 0 tag: expected uint, got str");
  EXPECT_EQ(ErrorDetails("\x92\xff\x01"s), "field 0 tag: expected uint, got negative int");
  EXPECT_EQ(ErrorDetails("\x92\x05\xc0"s), "field 1 schema_version: expected uint, got nil");
}

TEST(CodecTest, WrongElementCount) {
  EXPECT_EQ(ErrorDetails("\x94\x05\x01\x05\x07"s), "tag 5: expected 5 elements, got 4");
  EXPECT_EQ(ErrorDetails("\x96\x05\x01\x05\x07\x09\x00"s), "tag 5: expected 5 elements, got 6");
}

TEST(CodecTest, WrongFieldTypeNamesTheField) {
  EXPECT_EQ(ErrorDetails("\x95\x05\x01\x05\xa1x\x09"s), "field 3 user_id: expected uint, got str");
  EXPECT_EQ(ErrorDetails("\x95\x05\x01\xff\x07\x09"s),
            "field 2 channel_id: expected uint, got negative int");
  EXPECT_EQ(ErrorDetails("\x95\x05\x01\x05\x07\xca\x00\x00\x00\x00"s),
            "field 4 at: expected int, got float");
  EXPECT_EQ(ErrorDetails("\x95\x05\x01\x05\x07\xcf\x80\x00\x00\x00\x00\x00\x00\x00"s),
            "field 4 at: int64 out of range");
  // str and bin are not interchangeable: text is str, password material is bin.
  // clang-format off
  EXPECT_EQ(ErrorDetails("\x98\x01\x01\x2a\xc4\x01x\xa1" "A\xc4\x00\xc4\x00\x00"s),
            "field 3 email: expected str, got bin");
  EXPECT_EQ(ErrorDetails("\x98\x01\x01\x2a\xa1x\xa1" "A\xa0\xc4\x00\x00"s),
            "field 5 password_salt: expected bin, got str");
  // clang-format on
  EXPECT_EQ(ErrorDetails("\x98\x04\x01\x03\x4d\xa1n\x01\x09\x00"s),
            "field 5 is_private: expected bool, got uint");
  EXPECT_EQ(ErrorDetails("\x95\x05\x01\x05\x91\x07\x09"s),
            "field 3 user_id: expected uint, got array");
}

TEST(CodecTest, MalformedMsgpack) {
  EXPECT_EQ(ErrorDetails("\xc1"s), "malformed msgpack");  // 0xc1 is never used
  EXPECT_EQ(ErrorDetails("\x95\x05\x01\xc1\x07\x09"s), "malformed msgpack");
}

// An array32 header claiming 2^32-1 elements must not make the unpacker allocate for them.
TEST(CodecTest, HugeContainerHeadersHitTheLimitNotTheAllocator) {
  EXPECT_EQ(ErrorDetails("\xdd\xff\xff\xff\xff"s).rfind("limit exceeded", 0), 0u);
  EXPECT_EQ(ErrorDetails("\xdf\xff\xff\xff\xff"s).rfind("limit exceeded", 0), 0u);
  EXPECT_EQ(ErrorDetails("\x95\x05\x01\x91\x91\x91\x00\x07\x09"s).rfind("limit exceeded", 0), 0u);
}

TEST(CodecTest, EveryFlippedByteDecodesOrFailsCleanly) {
  for (const Event& event : SampleEvents()) {
    const std::string bytes = EncodeEvent(event);
    const size_t positions = std::min<size_t>(bytes.size(), 256);
    for (size_t i = 0; i < positions; ++i) {
      for (unsigned char mask : {0x01, 0x10, 0x80, 0xff}) {
        std::string flipped = bytes;
        flipped[i] = static_cast<char>(flipped[i] ^ mask);
        Result<Event> decoded = DecodeEvent(flipped);
        if (!decoded.ok()) {
          EXPECT_EQ(decoded.error().message, "corrupt event");
        }
      }
    }
  }
}

TEST(CodecTest, RandomBytesNeverCrash) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 48);
  const std::vector<std::string> prefixes = {"", "\x95\x05\x01"s, "\x98\x01\x01"s, "\x99\x07\x01"s};
  size_t decoded_ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = prefixes[static_cast<size_t>(i) % prefixes.size()];
    for (size_t n = length(rng); n > 0; --n) bytes.push_back(static_cast<char>(byte(rng)));
    Result<Event> decoded = DecodeEvent(bytes);
    if (decoded.ok()) {
      ++decoded_ok;
    } else {
      EXPECT_EQ(decoded.error().code, ErrorCode::kInternal);
    }
  }
  // Random tails after a valid header do sometimes form an event: the decoder is exercised
  // past the header, not only on garbage it rejects at byte 0.
  EXPECT_GT(decoded_ok, 0u);
}

TEST(CodecTest, RandomMutationsOfValidEventsNeverCrash) {
  std::mt19937 rng(7);
  const std::vector<Event> events = SmallSampleEvents();
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = EncodeEvent(events[static_cast<size_t>(i) % events.size()]);
    for (int flips = 1 + i % 4; flips > 0; --flips) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    Result<Event> decoded = DecodeEvent(bytes.substr(0, bytes.size() - rng() % 3));
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.error().code, ErrorCode::kInternal);
    }
  }
}

// DecodeEvent reads records directly and leaves the rest to msgpack's unpacker: both paths must
// give the same event, or the same error, for any input.
void ExpectSameAsUnpacker(const std::string& bytes) {
  Result<Event> fast = DecodeEvent(bytes);
  Result<Event> reference = DecodeEventWithUnpacker(bytes);
  ASSERT_EQ(fast.ok(), reference.ok()) << (fast.ok() ? reference : fast).error().details;
  if (!fast.ok()) {
    EXPECT_EQ(fast.error().details, reference.error().details);
    return;
  }
  ASSERT_EQ(fast->index(), reference->index());
  std::visit(
      [&](const auto& want) {
        using T = std::decay_t<decltype(want)>;
        EXPECT_EQ(Tie(std::get<T>(*fast)), Tie(want));
      },
      *reference);
}

TEST(CodecTest, DecodeEventIntoReusesOneEventForEveryKind) {
  Event event = MessagePosted{1, 2, 3, 4, "stale client id", "stale text", 5};
  for (const Event& want : SampleEvents()) {
    Status decoded = DecodeEventInto(EncodeEvent(want), event);
    ASSERT_TRUE(decoded.ok()) << decoded.error().details;
    ASSERT_EQ(event.index(), want.index());
    std::visit(
        [&](const auto& w) {
          using T = std::decay_t<decltype(w)>;
          EXPECT_EQ(Tie(std::get<T>(event)), Tie(w));
        },
        want);
  }
  Status bad = DecodeEventInto("\x95\x05\x01\x05\xa1x\x09"s, event);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "corrupt event");
  EXPECT_EQ(bad.error().details, "field 3 user_id: expected uint, got str");
}

TEST(CodecTest, DirectReaderTakesEveryIntegerAndStringWidth) {
  // ChannelJoined{5, 7, 9} with each value in a wider form than the shortest: uint 8, int 8
  // holding a positive value, int 64.
  const std::string wide = "\x95\x05\x01\xcc\x05\xd0\x07\xd3\x00\x00\x00\x00\x00\x00\x00\x09"s;
  ExpectSameAsUnpacker(wide);
  Result<Event> decoded = DecodeEvent(wide);
  ASSERT_TRUE(decoded.ok()) << decoded.error().details;
  EXPECT_EQ(Tie(std::get<ChannelJoined>(*decoded)), Tie(ChannelJoined{5, 7, 9}));
  // MessagePosted with str 8 / str 16 / str 32 text and negative int 16 / int 32 times.
  for (const std::string& text : {"\xd9\x02hi"s, "\xda\x00\x02hi"s, "\xdb\x00\x00\x00\x02hi"s}) {
    for (const std::string& at : {"\xd1\xff\x00"s, "\xd2\xff\xff\xff\x00"s, "\xd0\x05"s}) {
      ExpectSameAsUnpacker("\x99\x07\x01\x0c\x02\x03\x03\xa0"s + text + at);
    }
  }
  // bin 16 / bin 32 password material.
  ExpectSameAsUnpacker("\x98\x01\x01\x2a\xa1x\xa1y\xc5\x00\x01z\xc6\x00\x00\x00\x01z\x00"s);
}

TEST(CodecTest, DirectReaderAgreesWithTheUnpackerOnCorruptRecords) {
  std::mt19937 rng(11);
  for (const Event& event : SampleEvents()) {
    const std::string bytes = EncodeEvent(event);
    ExpectSameAsUnpacker(bytes);
    const size_t step = bytes.size() > 4096 ? 997 : 1;
    for (size_t len = 0; len < bytes.size(); len += step) {
      ExpectSameAsUnpacker(bytes.substr(0, len));
    }
    ExpectSameAsUnpacker(bytes + "\x00"s);
    const size_t positions = std::min<size_t>(bytes.size(), 256);
    for (size_t i = 0; i < positions; ++i) {
      for (unsigned char mask : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}) {
        std::string flipped = bytes;
        flipped[i] = static_cast<char>(flipped[i] ^ mask);
        ExpectSameAsUnpacker(flipped);
      }
      for (int k = 0; k < 8; ++k) {
        std::string changed = bytes;
        changed[i] = static_cast<char>(rng());
        ExpectSameAsUnpacker(changed);
      }
    }
  }
}

TEST(CodecTest, DirectReaderAgreesWithTheUnpackerOnRandomBytes) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 40);
  const std::vector<std::string> prefixes = {"",
                                             "\x95\x05\x01"s,
                                             "\x95\x06\x01"s,
                                             "\x95\x03\x01"s,
                                             "\x96\x02\x01"s,
                                             "\x98\x01\x01"s,
                                             "\x98\x04\x01"s,
                                             "\x99\x07\x01"s};
  for (int i = 0; i < 50000; ++i) {
    std::string bytes = prefixes[static_cast<size_t>(i) % prefixes.size()];
    for (size_t n = length(rng); n > 0; --n) bytes.push_back(static_cast<char>(byte(rng)));
    ExpectSameAsUnpacker(bytes);
  }
}

// ---- Small unsigned integers (uint8, uint32) and list fields.

// Records with one field spelled out by the test; every other field is small and valid.
std::string SessionStartedWithMethod(const std::string& method) {
  // user_id 1, session_id 2, refresh_hash "", device "", address "", method, at 3, expires_at 4.
  return "\x9a\x0a\x01\x01\x02\xc4\x00\xa0\xa0"s + method + "\x03\x04"s;
}
std::string ApiKeyCreatedWithScopes(const std::string& scopes) {
  // user_id 1, key_id 2, name "", scopes, key_hash "", expires_at 3, at 4.
  return "\x99\x12\x01\x01\x02\xa0"s + scopes + "\xc4\x00\x03\x04"s;
}
std::string MfaEnabledWithHashes(const std::string& recovery_hashes) {
  // user_id 1, recovery_hashes, totp_step 2, at 3.
  return "\x96\x0f\x01\x01"s + recovery_hashes + "\x02\x03"s;
}
std::string InviteCreatedWithChannels(const std::string& channel_ids) {
  // workspace_id 1, invite_id 2, email "", role 3, channel_ids, token_hash "", by 4, at 5,
  // expires_at 6.
  return "\x9b\x16\x01\x01\x02\xa0\x03"s + channel_ids + "\xc4\x00\x04\x05\x06"s;
}

// `count` msgpack values `element` in an array 16.
std::string Array16(size_t count, const std::string& element) {
  std::string out = "\xdc"s + static_cast<char>(count >> 8) + static_cast<char>(count & 0xff);
  for (size_t i = 0; i < count; ++i) out += element;
  return out;
}

template <class T>
T DecodeAsOk(const std::string& bytes) {
  ExpectSameAsUnpacker(bytes);
  Result<Event> decoded = DecodeEvent(bytes);
  EXPECT_TRUE(decoded.ok()) << decoded.error().details;
  if (!decoded.ok() || !std::holds_alternative<T>(*decoded)) return T{};
  return std::get<T>(*decoded);
}

TEST(CodecTest, SmallUintsTakeEveryEncodingUpToTheirMax) {
  EXPECT_EQ(DecodeAsOk<SessionStarted>(SessionStartedWithMethod("\x7f"s)).method, 127);
  EXPECT_EQ(DecodeAsOk<SessionStarted>(SessionStartedWithMethod("\xcc\xff"s)).method, 255);
  EXPECT_EQ(DecodeAsOk<SessionStarted>(SessionStartedWithMethod("\xcd\x00\xff"s)).method, 255);
  EXPECT_EQ(DecodeAsOk<SessionStarted>(SessionStartedWithMethod("\xd0\x05"s)).method, 5);
  EXPECT_EQ(
      DecodeAsOk<SessionStarted>(SessionStartedWithMethod("\xcf\x00\x00\x00\x00\x00\x00\x00\xff"s))
          .method,
      255);
  EXPECT_EQ(DecodeAsOk<ApiKeyCreated>(ApiKeyCreatedWithScopes("\xce\xff\xff\xff\xff"s)).scopes,
            kMaxU32);
  EXPECT_EQ(
      DecodeAsOk<ApiKeyCreated>(ApiKeyCreatedWithScopes("\xd3\x00\x00\x00\x00\xff\xff\xff\xff"s))
          .scopes,
      kMaxU32);
}

TEST(CodecTest, SmallUintAboveItsMaxIsCorrupt) {
  EXPECT_EQ(ErrorDetails(SessionStartedWithMethod("\xcd\x01\x00"s)),
            "field 7 method: uint8 out of range");
  EXPECT_EQ(ErrorDetails(SessionStartedWithMethod("\xcf\xff\xff\xff\xff\xff\xff\xff\xff"s)),
            "field 7 method: uint8 out of range");
  EXPECT_EQ(ErrorDetails(SessionStartedWithMethod("\xff"s)),
            "field 7 method: expected uint, got negative int");
  EXPECT_EQ(ErrorDetails(ApiKeyCreatedWithScopes("\xcf\x00\x00\x00\x01\x00\x00\x00\x00"s)),
            "field 5 scopes: uint32 out of range");
  EXPECT_EQ(ErrorDetails("\x97\x19\x01\x01\x02\xcd\x01\x00\x03\x04"s),
            "field 4 role: uint8 out of range");
  EXPECT_EQ(ErrorDetails("\x97\x0c\x01\x01\x02\xcd\x01\x00\x03\x04"s),
            "field 4 reason: uint8 out of range");
}

TEST(CodecTest, ListsAtTheBoundRoundTrip) {
  const MfaEnabled mfa{1, Hashes(kMaxListElements), 2, 3};
  const std::string mfa_bytes = EncodeEvent(mfa);
  EXPECT_EQ(mfa_bytes.substr(4, 3), "\xdc\x00\x40"s);  // array 16 of 64
  EXPECT_EQ(Tie(DecodeAsOk<MfaEnabled>(mfa_bytes)), Tie(mfa));
  const InviteCreated invite{1, 2, "a@b", 3, ChannelIds(kMaxListElements), "h", 4, 5, 6};
  EXPECT_EQ(Tie(DecodeAsOk<InviteCreated>(EncodeEvent(invite))), Tie(invite));
}

TEST(CodecTest, ListsTakeEveryArrayAndElementEncoding) {
  using Hashes = std::vector<std::string>;
  using Ids = std::vector<uint64_t>;
  const auto hashes = [](const std::string& list) {
    return DecodeAsOk<MfaEnabled>(MfaEnabledWithHashes(list)).recovery_hashes;
  };
  const auto ids = [](const std::string& list) {
    return DecodeAsOk<InviteCreated>(InviteCreatedWithChannels(list)).channel_ids;
  };
  EXPECT_EQ(hashes("\x90"s), Hashes{});
  EXPECT_EQ(hashes("\xdc\x00\x00"s), Hashes{});
  EXPECT_EQ(hashes("\xdd\x00\x00\x00\x00"s), Hashes{});
  EXPECT_EQ(hashes("\xdd\x00\x00\x00\x03\xc4\x01x\xc5\x00\x01y\xc6\x00\x00\x00\x01z"s),
            (Hashes{"x", "y", "z"}));
  EXPECT_EQ(ids("\x90"s), Ids{});
  EXPECT_EQ(ids("\xdc\x00\x04\x00\xd0\x05\xcd\x01\x2c\xcf\xff\xff\xff\xff\xff\xff\xff\xff"s),
            (Ids{0, 5, 300, kMaxU64}));
  EXPECT_EQ(ids(Array16(kMaxListElements, "\x07"s)), Ids(kMaxListElements, 7));
}

TEST(CodecTest, ListLongerThanTheBoundIsCorrupt) {
  EXPECT_EQ(ErrorDetails(MfaEnabledWithHashes(Array16(65, "\xc4\x00"s))),
            "limit exceeded: array size overflow");
  EXPECT_EQ(ErrorDetails(InviteCreatedWithChannels(Array16(65, "\x01"s))),
            "limit exceeded: array size overflow");
  // The header alone is refused: 2^32-1 claimed elements are never allocated or waited for.
  EXPECT_EQ(ErrorDetails(InviteCreatedWithChannels("\xdd\xff\xff\xff\xff"s)),
            "limit exceeded: array size overflow");
}

TEST(CodecTest, ListElementOfTheWrongTypeNamesTheElement) {
  EXPECT_EQ(ErrorDetails(MfaEnabledWithHashes("\x93\xc4\x00\xc4\x00\xa0"s)),
            "field 3 recovery_hashes[2]: expected bin, got str");
  EXPECT_EQ(ErrorDetails(MfaEnabledWithHashes("\x91\x01"s)),
            "field 3 recovery_hashes[0]: expected bin, got uint");
  EXPECT_EQ(ErrorDetails(InviteCreatedWithChannels("\x92\x05\xff"s)),
            "field 6 channel_ids[1]: expected uint, got negative int");
  EXPECT_EQ(ErrorDetails(InviteCreatedWithChannels("\x91\xc3"s)),
            "field 6 channel_ids[0]: expected uint, got bool");
  // A list or map inside a list is past the depth limit, even an empty one.
  EXPECT_EQ(ErrorDetails(InviteCreatedWithChannels("\x91\x90"s)),
            "limit exceeded: depth size overflow");
  EXPECT_EQ(ErrorDetails(InviteCreatedWithChannels("\x91\x91\x01"s)),
            "limit exceeded: depth size overflow");
  EXPECT_EQ(ErrorDetails(InviteCreatedWithChannels("\x91\x80"s)),
            "limit exceeded: depth size overflow");
  EXPECT_EQ(ErrorDetails(InviteCreatedWithChannels("\x92\x01\xc0"s)),
            "field 6 channel_ids[1]: expected uint, got nil");
}

TEST(CodecTest, ListFieldThatIsNotAnArray) {
  EXPECT_EQ(ErrorDetails(MfaEnabledWithHashes("\xc4\x00"s)),
            "field 3 recovery_hashes: expected array, got bin");
  EXPECT_EQ(ErrorDetails(InviteCreatedWithChannels("\x05"s)),
            "field 6 channel_ids: expected array, got uint");
  EXPECT_EQ(ErrorDetails(InviteCreatedWithChannels("\x80"s)),
            "field 6 channel_ids: expected array, got map");
}

TEST(CodecTest, TruncatedNestedList) {
  // Three hashes claimed, two present, and the record ends.
  EXPECT_EQ(ErrorDetails("\x96\x0f\x01\x01\x93\xc4\x01x\xc4\x01y"s), "truncated");
  // The list's array 16 header cut after its first size byte.
  EXPECT_EQ(ErrorDetails("\x9b\x16\x01\x01\x02\xa0\x03\xdc\x00"s), "truncated");
  // A list element's body cut short.
  EXPECT_EQ(ErrorDetails("\x96\x0f\x01\x01\x91\xc4\x05xy"s), "truncated");
  // A list claiming more elements than it has swallows the record's later fields, and the record
  // runs out before its last one.
  EXPECT_EQ(ErrorDetails(InviteCreatedWithChannels("\x93\x01\x02"s)), "truncated");
}

TEST(CodecTest, NewEventsWithWrongElementCount) {
  EXPECT_EQ(ErrorDetails("\x95\x0f\x01\x01\x90\x02"s), "tag 15: expected 6 elements, got 5");
  EXPECT_EQ(ErrorDetails("\x9c\x16\x01\x01\x02\xa0\x03\x90\xc4\x00\x04\x05\x06\x07"s),
            "tag 22: expected 11 elements, got 12");
}

// A record is written with the shortest array header, but any header the unpacker takes must
// read the same.
TEST(CodecTest, RecordHeaderMayBeArray16Or32) {
  EXPECT_EQ(Tie(DecodeAsOk<ChannelJoined>("\xdc\x00\x05\x05\x01\x05\x07\x09"s)),
            Tie(ChannelJoined{5, 7, 9}));
  EXPECT_EQ(Tie(DecodeAsOk<ChannelJoined>("\xdd\x00\x00\x00\x05\x05\x01\x05\x07\x09"s)),
            Tie(ChannelJoined{5, 7, 9}));
  EXPECT_EQ(ErrorDetails("\xdc\x00\x41\x05\x01"s), "limit exceeded: array size overflow");
}

TEST(CodecDeathTest, EncodingAListLongerThanTheBoundAborts) {
  EXPECT_DEATH(EncodeEvent(MfaEnabled{1, Hashes(kMaxListElements + 1), 2, 3}),
               "recovery_hashes has 65 elements, more than 64");
  EXPECT_DEATH(EncodeEvent(InviteCreated{1, 2, "", 3, ChannelIds(100), "", 4, 5, 6}),
               "channel_ids has 100 elements, more than 64");
}

TEST(CodecTest, DirectReaderAgreesWithTheUnpackerOnSmallUintsAndLists) {
  const std::vector<std::string> methods = {
      "\x00"s,         "\x7f"s,         "\xcc\xff"s,
      "\xcd\x00\xff"s, "\xcd\x01\x00"s, "\xce\x00\x00\x01\x00"s,
      "\xd0\x7f"s,     "\xd0\xff"s,     "\xd1\x00\xff"s,
      "\xc3"s,         "\xa1x"s,        "\x90"s};
  for (const std::string& method : methods) ExpectSameAsUnpacker(SessionStartedWithMethod(method));
  const std::vector<std::string> scopes = {
      "\xce\xff\xff\xff\xff"s, "\xcf\x00\x00\x00\x01\x00\x00\x00\x00"s,
      "\xd3\x00\x00\x00\x00\xff\xff\xff\xff"s, "\xd3\x00\x00\x00\x01\x00\x00\x00\x00"s,
      "\xd2\xff\xff\xff\xff"s};
  for (const std::string& s : scopes) ExpectSameAsUnpacker(ApiKeyCreatedWithScopes(s));
  const std::vector<std::string> lists = {"\x90"s,
                                          "\x91\xc4\x00"s,
                                          "\x91\xa0"s,
                                          "\x91\x90"s,
                                          "\x91\x91\x01"s,
                                          "\x91\x80"s,
                                          "\x92\x01"s,
                                          "\xdc\x00\x01\x01"s,
                                          "\xdc\x00\x01\xc4\x00"s,
                                          "\xdc\x00"s,
                                          "\xdd\x00\x00\x00"s,
                                          "\xdd\x00\x00\x00\x40"s,
                                          "\xdd\x00\x01\x00\x00"s,
                                          "\x9f"s,
                                          Array16(64, "\x01"s),
                                          Array16(64, "\xc4\x00"s),
                                          Array16(65, "\x01"s),
                                          Array16(65, "\xc4\x00"s),
                                          "\xc4\x00"s,
                                          "\x91\xd0\x01"s,
                                          "\x91\xd0\xff"s,
                                          "\x91\xc5\x00\x01z"s};
  for (const std::string& list : lists) {
    ExpectSameAsUnpacker(MfaEnabledWithHashes(list));
    ExpectSameAsUnpacker(InviteCreatedWithChannels(list));
  }
}

TEST(CodecTest, DirectReaderAgreesWithTheUnpackerOnMutatedRecords) {
  std::mt19937 rng(5);
  const std::vector<Event> events = SmallSampleEvents();
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = EncodeEvent(events[static_cast<size_t>(i) % events.size()]);
    for (int flips = 1 + i % 3; flips > 0; --flips) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    ExpectSameAsUnpacker(bytes.substr(0, bytes.size() - rng() % 3));
  }
}



TEST(DescribeEventTest, MessagePostedAsJsonWithItsNumbersAndTime) {
  const EventView view = DescribeEvent(MessagePosted{12, 2, 256, 3, "c1", "say \"hi\"\n", 1700});
  EXPECT_EQ(view.tag, EventTag::kMessagePosted);
  EXPECT_EQ(view.kind, "MessagePosted");
  EXPECT_EQ(view.at, 1700);
  EXPECT_EQ(view.json,
            R"({"kind":"MessagePosted","channel_id":12,"seq":2,"message_id":256,"author_id":3,)"
            R"("client_msg_id":"c1","text":"say \"hi\"\u000a","at":1700})");
  using Number = std::pair<std::string_view, uint64_t>;
  EXPECT_EQ(view.numbers, (std::vector<Number>{
                              {"channel_id", 12}, {"seq", 2}, {"message_id", 256}, {"author_id", 3}}));
}

TEST(DescribeEventTest, CredentialBytesShowOnlyTheirLength) {
  const EventView view = DescribeEvent(UserRegistered{42, "a@b", "A", "salt-bytes", "hash", 5});
  EXPECT_EQ(view.json,
            R"({"kind":"UserRegistered","user_id":42,"email":"a@b","display_name":"A",)"
            R"("password_salt":{"bytes":10},"password_hash":{"bytes":4},"at":5})");
}

TEST(DescribeEventTest, ListsKeepEveryElementAsANumber) {
  for (const Event& event : SampleEvents()) {
    const EventView view = DescribeEvent(event);
    EXPECT_EQ(view.tag, TagOf(event));
    EXPECT_EQ(view.json.rfind("{\"kind\":\"" + std::string(EventName(TagOf(event))) + "\"", 0),
              0u);
    EXPECT_EQ(view.json.back(), '}');
    if (const auto* invite = std::get_if<InviteCreated>(&event)) {
      size_t listed = 0;
      for (const auto& [name, value] : view.numbers) listed += name == "channel_ids";
      EXPECT_EQ(listed, invite->channel_ids.size());
    }
    EXPECT_EQ(view.json.find("\"password_hash\":\""), std::string::npos);
  }
}

}  // namespace
}  // namespace parley::persist
