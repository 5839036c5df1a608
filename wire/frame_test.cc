#include "wire/frame.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace parley::wire {
namespace {

std::span<const uint8_t> PayloadOf(const Bytes& frame) {
  return std::span<const uint8_t>(frame).subspan(kLengthPrefixBytes);
}

// Encode -> split -> verify -> unpack, asserting each stage accepts the frame.
FrameT RoundTrip(uint64_t request_id, const BodyUnion& body) {
  const Bytes bytes = EncodeFrame(request_id, body);
  const Split split = NextFrame(bytes, kDefaultMaxFrameBytes);
  EXPECT_EQ(split.status, SplitStatus::kFrame);
  EXPECT_EQ(split.payload_bytes, bytes.size() - kLengthPrefixBytes);
  Result<const Frame*> frame = VerifyFrame(PayloadOf(bytes));
  FrameT out;
  EXPECT_TRUE(frame.ok()) << (frame.ok() ? "" : frame.error().details);
  if (frame.ok()) (*frame)->UnPackTo(&out);
  return out;
}

MessageT MakeMessage(uint64_t seq, std::string text) {
  MessageT m;
  m.id = 1000 + seq;
  m.channel_id = 7;
  m.seq = seq;
  m.author_id = 42;
  m.text = std::move(text);
  m.created_at_ms = 1700000000000 + static_cast<int64_t>(seq);
  m.client_msg_id = "c-" + std::to_string(seq);
  return m;
}

Bytes PostFrame() {
  PostMessageT post;
  post.channel_id = 99;
  post.client_msg_id = "abc-123";
  post.text = "hello, world";
  return EncodeFrame(17, MakeBody(std::move(post)));
}

Bytes PageFrame() {
  MessagePageT page;
  page.channel_id = 7;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    page.messages.push_back(
        std::make_unique<MessageT>(MakeMessage(seq, "m" + std::to_string(seq))));
  }
  page.has_more = true;
  page.last_seq = 3;
  return EncodeFrame(5, MakeBody(std::move(page)));
}

// A Frame written field by field, so tests can set a body type the generated API never would.
Bytes RawFrame(uint8_t body_type, bool with_body) {
  flatbuffers::FlatBufferBuilder fbb;
  flatbuffers::Offset<void> body;
  if (with_body) body = CreatePing(fbb, 5).Union();
  return FinishFrame(fbb, 3, static_cast<Body>(body_type), body);
}

void ExpectMalformed(std::span<const uint8_t> payload, const std::string& details) {
  Result<const Frame*> frame = VerifyFrame(payload);
  ASSERT_FALSE(frame.ok());
  EXPECT_EQ(frame.error().code, ErrorCode::kMalformedFrame);
  EXPECT_EQ(frame.error().details, details);
}

// Offset of the Frame's body_type byte inside the payload.
size_t BodyTypeOffset(std::span<const uint8_t> payload) {
  const Frame* frame = GetFrame(payload.data());
  const auto* table = reinterpret_cast<const flatbuffers::Table*>(frame);
  return static_cast<size_t>(table->GetAddressOf(Frame::VT_BODY_TYPE) - payload.data());
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(FrameRoundTrip, Hello) {
  HelloT hello;
  hello.min_version = 1;
  hello.max_version = 3;
  hello.client = "parley-cli/0.1";
  FrameT frame = RoundTrip(1, MakeBody(std::move(hello)));
  EXPECT_EQ(frame.request_id, 1u);
  const HelloT* out = frame.body.AsHello();
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->min_version, 1);
  EXPECT_EQ(out->max_version, 3);
  EXPECT_EQ(out->client, "parley-cli/0.1");
}

TEST(FrameRoundTrip, PostMessage) {
  const Bytes bytes = PostFrame();
  Result<const Frame*> frame = VerifyFrame(PayloadOf(bytes));
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ((*frame)->request_id(), 17u);
  const PostMessage* post = (*frame)->body_as_PostMessage();
  ASSERT_NE(post, nullptr);
  EXPECT_EQ(post->channel_id(), 99u);
  EXPECT_EQ(post->client_msg_id()->str(), "abc-123");
  EXPECT_EQ(post->text()->str(), "hello, world");
}

TEST(FrameRoundTrip, MessagePageWithNestedMessages) {
  const Bytes bytes = PageFrame();
  Result<const Frame*> frame = VerifyFrame(PayloadOf(bytes));
  ASSERT_TRUE(frame.ok());
  FrameT out;
  (*frame)->UnPackTo(&out);
  const MessagePageT* page = out.body.AsMessagePage();
  ASSERT_NE(page, nullptr);
  ASSERT_EQ(page->messages.size(), 3u);
  EXPECT_EQ(page->messages[2]->seq, 3u);
  EXPECT_EQ(page->messages[2]->text, "m3");
  EXPECT_EQ(page->messages[2]->client_msg_id, "c-3");
  EXPECT_EQ(page->messages[0]->created_at_ms, 1700000000001);
  EXPECT_TRUE(page->has_more);
  EXPECT_EQ(page->last_seq, 3u);
}

TEST(FrameRoundTrip, RequestIdReadAndReplacedInPlace) {
  const Bytes page = PageFrame();
  EXPECT_EQ(RequestIdOf(page), 5u);
  for (uint64_t id : {uint64_t{0}, uint64_t{1}, ~uint64_t{0}, uint64_t{0x0102030405060708}}) {
    const Bytes answer = WithRequestId(page, id);
    ASSERT_EQ(answer.size(), page.size());
    EXPECT_EQ(RequestIdOf(answer), id);
    Result<const Frame*> frame = VerifyFrame(PayloadOf(answer));
    ASSERT_TRUE(frame.ok());
    EXPECT_EQ((*frame)->request_id(), id);
    FrameT out;
    (*frame)->UnPackTo(&out);
    ASSERT_NE(out.body.AsMessagePage(), nullptr);
    EXPECT_EQ(out.body.AsMessagePage()->messages.size(), 3u);  // the body is untouched
  }
  EXPECT_EQ(RequestIdOf(EncodeFrame(0, MakeBody(PingT{}))), 0u);  // absent field
}

TEST(FrameRoundTrip, LoginOkWithChannelCursors) {
  LoginOkT login;
  login.user_id = 12;
  login.display_name = "Ada";
  login.token = "t0k3n";
  for (uint64_t c = 1; c <= 2; ++c) {
    auto cursor = std::make_unique<ChannelCursorT>();
    cursor->channel_id = c;
    cursor->workspace_id = 100;
    cursor->last_seq = c * 10;
    login.channels.push_back(std::move(cursor));
  }
  FrameT frame = RoundTrip(9, MakeBody(std::move(login)));
  const LoginOkT* out = frame.body.AsLoginOk();
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->display_name, "Ada");
  ASSERT_EQ(out->channels.size(), 2u);
  EXPECT_EQ(out->channels[1]->last_seq, 20u);
}

TEST(FrameRoundTrip, EventWithRequestIdZero) {
  MessagePostedT posted;
  posted.message = std::make_unique<MessageT>(MakeMessage(41, "ping @here"));
  FrameT frame = RoundTrip(0, MakeBody(std::move(posted)));
  EXPECT_EQ(frame.request_id, 0u);
  const MessagePostedT* out = frame.body.AsMessagePosted();
  ASSERT_NE(out, nullptr);
  ASSERT_NE(out->message, nullptr);
  EXPECT_EQ(out->message->seq, 41u);
  EXPECT_EQ(out->message->text, "ping @here");
}

TEST(FrameRoundTrip, EmptyTableBody) {
  FrameT frame = RoundTrip(4, MakeBody(OkT{}));
  EXPECT_EQ(frame.body.type, Body::Ok);
  EXPECT_NE(frame.body.AsOk(), nullptr);
}

TEST(FrameRoundTrip, ErrorThroughEncodeErrorAndToError) {
  const Bytes bytes =
      EncodeError(8, MakeError(ErrorCode::kInvalidArgument, "text too long", "text"));
  Result<const Frame*> frame = VerifyFrame(PayloadOf(bytes));
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ((*frame)->request_id(), 8u);
  const parley::Error error = ToError((*frame)->body_as_Error());
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.message, "text too long");
  EXPECT_EQ(error.details, "text");
}

TEST(FrameRoundTrip, ErrorKeepsEmbeddedNulAndUnknownCode) {
  parley::Error in = MakeError(static_cast<ErrorCode>(999), std::string("a\0b", 3));
  const Bytes bytes = EncodeError(1, in);
  Result<const Frame*> frame = VerifyFrame(PayloadOf(bytes));
  ASSERT_TRUE(frame.ok());
  const parley::Error out = ToError((*frame)->body_as_Error());
  EXPECT_EQ(static_cast<uint16_t>(out.code), 999);
  EXPECT_EQ(out.message, std::string("a\0b", 3));
  EXPECT_EQ(out.details, "");
}

TEST(FrameRoundTrip, ToErrorOfNullIsInternal) {
  EXPECT_EQ(ToError(nullptr).code, ErrorCode::kInternal);
}

TEST(FrameRoundTrip, LengthPrefixIsLittleEndianPayloadSize) {
  const Bytes bytes = PageFrame();
  const uint32_t length = bytes[0] | bytes[1] << 8 | bytes[2] << 16 | bytes[3] << 24;
  EXPECT_EQ(length, bytes.size() - kLengthPrefixBytes);
}

// ---------------------------------------------------------------------------------------------
// NextFrame

Bytes Header(uint32_t length) {
  return Bytes{static_cast<uint8_t>(length), static_cast<uint8_t>(length >> 8),
               static_cast<uint8_t>(length >> 16), static_cast<uint8_t>(length >> 24)};
}

TEST(NextFrame, PartialHeaderNeedsMore) {
  const Bytes header = Header(10);
  for (size_t n = 0; n < kLengthPrefixBytes; ++n) {
    const Split split = NextFrame(std::span<const uint8_t>(header).first(n), 100);
    EXPECT_EQ(split.status, SplitStatus::kNeedMore) << n;
  }
}

TEST(NextFrame, PartialPayloadNeedsMoreAndReportsLength) {
  Bytes buf = Header(10);
  for (int i = 0; i < 10; ++i) {
    const Split split = NextFrame(buf, 100);
    EXPECT_EQ(split.status, SplitStatus::kNeedMore) << i;
    EXPECT_EQ(split.payload_bytes, 10u);
    buf.push_back(static_cast<uint8_t>(i));
  }
  const Split split = NextFrame(buf, 100);
  EXPECT_EQ(split.status, SplitStatus::kFrame);
  EXPECT_EQ(split.payload_bytes, 10u);
}

TEST(NextFrame, TrailingBytesBelongToTheNextFrame) {
  Bytes buf = PostFrame();
  const size_t first = buf.size() - kLengthPrefixBytes;
  const Bytes second = PageFrame();
  buf.insert(buf.end(), second.begin(), second.begin() + 2);
  const Split split = NextFrame(buf, kDefaultMaxFrameBytes);
  EXPECT_EQ(split.status, SplitStatus::kFrame);
  EXPECT_EQ(split.payload_bytes, first);
}

TEST(NextFrame, LengthIsLittleEndian) {
  const Bytes buf{0x01, 0x02, 0x00, 0x00};
  const Split split = NextFrame(buf, 1000);
  EXPECT_EQ(split.status, SplitStatus::kNeedMore);
  EXPECT_EQ(split.payload_bytes, 0x0201u);
}

TEST(NextFrame, ExactlyMaxIsAcceptedFromTheHeader) {
  const Split split = NextFrame(Header(kDefaultMaxFrameBytes), kDefaultMaxFrameBytes);
  EXPECT_EQ(split.status, SplitStatus::kNeedMore);
  EXPECT_EQ(split.payload_bytes, kDefaultMaxFrameBytes);
}

TEST(NextFrame, ExactlyMaxWithPayloadIsAFrame) {
  Bytes buf = Header(64);
  buf.resize(kLengthPrefixBytes + 64);
  EXPECT_EQ(NextFrame(buf, 64).status, SplitStatus::kFrame);
}

TEST(NextFrame, MaxPlusOneIsTooLargeFromTheHeaderAlone) {
  const Split split = NextFrame(Header(kDefaultMaxFrameBytes + 1), kDefaultMaxFrameBytes);
  EXPECT_EQ(split.status, SplitStatus::kTooLarge);
  EXPECT_EQ(split.payload_bytes, kDefaultMaxFrameBytes + 1);
  EXPECT_EQ(NextFrame(Header(0xFFFFFFFFu), kDefaultMaxFrameBytes).status, SplitStatus::kTooLarge);
}

TEST(NextFrame, ZeroLengthIsEmpty) {
  EXPECT_EQ(NextFrame(Header(0), kDefaultMaxFrameBytes).status, SplitStatus::kEmpty);
}

// ---------------------------------------------------------------------------------------------
// VerifyFrame: hostile input

// The builder pads at the buffer's tail, so dropping only zero padding may still verify; a cut
// into anything the frame references must not.
TEST(VerifyFrame, EveryTruncationIntoDataIsMalformed) {
  for (const Bytes& bytes : {PostFrame(), PageFrame(), EncodeFrame(2, MakeBody(OkT{}))}) {
    const std::span<const uint8_t> payload = PayloadOf(bytes);
    size_t accepted = 0;
    for (size_t n = 0; n < payload.size(); ++n) {
      Result<const Frame*> frame = VerifyFrame(payload.first(n));
      if (frame.ok()) {
        ++accepted;
        const auto dropped = payload.subspan(n);
        EXPECT_TRUE(std::all_of(dropped.begin(), dropped.end(), [](uint8_t b) { return b == 0; }))
            << "prefix " << n << " of " << payload.size() << " dropped data yet verified";
      } else {
        EXPECT_EQ(frame.error().code, ErrorCode::kMalformedFrame);
      }
    }
    EXPECT_LT(accepted, 8u);
  }
}

TEST(VerifyFrame, TooShortPayload) {
  const uint8_t bytes[4] = {4, 0, 0, 0};
  ExpectMalformed(std::span<const uint8_t>(bytes, 4), "payload of 4 bytes");
  ExpectMalformed(std::span<const uint8_t>(), "payload of 0 bytes");
}

// Whatever the verifier accepts must be safe to read all the way down.
void VerifyAndWalk(std::span<const uint8_t> payload, int& accepted) {
  Result<const Frame*> frame = VerifyFrame(payload);
  if (!frame.ok()) {
    EXPECT_EQ(frame.error().code, ErrorCode::kMalformedFrame);
    return;
  }
  ++accepted;
  FrameT out;
  (*frame)->UnPackTo(&out);
  EXPECT_NE(out.body.type, Body::NONE);
  EXPECT_NE(out.body.value, nullptr);
}

TEST(VerifyFrame, RandomBytesNeverCrash) {
  std::mt19937 rng(20240601);
  int accepted = 0;
  constexpr int kIterations = 5000;
  for (int i = 0; i < kIterations; ++i) {
    Bytes payload(std::uniform_int_distribution<size_t>(0, 300)(rng));
    for (uint8_t& b : payload) b = static_cast<uint8_t>(rng());
    // Small root offsets make the verifier look further than a uniform 32-bit offset would.
    if (payload.size() >= 4 && i % 2 == 0) payload[2] = payload[3] = 0;
    VerifyAndWalk(payload, accepted);
  }
  EXPECT_LT(accepted, kIterations / 20);
}

TEST(VerifyFrame, MutatedValidFramesNeverCrash) {
  std::mt19937 rng(7);
  const std::vector<Bytes> seeds = {PostFrame(), PageFrame(), RawFrame(3, true)};
  int accepted = 0;
  for (int i = 0; i < 5000; ++i) {
    Bytes payload(seeds[i % seeds.size()].begin() + kLengthPrefixBytes,
                  seeds[i % seeds.size()].end());
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) payload[rng() % payload.size()] = static_cast<uint8_t>(rng());
    VerifyAndWalk(payload, accepted);
  }
  // Flips in scalar fields leave frames valid; this only proves both outcomes happen.
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 5000);
}

TEST(VerifyFrame, CorruptedUnionTypeAboveMax) {
  Bytes bytes = PostFrame();
  Bytes payload(bytes.begin() + kLengthPrefixBytes, bytes.end());
  payload[BodyTypeOffset(payload)] = 200;
  ExpectMalformed(payload, "unknown body type 200");
}

TEST(VerifyFrame, CorruptedUnionTypeReinterpretsBodyAndFails) {
  // A Ping whose nonce, read as CreateWorkspace.name, is a string offset far past the end.
  PingT ping;
  ping.nonce = 0x7FFFFFF0;
  const Bytes bytes = EncodeFrame(1, MakeBody(std::move(ping)));
  Bytes payload(bytes.begin() + kLengthPrefixBytes, bytes.end());
  ASSERT_TRUE(VerifyFrame(payload).ok());
  payload[BodyTypeOffset(payload)] = static_cast<uint8_t>(Body::CreateWorkspace);
  ExpectMalformed(payload, "flatbuffers verifier rejected the payload");
}

TEST(VerifyFrame, BodyTypeAboveMaxFromNewerPeer) {
  const uint8_t type = static_cast<uint8_t>(Body::MAX) + 1;
  const Bytes bytes = RawFrame(type, true);
  ExpectMalformed(PayloadOf(bytes), "unknown body type " + std::to_string(type));
}

TEST(VerifyFrame, NoBodyIsRejected) {
  const Bytes bytes = RawFrame(0, false);
  ExpectMalformed(PayloadOf(bytes), "unknown body type 0");
}

TEST(VerifyFrame, TypeWithoutBodyIsRejected) {
  const Bytes bytes = RawFrame(static_cast<uint8_t>(Body::Ping), false);
  ExpectMalformed(PayloadOf(bytes), "missing body for type Ping");
}

TEST(VerifyFrame, RawFrameWithKnownTypeVerifies) {
  const Bytes bytes = RawFrame(static_cast<uint8_t>(Body::Ping), true);
  Result<const Frame*> frame = VerifyFrame(PayloadOf(bytes));
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ((*frame)->body_as_Ping()->nonce(), 5u);
}

// One Message table referenced `count` times: tiny on the wire, `count` tables to verify.
Bytes SharedMessagePage(size_t count) {
  flatbuffers::FlatBufferBuilder fbb;
  const MessageT message = MakeMessage(1, "x");
  const auto one = CreateMessage(fbb, &message);
  std::vector<flatbuffers::Offset<Message>> refs(count, one);
  const auto page = CreateMessagePage(fbb, 7, fbb.CreateVector(refs), false, 1);
  return FinishFrame(fbb, 1, Body::MessagePage, page.Union());
}

TEST(VerifyFrame, SharedTablesWithinTheLimitVerify) {
  const Bytes bytes = SharedMessagePage(1000);
  EXPECT_TRUE(VerifyFrame(PayloadOf(bytes)).ok());
}

TEST(VerifyFrame, TableCountLimitStopsAmplification) {
  const Bytes bytes = SharedMessagePage(kMaxVerifierTables + 1);
  ASSERT_LE(bytes.size(), kDefaultMaxFrameBytes);
  ExpectMalformed(PayloadOf(bytes), "flatbuffers verifier rejected the payload");
}

// A frame at any offset of the stream splits, and its payload copied into aligned storage, as
// the shard and the Client do, verifies and reads. Verifying it in place would not be portable:
// FlatBuffers' verifier and accessors then dereference misaligned pointers (UBSan reports it).
TEST(VerifyFrame, PayloadAtUnalignedOffsetsVerifiesOnceCopiedAligned) {
  const Bytes page = PageFrame();
  for (size_t offset = 1; offset <= 7; ++offset) {
    Bytes buf(offset, 0xAA);
    buf.insert(buf.end(), page.begin(), page.end());
    const std::span<const uint8_t> stream = std::span<const uint8_t>(buf).subspan(offset);
    const Split split = NextFrame(stream, kDefaultMaxFrameBytes);
    ASSERT_EQ(split.status, SplitStatus::kFrame) << offset;
    std::vector<uint64_t> aligned((split.payload_bytes + 7) / 8);
    std::memcpy(aligned.data(), stream.data() + kLengthPrefixBytes, split.payload_bytes);
    Result<const Frame*> frame = VerifyFrame(
        {reinterpret_cast<const uint8_t*>(aligned.data()), split.payload_bytes});
    ASSERT_TRUE(frame.ok()) << "offset " << offset;
    EXPECT_EQ((*frame)->body_as_MessagePage()->messages()->Get(1)->seq(), 2u);
  }
}

}  // namespace
}  // namespace parley::wire
