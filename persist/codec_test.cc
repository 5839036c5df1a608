#include "persist/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace parley::persist {
namespace {

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

constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();

// One event of every kind, with edge values: 0, max, negative time, empty and binary strings.
std::vector<Event> SampleEvents() {
  return {
      UserRegistered{42, "ada@example.com", "Ada Lovelace", "\x00\x01\xff salt"s,
                     std::string(32, '\xab'), 1700000000123},
      WorkspaceCreated{kMaxU64, "Analytical Engines", 7, 1000, 1001, 0},
      WorkspaceJoined{3, 9, -1},
      ChannelCreated{3, 77, "design-reviews", true, 9, std::numeric_limits<int64_t>::min()},
      ChannelCreated{3, 78, "", false, 0, std::numeric_limits<int64_t>::max()},
      ChannelJoined{77, 9, 1700000000999},
      ChannelLeft{77, 9, 1700000001000},
      MessagePosted{77, 1, 500, 9, "", "hello \xf0\x9f\x91\x8b", 1700000001234},
      MessagePosted{77, kMaxU64, 501, 9, "client-id-1", std::string(70000, 'x'), 5},
  };
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
  const std::vector<Event> events = SampleEvents();
  for (int i = 0; i < 5000; ++i) {
    std::string bytes = EncodeEvent(events[static_cast<size_t>(i) % 8]);  // skip the 70 KB one
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

}  // namespace
}  // namespace parley::persist
