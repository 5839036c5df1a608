// The protocol's edges against a real parleyd: handshake, verification, framing. Every bad
// input gets an error frame; only broken framing closes the connection; nothing else is affected.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "tests/test_server.h"

namespace parley::testing {
namespace {

class ProtocolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    server_->Start();
  }
  static void TearDownTestSuite() { delete server_; }

  std::unique_ptr<wire::Client> Raw() const {
    wire::ClientOptions o;
    o.port = server_->port();
    o.timeout_ms = 5000;
    o.send_hello = false;
    auto c = wire::Client::Connect(o);
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }

  static wire::Bytes HelloFrame(uint16_t lo, uint16_t hi) {
    wire::HelloT hello;
    hello.min_version = lo;
    hello.max_version = hi;
    hello.client = "protocol-test";
    return wire::EncodeFrame(1, wire::MakeBody(std::move(hello)));
  }

  // Another client, on whatever shard, still gets served.
  static void ExpectServerHealthy() {
    auto other = server_->SignedIn("bystander@example.com");
    EXPECT_TRUE(other->Ping().ok());
  }

  static wire::Bytes PingFrame(uint64_t request_id, uint64_t nonce) {
    wire::PingT ping;
    ping.nonce = nonce;
    return wire::EncodeFrame(request_id, wire::MakeBody(std::move(ping)));
  }

  static ErrorCode ErrorOf(const Result<wire::FrameT>& f) {
    if (!f.ok()) return f.error().code;
    const wire::ErrorT* e = f->body.AsError();
    return e ? static_cast<ErrorCode>(e->code) : ErrorCode::kOk;
  }

  static TestServer* server_;
};
TestServer* ProtocolTest::server_ = nullptr;

TEST_F(ProtocolTest, WelcomeNegotiatesVersionOne) {
  auto c = server_->Connect();
  EXPECT_EQ(c->welcome().version, 1);
  EXPECT_EQ(c->welcome().max_frame_bytes, 1u << 20);
  EXPECT_LT(c->welcome().shard, 2);
}

TEST_F(ProtocolTest, UnsupportedVersionIsRefusedAndClosed) {
  auto c = Raw();
  wire::Bytes hello = HelloFrame(2, 5);
  ASSERT_TRUE(c->SendRaw(hello.data(), hello.size()).ok());
  auto reply = c->ReadFrame();
  ASSERT_TRUE(reply.ok());
  ASSERT_NE(reply->body.AsError(), nullptr);
  EXPECT_EQ(reply->body.AsError()->code, static_cast<uint16_t>(ErrorCode::kUnsupportedVersion));
  EXPECT_FALSE(c->ReadFrame().ok());
  EXPECT_TRUE(c->closed());
  ExpectServerHealthy();
}

TEST_F(ProtocolTest, RequestBeforeHelloIsAnsweredHelloRequired) {
  auto c = Raw();
  wire::Bytes ping = PingFrame(9, 7);
  ASSERT_TRUE(c->SendRaw(ping.data(), ping.size()).ok());
  auto reply = c->ReadFrame();
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->request_id, 9u);
  EXPECT_EQ(ErrorOf(reply), ErrorCode::kHelloRequired);
  // Still open: a Hello now works.
  wire::Bytes hello = HelloFrame(1, 1);
  ASSERT_TRUE(c->SendRaw(hello.data(), hello.size()).ok());
  auto welcome = c->ReadFrame();
  ASSERT_TRUE(welcome.ok());
  EXPECT_NE(welcome->body.AsWelcome(), nullptr);
}

TEST_F(ProtocolTest, TruncatedFlatBufferIsMalformedAndConnectionSurvives) {
  auto c = server_->Connect();
  wire::Bytes ping = PingFrame(5, 42);
  // Keep the frame self-consistent but cut the FlatBuffer in half.
  uint32_t half = static_cast<uint32_t>((ping.size() - 4) / 2);
  wire::Bytes cut(4 + half);
  std::memcpy(cut.data(), &half, 4);
  std::memcpy(cut.data() + 4, ping.data() + 4, half);
  ASSERT_TRUE(c->SendRaw(cut.data(), cut.size()).ok());
  auto reply = c->ReadFrame();
  EXPECT_EQ(ErrorOf(reply), ErrorCode::kMalformedFrame);
  EXPECT_TRUE(c->Ping().ok());
}

TEST_F(ProtocolTest, RandomBytesAreMalformedNeverFatal) {
  auto c = server_->Connect();
  std::mt19937 rng(1234);
  for (int i = 0; i < 200; ++i) {
    uint32_t n = 1 + rng() % 300;
    wire::Bytes frame(4 + n);
    std::memcpy(frame.data(), &n, 4);
    for (uint32_t j = 0; j < n; ++j) frame[4 + j] = static_cast<uint8_t>(rng());
    ASSERT_TRUE(c->SendRaw(frame.data(), frame.size()).ok());
    auto reply = c->ReadFrame();
    ASSERT_TRUE(reply.ok()) << "iteration " << i;
    // Random bytes may rarely verify as some frame; they must never go unanswered.
    EXPECT_TRUE(reply->body.type != wire::Body::NONE);
  }
  EXPECT_TRUE(c->Ping().ok());
  ExpectServerHealthy();
}

TEST_F(ProtocolTest, UnknownUnionTypeIsMalformed) {
  auto c = server_->Connect();
  flatbuffers::FlatBufferBuilder fbb;
  auto ping = wire::CreatePing(fbb, 1);
  wire::FrameBuilder fb(fbb);
  fb.add_request_id(3);
  fb.add_body_type(static_cast<wire::Body>(200));
  fb.add_body(ping.Union());
  fbb.Finish(fb.Finish());
  uint32_t n = fbb.GetSize();
  wire::Bytes frame(4 + n);
  std::memcpy(frame.data(), &n, 4);
  std::memcpy(frame.data() + 4, fbb.GetBufferPointer(), n);
  ASSERT_TRUE(c->SendRaw(frame.data(), frame.size()).ok());
  EXPECT_EQ(ErrorOf(c->ReadFrame()), ErrorCode::kMalformedFrame);
  EXPECT_TRUE(c->Ping().ok());
}

TEST_F(ProtocolTest, ServerOnlyBodyIsBadRequest) {
  auto c = server_->Connect();
  auto reply = c->Call(wire::MakeBody(wire::PostAckT{}));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, ErrorCode::kBadRequest);
}

TEST_F(ProtocolTest, OversizedFrameIsRefusedAndClosed) {
  auto c = server_->Connect();
  uint32_t n = (1u << 20) + 1;
  uint8_t header[4];
  std::memcpy(header, &n, 4);
  ASSERT_TRUE(c->SendRaw(header, 4).ok());
  auto reply = c->ReadFrame();
  EXPECT_EQ(ErrorOf(reply), ErrorCode::kFrameTooLarge);
  EXPECT_FALSE(c->ReadFrame().ok());
  EXPECT_TRUE(c->closed());
  ExpectServerHealthy();
}

TEST_F(ProtocolTest, ZeroLengthFrameClosesTheConnection) {
  auto c = server_->Connect();
  uint8_t zero[4] = {0, 0, 0, 0};
  ASSERT_TRUE(c->SendRaw(zero, 4).ok());
  EXPECT_EQ(ErrorOf(c->ReadFrame()), ErrorCode::kMalformedFrame);
  EXPECT_FALSE(c->ReadFrame().ok());
  ExpectServerHealthy();
}

TEST_F(ProtocolTest, FramesSplitAcrossWritesAndBatchedInOneWrite) {
  auto c = server_->Connect();
  wire::Bytes all;
  for (uint64_t id = 100; id < 110; ++id) {
    wire::Bytes f = PingFrame(id, id);
    all.insert(all.end(), f.begin(), f.end());
  }
  // One byte at a time for the first frame, the rest in one write.
  for (size_t i = 0; i < 10; ++i) ASSERT_TRUE(c->SendRaw(&all[i], 1).ok());
  ASSERT_TRUE(c->SendRaw(all.data() + 10, all.size() - 10).ok());
  for (uint64_t id = 100; id < 110; ++id) {
    auto reply = c->ReadFrame();
    ASSERT_TRUE(reply.ok());
    ASSERT_NE(reply->body.AsPong(), nullptr);
    EXPECT_EQ(reply->body.AsPong()->nonce, id);
    EXPECT_EQ(reply->request_id, id);
  }
}

TEST_F(ProtocolTest, UnauthenticatedRequestsAreRefused) {
  auto c = server_->Connect();
  auto r = c->CreateWorkspace("nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
}

TEST_F(ProtocolTest, LoginErrorsDoNotRevealWhetherAnEmailExists) {
  server_->SignedIn("known@example.com");
  auto c = server_->Connect();
  auto wrong_password = c->Login("known@example.com", "not the password");
  auto unknown_email = c->Login("unknown@example.com", "not the password");
  ASSERT_FALSE(wrong_password.ok());
  ASSERT_FALSE(unknown_email.ok());
  EXPECT_EQ(wrong_password.error().code, ErrorCode::kInvalidCredentials);
  EXPECT_EQ(unknown_email.error().code, ErrorCode::kInvalidCredentials);
  EXPECT_EQ(wrong_password.error().message, unknown_email.error().message);
}

TEST_F(ProtocolTest, TokenLoginAndForgedToken) {
  wire::LoginOkT login;
  server_->SignedIn("tokens@example.com", &login);
  auto c = server_->Connect();
  auto ok = c->LoginWithToken(login.token);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->user_id, login.user_id);
  std::string forged = login.token;
  forged.back() = forged.back() == '0' ? '1' : '0';
  auto c2 = server_->Connect();
  auto bad = c2->LoginWithToken(forged);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidCredentials);
}

TEST_F(ProtocolTest, DuplicateRegistrationIsAlreadyExistsWhateverTheCase) {
  auto c = server_->Connect();
  ASSERT_TRUE(c->Register("dup@example.com", "long enough pw", "Dup").ok());
  auto again = c->Register("  DUP@Example.com ", "long enough pw", "Dup");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  auto weak = c->Register("weak@example.com", "short", "Weak");
  ASSERT_FALSE(weak.ok());
  EXPECT_EQ(weak.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace parley::testing
