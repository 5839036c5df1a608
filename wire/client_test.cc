// Client against a scripted in-test server on a loopback port: the server side uses only the
// framing functions, so these tests pin the client's handling of the protocol, not a real server.
#include "wire/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

namespace parley::wire {
namespace {

// The server end of one connection, blocking with a 5 s receive timeout so a broken test fails
// instead of hanging.
class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {}

  // The next frame from the client; a NONE body on end of stream or bad input.
  FrameT Read() {
    for (;;) {
      const Split split = NextFrame(in_, kDefaultMaxFrameBytes);
      if (split.status == SplitStatus::kFrame) return TakeFrame(split.payload_bytes);
      if (split.status != SplitStatus::kNeedMore) return FrameT{};
      uint8_t chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return FrameT{};
      in_.insert(in_.end(), chunk, chunk + n);
    }
  }

  // Raw bytes the client sent, up to `size` of them.
  Bytes ReadRaw(size_t size) {
    while (in_.size() < size) {
      uint8_t chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) break;
      in_.insert(in_.end(), chunk, chunk + n);
    }
    return in_;
  }

  void Write(const Bytes& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  template <class T>
  void Reply(uint64_t request_id, T body) {
    Write(EncodeFrame(request_id, MakeBody(std::move(body))));
  }

  // Reads the Hello and answers Welcome; returns the Hello's request id.
  uint64_t Handshake() {
    FrameT hello = Read();
    EXPECT_EQ(hello.body.type, Body::Hello);
    WelcomeT welcome;
    welcome.version = 1;
    welcome.server = "fake";
    welcome.shard = 2;
    welcome.max_frame_bytes = kDefaultMaxFrameBytes;
    Reply(hello.request_id, std::move(welcome));
    return hello.request_id;
  }

  void Close() { ::shutdown(fd_, SHUT_RDWR); }

 private:
  FrameT TakeFrame(uint32_t payload_bytes) {
    const Bytes payload(in_.begin() + kLengthPrefixBytes,
                        in_.begin() + kLengthPrefixBytes + payload_bytes);
    in_.erase(in_.begin(), in_.begin() + kLengthPrefixBytes + payload_bytes);
    FrameT out;
    Result<const Frame*> frame = VerifyFrame(payload);
    EXPECT_TRUE(frame.ok());
    if (frame.ok()) (*frame)->UnPackTo(&out);
    return out;
  }

  int fd_;
  Bytes in_;
};

void SetReceiveTimeout(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

// Listens on an ephemeral loopback port and runs `script` on the first accepted connection.
class FakeServer {
 public:
  explicit FakeServer(std::function<void(Peer&)> script) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listen_fd_, 4), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    SetReceiveTimeout(listen_fd_);  // bounds accept() too
    thread_ = std::thread([this, script = std::move(script)] { Serve(script); });
  }

  ~FakeServer() {
    thread_.join();
    ::close(listen_fd_);
  }

  ClientOptions Options() const {
    ClientOptions options;
    options.port = port_;
    options.timeout_ms = 2000;
    return options;
  }

 private:
  void Serve(const std::function<void(Peer&)>& script) {
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    SetReceiveTimeout(fd);
    Peer peer(fd);
    script(peer);
    ::close(fd);
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

std::unique_ptr<Client> MustConnect(const ClientOptions& options) {
  Result<std::unique_ptr<Client>> client = Client::Connect(options);
  EXPECT_TRUE(client.ok()) << (client.ok() ? "" : client.error().message);
  return client.ok() ? std::move(client.value()) : nullptr;
}

// Keeps the server end open until the client has finished with it.
void WaitForClientClose(Peer& peer) { peer.Read(); }

TEST(Client, HandshakeSendsVersionRangeAndStoresWelcome) {
  FakeServer server([](Peer& peer) {
    FrameT hello = peer.Read();
    const HelloT* body = hello.body.AsHello();
    ASSERT_NE(body, nullptr);
    EXPECT_EQ(body->min_version, kMinProtocolVersion);
    EXPECT_EQ(body->max_version, kMaxProtocolVersion);
    EXPECT_EQ(body->client, "unit-test");
    EXPECT_NE(hello.request_id, 0u);
    WelcomeT welcome;
    welcome.version = 1;
    welcome.server = "fake";
    welcome.shard = 3;
    peer.Reply(hello.request_id, std::move(welcome));
    WaitForClientClose(peer);
  });
  ClientOptions options = server.Options();
  options.client_name = "unit-test";
  std::unique_ptr<Client> client = MustConnect(options);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->welcome().server, "fake");
  EXPECT_EQ(client->welcome().shard, 3);
}

TEST(Client, HandshakeErrorIsReturned) {
  FakeServer server([](Peer& peer) {
    FrameT hello = peer.Read();
    peer.Write(EncodeError(hello.request_id,
                           MakeError(ErrorCode::kUnsupportedVersion, "no common version", "1-1")));
  });
  Result<std::unique_ptr<Client>> client = Client::Connect(server.Options());
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, ErrorCode::kUnsupportedVersion);
  EXPECT_EQ(client.error().message, "no common version");
  EXPECT_EQ(client.error().details, "1-1");
}

TEST(Client, WelcomeOutsideOurRangeFails) {
  FakeServer server([](Peer& peer) {
    FrameT hello = peer.Read();
    WelcomeT welcome;
    welcome.version = kMaxProtocolVersion + 1;
    peer.Reply(hello.request_id, std::move(welcome));
  });
  Result<std::unique_ptr<Client>> client = Client::Connect(server.Options());
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, ErrorCode::kUnsupportedVersion);
}

TEST(Client, ConnectRefusedIsUnavailable) {
  // Reserve a port, then free it so nothing listens there.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  ClientOptions options;
  options.port = ntohs(addr.sin_port);
  Result<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, ErrorCode::kUnavailable);
}

TEST(Client, UnresolvableHostIsUnavailable) {
  ClientOptions options;
  options.host = "no such host";
  Result<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code, ErrorCode::kUnavailable);
}

TEST(Client, LocalhostResolves) {
  FakeServer server([](Peer& peer) {
    peer.Handshake();
    WaitForClientClose(peer);
  });
  ClientOptions options = server.Options();
  options.host = "localhost";
  EXPECT_NE(MustConnect(options), nullptr);
}

TEST(Client, CallQueuesEventsAndSkipsStaleAnswers) {
  FakeServer server([](Peer& peer) {
    peer.Handshake();
    FrameT ping = peer.Read();
    MemberJoinedT joined;
    joined.channel_id = 5;
    joined.user_id = 6;
    peer.Reply(0, std::move(joined));
    peer.Reply(ping.request_id + 100, OkT{});  // an answer nobody waits for
    PongT pong;
    pong.nonce = ping.body.AsPing()->nonce;
    peer.Reply(ping.request_id, std::move(pong));
    WaitForClientClose(peer);
  });
  std::unique_ptr<Client> client = MustConnect(server.Options());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Ping().ok());
  Result<FrameT> event = client->NextEvent(0);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->request_id, 0u);
  ASSERT_NE(event->body.AsMemberJoined(), nullptr);
  EXPECT_EQ(event->body.AsMemberJoined()->user_id, 6u);
}

TEST(Client, ServerErrorBecomesTheResult) {
  FakeServer server([](Peer& peer) {
    peer.Handshake();
    FrameT post = peer.Read();
    EXPECT_EQ(post.body.AsPostMessage()->client_msg_id, "m-1");
    peer.Write(
        EncodeError(post.request_id, MakeError(ErrorCode::kForbidden, "not a member", "channel")));
    WaitForClientClose(peer);
  });
  std::unique_ptr<Client> client = MustConnect(server.Options());
  ASSERT_NE(client, nullptr);
  Result<PostAckT> ack = client->Post(9, "hi", "m-1");
  ASSERT_FALSE(ack.ok());
  EXPECT_EQ(ack.error().code, ErrorCode::kForbidden);
  EXPECT_EQ(ack.error().message, "not a member");
  EXPECT_EQ(ack.error().details, "channel");
}

TEST(Client, UnexpectedResponseTypeIsBadRequest) {
  FakeServer server([](Peer& peer) {
    peer.Handshake();
    FrameT subscribe = peer.Read();
    peer.Reply(subscribe.request_id, OkT{});
    WaitForClientClose(peer);
  });
  std::unique_ptr<Client> client = MustConnect(server.Options());
  ASSERT_NE(client, nullptr);
  Result<SubscribedT> subscribed = client->Subscribe(4);
  ASSERT_FALSE(subscribed.ok());
  EXPECT_EQ(subscribed.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(subscribed.error().message, "unexpected response Ok");
}

TEST(Client, PongWithWrongNonceFails) {
  FakeServer server([](Peer& peer) {
    peer.Handshake();
    FrameT ping = peer.Read();
    PongT pong;
    pong.nonce = ping.body.AsPing()->nonce + 1;
    peer.Reply(ping.request_id, std::move(pong));
    WaitForClientClose(peer);
  });
  std::unique_ptr<Client> client = MustConnect(server.Options());
  ASSERT_NE(client, nullptr);
  EXPECT_FALSE(client->Ping().ok());
}

TEST(Client, TypedHelpersSendTheirRequest) {
  FakeServer server([](Peer& peer) {
    peer.Handshake();
    FrameT history = peer.Read();
    const HistoryT* h = history.body.AsHistory();
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->channel_id, 3u);
    EXPECT_EQ(h->before_seq, 90u);
    EXPECT_EQ(h->limit, 20);
    MessagePageT page;
    page.channel_id = 3;
    page.last_seq = 100;
    page.has_more = true;
    peer.Reply(history.request_id, std::move(page));
    FrameT list = peer.Read();
    WorkspaceListT workspaces;
    for (uint64_t id : {11, 12}) {
      workspaces.workspaces.push_back(std::make_unique<WorkspaceInfoT>());
      workspaces.workspaces.back()->id = id;
    }
    peer.Reply(list.request_id, std::move(workspaces));
    FrameT leave = peer.Read();
    EXPECT_EQ(leave.body.AsLeaveChannel()->channel_id, 8u);
    peer.Reply(leave.request_id, OkT{});
    WaitForClientClose(peer);
  });
  std::unique_ptr<Client> client = MustConnect(server.Options());
  ASSERT_NE(client, nullptr);
  Result<MessagePageT> page = client->History(3, 90, 0, 20);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->last_seq, 100u);
  EXPECT_TRUE(page->has_more);
  Result<std::vector<WorkspaceInfoT>> workspaces = client->ListWorkspaces();
  ASSERT_TRUE(workspaces.ok());
  ASSERT_EQ(workspaces->size(), 2u);
  EXPECT_EQ((*workspaces)[1].id, 12u);
  EXPECT_TRUE(client->LeaveChannel(8).ok());
}

TEST(Client, LargeFramesCrossManyReadsAndWrites) {
  const std::string text(900 * 1024, 'x');
  FakeServer server([&text](Peer& peer) {
    peer.Handshake();
    FrameT post = peer.Read();
    EXPECT_EQ(post.body.AsPostMessage()->text.size(), text.size());
    MessagePostedT echo;
    echo.message = std::make_unique<MessageT>();
    echo.message->text = post.body.AsPostMessage()->text;
    peer.Reply(0, std::move(echo));
    peer.Reply(post.request_id, PostAckT{});
    WaitForClientClose(peer);
  });
  std::unique_ptr<Client> client = MustConnect(server.Options());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Post(1, text, "big").ok());
  Result<FrameT> event = client->NextEvent();
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->body.AsMessagePosted()->message->text, text);
}

TEST(Client, ResponseDribbledOneByteAtATime) {
  FakeServer server([](Peer& peer) {
    peer.Handshake();
    FrameT ping = peer.Read();
    PongT pong;
    pong.nonce = ping.body.AsPing()->nonce;
    const Bytes bytes = EncodeFrame(ping.request_id, MakeBody(std::move(pong)));
    for (uint8_t b : bytes) peer.Write(Bytes{b});
    WaitForClientClose(peer);
  });
  std::unique_ptr<Client> client = MustConnect(server.Options());
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->Ping().ok());
}

TEST(Client, ClosedConnectionIsUnavailable) {
  FakeServer server([](Peer& peer) {
    peer.Handshake();
    MemberLeftT left;
    left.channel_id = 1;
    peer.Reply(0, std::move(left));
    peer.Close();
  });
  std::unique_ptr<Client> client = MustConnect(server.Options());
  ASSERT_NE(client, nullptr);
  Result<FrameT> last = client->NextEvent();
  ASSERT_TRUE(last.ok());  // frames already sent are still delivered
  EXPECT_NE(last->body.AsMemberLeft(), nullptr);
  Result<FrameT> next = client->NextEvent();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(next.error().message, "connection closed");
  EXPECT_TRUE(client->closed());
}

TEST(Client, SilentServerTimesOut) {
  FakeServer server([](Peer& peer) {
    peer.Handshake();
    WaitForClientClose(peer);
  });
  std::unique_ptr<Client> client = MustConnect(server.Options());
  ASSERT_NE(client, nullptr);
  Result<FrameT> event = client->NextEvent(50);
  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(event.error().message, "timed out");
  EXPECT_FALSE(client->closed());
}

TEST(Client, OversizedServerFrameIsRejected) {
  FakeServer server([](Peer& peer) {
    peer.Handshake();
    peer.Write(Bytes{0x00, 0x00, 0x10, 0x00});  // 1 MiB declared; the client allows 64 KiB
    WaitForClientClose(peer);
  });
  ClientOptions options = server.Options();
  options.max_frame_bytes = 64 * 1024;
  std::unique_ptr<Client> client = MustConnect(options);
  ASSERT_NE(client, nullptr);
  Result<FrameT> frame = client->ReadFrame();
  ASSERT_FALSE(frame.ok());
  EXPECT_EQ(frame.error().code, ErrorCode::kFrameTooLarge);
}

TEST(Client, MalformedServerFrameIsRejected) {
  FakeServer server([](Peer& peer) {
    peer.Handshake();
    peer.Write(Bytes{12, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0});
    WaitForClientClose(peer);
  });
  std::unique_ptr<Client> client = MustConnect(server.Options());
  ASSERT_NE(client, nullptr);
  Result<FrameT> frame = client->ReadFrame();
  ASSERT_FALSE(frame.ok());
  EXPECT_EQ(frame.error().code, ErrorCode::kMalformedFrame);
}

TEST(Client, WithoutHelloSendRawReachesTheServer) {
  FakeServer server([](Peer& peer) {
    EXPECT_EQ(peer.ReadRaw(3), (Bytes{1, 2, 3}));
    peer.Write(EncodeError(0, MakeError(ErrorCode::kHelloRequired, "hello first")));
    WaitForClientClose(peer);
  });
  ClientOptions options = server.Options();
  options.send_hello = false;
  std::unique_ptr<Client> client = MustConnect(options);
  ASSERT_NE(client, nullptr);
  const uint8_t raw[] = {1, 2, 3};
  ASSERT_TRUE(client->SendRaw(raw, sizeof(raw)).ok());
  Result<FrameT> frame = client->ReadFrame();
  ASSERT_TRUE(frame.ok());
  ASSERT_NE(frame->body.AsError(), nullptr);
  EXPECT_EQ(frame->body.AsError()->code, static_cast<uint16_t>(ErrorCode::kHelloRequired));
}

}  // namespace
}  // namespace parley::wire
