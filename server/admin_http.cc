#include "server/admin_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace parley::server {
namespace {

using Clock = std::chrono::steady_clock;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

HttpResponse Refusal(int status) {
  HttpResponse r;
  r.status = status;
  r.body = std::string(Reason(status)) + "\n";
  return r;
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Reads until the blank line that ends the head. 0 and the head, or the status to refuse with.
int ReadHead(int fd, std::string* head) {
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(AdminHttpServer::kReadTimeoutMs);
  char buf[2048];
  while (head->find("\r\n\r\n") == std::string::npos) {
    if (head->size() > AdminHttpServer::kMaxRequestBytes) return 431;
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, RemainingMs(deadline));
    if (ready == 0) return 408;
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return -1;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;  // the peer went away: nobody to answer
    head->append(buf, static_cast<size_t>(n));
  }
  return head->size() > AdminHttpServer::kMaxRequestBytes + 4 ? 431 : 0;
}

void WriteAll(int fd, const std::string& bytes) {
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(AdminHttpServer::kReadTimeoutMs);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, RemainingMs(deadline)) > 0) continue;
    }
    return;  // gone or too slow: drop it
  }
}

}  // namespace

ParsedRequest ParseRequestHead(std::string_view head) {
  ParsedRequest out;
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == 0 || sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != line.npos) {
    out.refuse = 400;
    return out;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (target.empty() || target[0] != '/' || (version != "HTTP/1.1" && version != "HTTP/1.0")) {
    out.refuse = 400;
    return out;
  }
  if (method != "GET") {
    out.refuse = 405;
    return out;
  }
  out.path = std::string(target.substr(0, target.find('?')));
  return out;
}

Result<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Open(const std::string& host,
                                                               uint16_t port) {
  auto fail = [&](const std::string& what) {
    return MakeError(ErrorCode::kUnavailable,
                     what + " admin address " + host + ":" + std::to_string(port), strerror(errno));
  };
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "--admin_host must be an IPv4 address", host);
  }
  std::unique_ptr<AdminHttpServer> server(new AdminHttpServer());
  server->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (server->listen_fd_ < 0) return fail("socket for");
  int one = 1;
  setsockopt(server->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(server->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return fail("cannot bind");
  }
  if (listen(server->listen_fd_, 64) != 0) return fail("cannot listen on");
  socklen_t len = sizeof(addr);
  getsockname(server->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  server->port_ = ntohs(addr.sin_port);
  if (pipe2(server->stop_fds_, O_CLOEXEC) != 0) return fail("pipe for");
  return server;
}

AdminHttpServer::~AdminHttpServer() {
  Stop();
  for (int fd : {listen_fd_, stop_fds_[0], stop_fds_[1]}) {
    if (fd >= 0) close(fd);
  }
}

void AdminHttpServer::Start(std::function<HttpResponse(std::string_view path)> handler) {
  handler_ = std::move(handler);
  thread_ = std::thread([this] { Run(); });
}

void AdminHttpServer::Stop() {
  if (!thread_.joinable()) return;
  char one = 1;
  [[maybe_unused]] ssize_t n = write(stop_fds_[1], &one, 1);
  thread_.join();
}

void AdminHttpServer::Run() {
  pthread_setname_np(pthread_self(), "admin-http");
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fds_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // the peer gave up, or out of descriptors: the next poll retries
    ServeOne(fd);
    close(fd);
  }
}

void AdminHttpServer::ServeOne(int fd) {
  std::string head;
  int refuse = ReadHead(fd, &head);
  if (refuse < 0) return;
  HttpResponse response;
  if (refuse != 0) {
    response = Refusal(refuse);
  } else {
    ParsedRequest parsed = ParseRequestHead(head);
    response = parsed.refuse != 0 ? Refusal(parsed.refuse) : handler_(parsed.path);
  }
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + Reason(response.status) +
                    "\r\nContent-Type: " + response.content_type +
                    "\r\nContent-Length: " + std::to_string(response.body.size()) +
                    (response.status == 405 ? "\r\nAllow: GET" : "") +
                    "\r\nConnection: close\r\n\r\n" + response.body;
  WriteAll(fd, out);
  // Unread request bytes would turn close() into a reset that can destroy the answer in
  // flight: say we are done writing, and give the peer a moment to read.
  shutdown(fd, SHUT_WR);
  char drain[512];
  pollfd p{fd, POLLIN, 0};
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(200);
  while (poll(&p, 1, RemainingMs(deadline)) > 0 && recv(fd, drain, sizeof(drain), 0) > 0) {
  }
}

}  // namespace parley::server
