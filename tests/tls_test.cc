// The client port over TLS (--tls_cert_file, --tls_key_file): the chat path end to end, frames
// and records cut every way, key updates and close_notify, a stalled reader, and every kind of
// refused client ending only its own connection. Certificates are made per test server
// (MakeTestCerts).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_server.h"

namespace parley::testing {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TestServerOptions options;
    options.durability = "async";
    options.tls = true;
    server_ = new TestServer(options);
    server_->Start();
  }
  static void TearDownTestSuite() { delete server_; }

  // A workspace of `owner` that anyone may join; answers its general channel.
  static uint64_t OpenChannel(wire::Client& owner) {
    auto ws = owner.CreateWorkspace("Secure");
    EXPECT_TRUE(ws.ok()) << ws.error().message;
    OpenWorkspace(owner, ws->id);
    workspace_ = ws->id;
    return ws->general_channel_id;
  }

  static std::unique_ptr<wire::Client> Member(const std::string& who) {
    auto c = server_->SignedIn(Email(who));
    EXPECT_TRUE(c->JoinWorkspace(workspace_).ok());
    return c;
  }

  static wire::MessageT NextMessage(wire::Client& c, uint64_t channel) {
    for (;;) {
      auto e = c.NextEvent(10000);
      if (!e.ok()) {
        ADD_FAILURE() << "no event: " << e.error().message;
        return {};
      }
      auto* posted = e->body.AsMessagePosted();
      if (posted && posted->message->channel_id == channel) return *posted->message;
    }
  }

  static bool LogSays(const std::string& text) {
    for (int i = 0; i < 200; ++i) {
      std::ifstream in(server_->log_path());
      std::string log((std::istreambuf_iterator<char>(in)), {});
      if (log.find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  static TestServer* server_;
  static uint64_t workspace_;
};
TestServer* TlsTest::server_ = nullptr;
uint64_t TlsTest::workspace_ = 0;

wire::Bytes PingFrame(uint64_t request_id) {
  wire::PingT ping;
  ping.nonce = request_id;
  return wire::EncodeFrame(request_id, wire::MakeBody(std::move(ping)));
}

// A TLS handshake by a client that offers TLS 1.2 at most, on a blocking socket. Answers the
// negotiated version, or "" when the server refused.
std::string Tls12Handshake(uint16_t port, const std::string& ca_file) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "connect failed";
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  std::string version = SSL_connect(ssl) == 1 ? SSL_get_version(ssl) : "";
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return version;
}

TEST_F(TlsTest, SignInPostAndFanOutAcrossShards) {
  auto owner = server_->SignedIn(Email("owner"));
  EXPECT_EQ(owner->tls_protocol(), "TLSv1.3");
  const uint64_t ch = OpenChannel(*owner);
  // Sessions on both shards (the kernel spreads connections by 4-tuple hash): each encrypts
  // the one shared event frame itself.
  std::vector<std::unique_ptr<wire::Client>> readers;
  std::set<uint16_t> shards;
  for (int i = 0; i < 64 && (readers.size() < 4 || shards.size() < 2); ++i) {
    readers.push_back(Member("reader" + std::to_string(i)));
    shards.insert(readers.back()->welcome().shard);
  }
  ASSERT_EQ(shards.size(), 2u) << "connections never reached both shards";
  for (int n = 1; n <= 20; ++n) {
    auto ack = owner->Post(ch, "over tls " + std::to_string(n));
    ASSERT_TRUE(ack.ok()) << ack.error().message;
  }
  for (auto& reader : readers) {
    for (uint64_t n = 1; n <= 20; ++n) {
      wire::MessageT m = NextMessage(*reader, ch);
      ASSERT_EQ(m.seq, n);
      EXPECT_EQ(m.text, "over tls " + std::to_string(n));
    }
  }
}

TEST_F(TlsTest, LargeFramesNearTheMaximumBothWays) {
  auto owner = server_->SignedIn(Email("owner"));
  const uint64_t ch = OpenChannel(*owner);
  // In: a request just under the 1 MiB frame limit spans 64 records; its text is too long for
  // a message, which the answer says, and the connection goes on.
  auto big = owner->Post(ch, std::string((1 << 20) - 256, 'b'));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidArgument);
  // Out: a history page of 200 messages of 4,000 bytes is a frame of about 0.8 MiB.
  const std::string text(4000, 'h');
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(owner->Post(ch, text).ok());
  auto page = owner->History(ch, 0, 0, 200);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->messages.size(), 200u);
  EXPECT_GT(owner->last_payload_bytes(), 800'000u);
  EXPECT_EQ(page->messages.back()->text, text);
}

TEST_F(TlsTest, ManyFramesInOneRecord) {
  auto c = server_->Connect();
  wire::Bytes batch;
  for (uint64_t id = 1000; id < 1100; ++id) {
    wire::Bytes frame = PingFrame(id);
    batch.insert(batch.end(), frame.begin(), frame.end());
  }
  ASSERT_LT(batch.size(), 16384u);  // one SendRaw under 16 KiB: one record
  ASSERT_TRUE(c->SendRaw(batch.data(), batch.size()).ok());
  for (uint64_t id = 1000; id < 1100; ++id) {
    auto f = c->ReadFrame();
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->request_id, id);
    EXPECT_NE(f->body.AsPong(), nullptr);
  }
}

TEST_F(TlsTest, OneFrameSplitOverManyRecords) {
  auto owner = server_->SignedIn(Email("owner"));
  const uint64_t ch = OpenChannel(*owner);
  wire::PostMessageT post;
  post.channel_id = ch;
  post.text = std::string(600, 's');
  wire::Bytes frame = wire::EncodeFrame(77, wire::MakeBody(std::move(post)));
  // Three bytes a record: the length prefix alone spans two records.
  for (size_t off = 0; off < frame.size(); off += 3) {
    size_t n = std::min<size_t>(3, frame.size() - off);
    ASSERT_TRUE(owner->SendRaw(frame.data() + off, n).ok());
  }
  for (;;) {
    auto f = owner->ReadFrame();
    ASSERT_TRUE(f.ok()) << f.error().message;
    if (f->request_id != 77) continue;
    ASSERT_NE(f->body.AsPostAck(), nullptr);
    EXPECT_EQ(f->body.AsPostAck()->seq, 1u);
    break;
  }
}

TEST_F(TlsTest, KeyUpdatesKeepTheSessionGoing) {
  auto owner = server_->SignedIn(Email("owner"));
  const uint64_t ch = OpenChannel(*owner);
  auto reader = Member("reader");
  for (int round = 1; round <= 3; ++round) {
    ASSERT_TRUE(owner->RequestTlsKeyUpdate().ok());
    ASSERT_TRUE(reader->RequestTlsKeyUpdate().ok());
    ASSERT_TRUE(owner->Ping().ok());
    ASSERT_TRUE(owner->Post(ch, "round " + std::to_string(round)).ok());
    EXPECT_EQ(NextMessage(*reader, ch).text, "round " + std::to_string(round));
  }
}

TEST_F(TlsTest, CloseNotifyIsAnsweredWithCloseNotify) {
  auto c = server_->Connect();
  ASSERT_TRUE(c->Ping().ok());
  Status closed = c->CloseTls();
  ASSERT_TRUE(closed.ok()) << closed.error().message << ": " << closed.error().details;
  EXPECT_TRUE(c->closed());
}

TEST_F(TlsTest, PlaintextClientIsRefusedAndOthersCarryOn) {
  auto owner = server_->SignedIn(Email("owner"));
  const uint64_t ch = OpenChannel(*owner);
  auto reader = Member("reader");
  wire::ClientOptions plain = server_->client_options();
  plain.tls = false;
  plain.timeout_ms = 5000;
  auto refused = wire::Client::Connect(plain);
  EXPECT_FALSE(refused.ok());
  // Bytes that are not even a frame, and a client that gives up half-way through a handshake.
  auto raw = [&] {
    plain.send_hello = false;
    return wire::Client::Connect(plain);
  }();
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE((*raw)->SendRaw("GET / HTTP/1.1\r\n\r\n", 18).ok());
  EXPECT_FALSE((*raw)->ReadFrame(5000).ok());
  EXPECT_TRUE(LogSays("TLS handshake failed"));
  ASSERT_TRUE(owner->Post(ch, "still here").ok());
  EXPECT_EQ(NextMessage(*reader, ch).text, "still here");
}

TEST_F(TlsTest, Tls12IsRefusedByDefault) {
  EXPECT_EQ(Tls12Handshake(server_->port(), server_->certs().ca_file), "");
  EXPECT_TRUE(LogSays("unsupported protocol"));
  EXPECT_TRUE(server_->Connect()->Ping().ok());
}

TEST_F(TlsTest, ClientsCheckTheServersCertificateAndName) {
  const std::string other_dir = server_->data_dir() + "/../other-ca";
  std::filesystem::create_directories(other_dir);
  TestCerts other = MakeTestCerts(other_dir);
  wire::ClientOptions o = server_->client_options();
  o.tls_ca_file = other.ca_file;
  auto untrusted = wire::Client::Connect(o);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.error().details.find("certificate verify failed"), std::string::npos)
      << untrusted.error().details;
  o = server_->client_options();
  o.tls_server_name = "chat.example.com";
  EXPECT_FALSE(wire::Client::Connect(o).ok());
  o.tls_server_name = "localhost";
  EXPECT_TRUE(wire::Client::Connect(o).ok());
}

TEST(TlsServerTest, Tls12AcceptedWhenAllowed) {
  TestServerOptions options;
  options.tls = true;
  options.shards = 1;
  options.extra_flags = {"--tls_allow_tls12"};
  TestServer server(options);
  server.Start();
  EXPECT_EQ(Tls12Handshake(server.port(), server.certs().ca_file), "TLSv1.2");
  EXPECT_EQ(server.Connect()->tls_protocol(), "TLSv1.3");
}

// The slow-reader rule over TLS: frames already encrypted are not counted in the queue, yet the
// stalled reader still gets `lagged` (then close_notify) and nobody else waits for it.
TEST(TlsServerTest, StalledReaderLagsWhileOthersKeepUp) {
  TestServerOptions options;
  options.tls = true;
  options.durability = "async";
  options.extra_flags = {"--max_frame_bytes=4096", "--max_outbound_bytes=65536"};
  TestServer server(options);
  server.Start();
  auto owner = server.SignedIn(Email("owner"));
  auto ws = owner->CreateWorkspace("Backpressure");
  ASSERT_TRUE(ws.ok());
  OpenWorkspace(*owner, ws->id);
  auto stalled = server.SignedIn(Email("stalled"));
  auto healthy = server.SignedIn(Email("healthy"));
  ASSERT_TRUE(stalled->JoinWorkspace(ws->id).ok());
  ASSERT_TRUE(healthy->JoinWorkspace(ws->id).ok());
  const int kPosts = 2000;
  const std::string text(3000, 'p');
  uint64_t healthy_last = 0;
  std::thread reader([&] { healthy_last = ReadPostsInOrder(*healthy, kPosts); });
  for (int i = 0; i < kPosts; ++i) ASSERT_TRUE(owner->Post(ws->general_channel_id, text).ok());
  reader.join();
  EXPECT_EQ(healthy_last, static_cast<uint64_t>(kPosts));
  bool lagged = false;
  for (;;) {
    auto f = stalled->ReadFrame(10000);
    if (!f.ok()) break;
    if (auto* err = f->body.AsError())
      lagged = err->code == static_cast<uint16_t>(ErrorCode::kLagged);
  }
  EXPECT_TRUE(lagged);
  EXPECT_TRUE(stalled->closed());
}

// Slowloris inside TLS: after the handshake, a client that sends the start of a record and
// never the rest is held to the frame timeout, as one trickling a plaintext frame is.
TEST(TlsServerTest, TricklingARecordTimesOutLikeTricklingAFrame) {
  TestServerOptions options;
  options.tls = true;
  options.shards = 1;
  options.extra_flags = {"--frame_timeout_s=1"};
  TestServer server(options);
  server.Start();
  auto c = server.Connect();
  ASSERT_TRUE(c->Ping().ok());
  // An application-data record header announcing 64 bytes, and 3 of them (written past the
  // client's TLS layer, straight to the socket).
  const uint8_t partial[] = {0x17, 0x03, 0x03, 0x00, 0x40, 0x01, 0x02, 0x03};
  ASSERT_EQ(write(c->fd(), partial, sizeof partial), static_cast<ssize_t>(sizeof partial));
  std::optional<wire::ErrorT> error;
  while (!c->closed() && !error) {
    auto f = c->ReadFrame(10000);
    ASSERT_TRUE(f.ok() || c->closed()) << "still open: " << f.error().message;
    if (f.ok() && f->body.AsError()) error = *f->body.AsError();
  }
  ASSERT_TRUE(error.has_value()) << "closed without saying why";
  EXPECT_EQ(static_cast<ErrorCode>(error->code), ErrorCode::kMalformedFrame);
  EXPECT_EQ(error->details, "frame_timeout_ms=1000");
  EXPECT_TRUE(server.Connect()->Ping().ok());  // and the server serves on
}

TEST(TlsServerTest, BadTlsFlagsExit2NamingTheFlag) {
  char tmpl[] = "/tmp/parley-tls-flags-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::filesystem::create_directories(dir + "/a");
  std::filesystem::create_directories(dir + "/b");
  TestCerts a = MakeTestCerts(dir + "/a");
  TestCerts b = MakeTestCerts(dir + "/b");
  const std::string d = "--data_dir=" + dir;
  struct Case {
    std::vector<std::string> flags;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{d, "--tls_cert_file=" + dir + "/missing.pem", "--tls_key_file=" + a.key_file},
       "--tls_cert_file: cannot load the certificate chain " + dir + "/missing.pem"},
      {{d, "--tls_cert_file=" + a.cert_file, "--tls_key_file=" + dir + "/missing.key"},
       "--tls_key_file: cannot load the private key"},
      {{d, "--tls_cert_file=" + a.cert_file, "--tls_key_file=" + b.key_file},
       "--tls_key_file: cannot load the private key " + b.key_file},
      {{d, "--tls_cert_file=" + a.key_file, "--tls_key_file=" + a.key_file}, "--tls_cert_file"},
      {{d, "--tls_cert_file=" + a.cert_file}, "--tls_cert_file and --tls_key_file go together"},
      {{d, "--tls_allow_tls12"}, "--tls_allow_tls12 needs --tls_cert_file"},
  };
  for (const Case& c : cases) {
    std::string err;
    EXPECT_EQ(RunParleyd(c.flags, &err), 2) << c.flags.back() << ": " << err;
    EXPECT_NE(err.find(c.says), std::string::npos) << c.flags.back() << ": " << err;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::testing
