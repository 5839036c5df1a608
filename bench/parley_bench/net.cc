// Blocking socket helpers for handshakes and control connections, and the adapter factory.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bench/parley_bench/adapter.h"

namespace parley::bench {

std::unique_ptr<Adapter> MakeParleyAdapter(const TargetOptions& options);
std::unique_ptr<Adapter> MakeRedisAdapter(const TargetOptions& options);
std::unique_ptr<Adapter> MakeNatsAdapter(const TargetOptions& options);

Result<std::unique_ptr<Adapter>> MakeAdapter(const TargetOptions& options) {
  if (options.kind == "parley") return MakeParleyAdapter(options);
  if (options.kind == "redis") return MakeRedisAdapter(options);
  if (options.kind == "nats") return MakeNatsAdapter(options);
  return MakeError(ErrorCode::kInvalidArgument, "unknown target", options.kind);
}

namespace {
Error SysError(const char* what) { return MakeError(ErrorCode::kUnavailable, what, strerror(errno)); }
}  // namespace

Result<int> ConnectTcp(const std::string& host, uint16_t port, int timeout_ms,
                       uint32_t source_index) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SysError("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // One source address has ~28K ephemeral ports towards one server port; the idle scenario's
  // 50,000 connections spread over 127.0.0.2, 127.0.0.3 ... (all loopback) past the first 16K.
  if (uint32_t spread = source_index / 16384; spread > 0) {
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + spread);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      Error e = SysError("bind source address");
      close(fd);
      return e;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return MakeError(ErrorCode::kInvalidArgument, "not an IPv4 address", host);
  }
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Error e = SysError("connect");
    close(fd);
    return e;
  }
  return fd;
}

Status WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("send");
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

Status ReadMore(int fd, std::string* buf, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int ready = poll(&p, 1, timeout_ms);
  if (ready == 0) return MakeError(ErrorCode::kUnavailable, "timed out waiting for the server");
  if (ready < 0) return SysError("poll");
  char chunk[16384];
  ssize_t n = recv(fd, chunk, sizeof chunk, 0);
  if (n == 0) return MakeError(ErrorCode::kUnavailable, "the server closed the connection");
  if (n < 0) return SysError("recv");
  buf->append(chunk, static_cast<size_t>(n));
  return OkStatus();
}

namespace {

Status SendTlsOutput(Handshake& h) {
  std::string out;
  h.tls->TakeOutput(&out);
  return WriteAll(h.fd, out);
}

}  // namespace

Status WriteAll(Handshake& h, std::string_view bytes) {
  if (h.tls == nullptr) return WriteAll(h.fd, bytes);
  Status written = h.tls->Write({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  if (written.ok()) written = h.tls->Flush();
  if (!written.ok()) return written;
  return SendTlsOutput(h);
}

Status ReadMore(Handshake& h, std::string* buf, int timeout_ms) {
  if (h.tls == nullptr) return ReadMore(h.fd, buf, timeout_ms);
  std::vector<uint8_t> plain;
  while (plain.empty()) {
    std::string cipher;
    if (Status read = ReadMore(h.fd, &cipher, timeout_ms); !read.ok()) return read;
    auto input = h.tls->Receive({reinterpret_cast<const uint8_t*>(cipher.data()), cipher.size()},
                                &plain);
    if (!input.ok()) return input.error();
    if (*input == wire::TlsStream::Input::kPeerClosed) {
      return MakeError(ErrorCode::kUnavailable, "the server closed the connection");
    }
    if (Status sent = SendTlsOutput(h); !sent.ok()) return sent;
  }
  buf->append(plain.begin(), plain.end());
  return OkStatus();
}

Status StartTls(Handshake& h, int timeout_ms) {
  for (;;) {
    if (Status sent = SendTlsOutput(h); !sent.ok()) return sent;
    if (h.tls->handshake_done()) return OkStatus();
    std::string cipher;
    if (Status read = ReadMore(h.fd, &cipher, timeout_ms); !read.ok()) return read;
    std::vector<uint8_t> plain;
    auto input = h.tls->Receive({reinterpret_cast<const uint8_t*>(cipher.data()), cipher.size()},
                                &plain);
    if (!input.ok()) return input.error();
    h.leftover.append(plain.begin(), plain.end());
  }
}

}  // namespace parley::bench
