// AdminHttpServer: the operator's port (/metrics, /healthz, /readyz). A small HTTP/1.1 server on
// its own thread with blocking sockets and poll(2): it serves monitoring, not clients, so it
// takes one connection at a time and never touches a shard. Each request is bounded in size
// (kMaxRequestBytes) and time (kReadTimeoutMs), answered, and the connection closed
// (`Connection: close`). Only GET; anything else is 405, a broken request 400, an oversized one
// 431, a slow one 408.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "core/error.h"

namespace parley::server {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class AdminHttpServer {
 public:
  static constexpr size_t kMaxRequestBytes = 8192;
  static constexpr int kReadTimeoutMs = 2000;

  // Binds and listens on host:port (port 0: an ephemeral one, see port()). Fails with a message
  // for operators. Nothing is served until Start().
  static Result<std::unique_ptr<AdminHttpServer>> Open(const std::string& host, uint16_t port);
  ~AdminHttpServer();  // Stop()s

  // Serves on a thread named "admin-http" until Stop(). `handler` gets the path of a GET
  // (without its query string) and runs on that thread; it must be thread-safe with respect to
  // what it reads.
  void Start(std::function<HttpResponse(std::string_view path)> handler);
  void Stop();  // idempotent; joins the thread

  uint16_t port() const { return port_; }

 private:
  AdminHttpServer() = default;
  void Run();
  void ServeOne(int fd);

  int listen_fd_ = -1;
  int stop_fds_[2] = {-1, -1};  // a pipe: writing to it wakes the poll to stop
  uint16_t port_ = 0;
  std::function<HttpResponse(std::string_view)> handler_;
  std::thread thread_;
};

// "GET /metrics?x HTTP/1.1\r\n...": the status to refuse it with (0: fine) and the path.
// Exposed for tests.
struct ParsedRequest {
  int refuse = 0;
  std::string path;
};
ParsedRequest ParseRequestHead(std::string_view head);

}  // namespace parley::server
