// TlsStream pairs talking through memory: records as parleyd and the client cut them, key
// updates, close_notify, and broken input. The certificate is made with the openssl command.
#include "wire/tls.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace parley::wire {
namespace {

// TLS 1.3 record overhead with an AEAD cipher: 5 bytes of header, 1 of inner content type, 16
// of tag.
constexpr size_t kRecordOverhead = 22;

class TlsStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/parley-tls-unit-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    const std::string cmd =
        "cd " + *dir_ +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-keyout key.pem -out cert.pem -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  void SetUp() override {
    auto server_ctx = TlsContext::ForServer(*dir_ + "/cert.pem", *dir_ + "/key.pem");
    ASSERT_TRUE(server_ctx.ok()) << server_ctx.error().message;
    auto client_ctx = TlsContext::ForClient(*dir_ + "/cert.pem");
    ASSERT_TRUE(client_ctx.ok()) << client_ctx.error().message;
    auto server = TlsStream::Accept(**server_ctx);
    auto client = TlsStream::Connect(**client_ctx, "localhost");
    ASSERT_TRUE(server.ok() && client.ok());
    server_ = std::move(*server);
    client_ = std::move(*client);
  }

  // Moves everything `from` has to say into `to`; returns the plaintext `to` got.
  static std::string Pass(TlsStream& from, TlsStream& to, TlsStream::Input* input = nullptr) {
    std::vector<uint8_t> wire;
    from.TakeOutput(&wire);
    std::vector<uint8_t> plain;
    auto got = to.Receive(wire, &plain);
    EXPECT_TRUE(got.ok()) << got.error().message << ": " << got.error().details;
    if (input != nullptr && got.ok()) *input = *got;
    return std::string(plain.begin(), plain.end());
  }

  void Handshake() {
    for (int i = 0; i < 4 && !(server_->handshake_done() && client_->handshake_done()); ++i) {
      Pass(*client_, *server_);
      Pass(*server_, *client_);
    }
    ASSERT_TRUE(server_->handshake_done());
    ASSERT_TRUE(client_->handshake_done());
    EXPECT_EQ(server_->protocol(), "TLSv1.3");
  }

  static Status Write(TlsStream& s, const std::string& text) {
    return s.Write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }

  static std::string* dir_;
  std::unique_ptr<TlsStream> server_, client_;
};
std::string* TlsStreamTest::dir_ = nullptr;

TEST_F(TlsStreamTest, SmallWritesGatherIntoOneRecord) {
  Handshake();
  std::string sent;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Write(*server_, "frame " + std::to_string(i) + ";").ok());
    sent += "frame " + std::to_string(i) + ";";
  }
  EXPECT_EQ(server_->pending_output(), 0u);  // gathered, not yet a record
  ASSERT_TRUE(server_->Flush().ok());
  EXPECT_EQ(server_->pending_output(), sent.size() + kRecordOverhead);
  EXPECT_EQ(Pass(*server_, *client_), sent);
}

TEST_F(TlsStreamTest, LargeWritesGoOutAsFullRecords) {
  Handshake();
  const std::string big(40000, 'b');
  ASSERT_TRUE(Write(*server_, big).ok());
  EXPECT_EQ(server_->pending_output(), big.size() + 3 * kRecordOverhead);  // 16K + 16K + 7,232
  EXPECT_EQ(Pass(*server_, *client_), big);
}

TEST_F(TlsStreamTest, RecordsSplitAnywhereReassemble) {
  Handshake();
  ASSERT_TRUE(Write(*client_, "hello, server").ok());
  ASSERT_TRUE(client_->Flush().ok());
  std::vector<uint8_t> wire;
  client_->TakeOutput(&wire);
  std::vector<uint8_t> plain;
  for (uint8_t byte : wire) {
    auto got = server_->Receive({&byte, 1}, &plain);
    ASSERT_TRUE(got.ok());
  }
  EXPECT_EQ(std::string(plain.begin(), plain.end()), "hello, server");
}

TEST_F(TlsStreamTest, KeyUpdateIsAnsweredAndTrafficGoesOn) {
  Handshake();
  ASSERT_TRUE(client_->RequestKeyUpdate().ok());
  EXPECT_GT(client_->pending_output(), 0u);
  EXPECT_EQ(Pass(*client_, *server_), "");
  // The server's own KeyUpdate goes out ahead of its next data, which the client still reads.
  ASSERT_TRUE(Write(*server_, "after the update").ok());
  ASSERT_TRUE(server_->Flush().ok());
  EXPECT_EQ(Pass(*server_, *client_), "after the update");
  ASSERT_TRUE(Write(*client_, "and back").ok());
  ASSERT_TRUE(client_->Flush().ok());
  EXPECT_EQ(Pass(*client_, *server_), "and back");
}

TEST_F(TlsStreamTest, CloseNotifyEndsTheStream) {
  Handshake();
  ASSERT_TRUE(Write(*client_, "last words").ok());
  client_->Close();  // flushes what was gathered first
  EXPECT_TRUE(client_->close_sent());
  EXPECT_FALSE(Write(*client_, "more").ok());
  TlsStream::Input input = TlsStream::Input::kOpen;
  EXPECT_EQ(Pass(*client_, *server_, &input), "last words");
  EXPECT_EQ(input, TlsStream::Input::kPeerClosed);
}

TEST_F(TlsStreamTest, PlaintextIsRefusedWithTheReason) {
  const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<uint8_t> plain;
  auto got = server_->Receive({reinterpret_cast<const uint8_t*>(http.data()), http.size()}, &plain);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message, "TLS handshake failed");
  EXPECT_NE(got.error().details.find("http request"), std::string::npos) << got.error().details;
  EXPECT_TRUE(server_->failed());
  EXPECT_FALSE(server_->Receive({}, &plain).ok());
}

TEST_F(TlsStreamTest, ACorruptRecordFailsTheStream) {
  Handshake();
  ASSERT_TRUE(Write(*server_, "intact?").ok());
  ASSERT_TRUE(server_->Flush().ok());
  std::vector<uint8_t> wire;
  server_->TakeOutput(&wire);
  wire[wire.size() / 2] ^= 0x40;
  std::vector<uint8_t> plain;
  auto got = client_->Receive(wire, &plain);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message, "TLS error");
  EXPECT_TRUE(plain.empty());
}

TEST_F(TlsStreamTest, ContextsNameTheFileAtFault) {
  auto missing = TlsContext::ForServer(*dir_ + "/absent.pem", *dir_ + "/key.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().details, "cert_file");
  auto swapped = TlsContext::ForServer(*dir_ + "/cert.pem", *dir_ + "/cert.pem");
  ASSERT_FALSE(swapped.ok());
  EXPECT_EQ(swapped.error().details, "key_file");
  auto ca = TlsContext::ForClient(*dir_ + "/absent.pem");
  ASSERT_FALSE(ca.ok());
  EXPECT_EQ(ca.error().details, "ca_file");
}

}  // namespace
}  // namespace parley::wire
