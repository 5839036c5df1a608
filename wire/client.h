// A blocking client for the parley protocol: what the CLI, tests and tools use. One connection,
// one thread: a Client is not thread-safe. Every call waits at most the configured timeout and
// returns an Error (never throws). Server errors come back as their Error; transport failures
// as kUnavailable.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "wire/frame.h"

namespace parley::wire {

struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7400;
  int timeout_ms = 5000;
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  std::string client_name = "parley-client";
  bool send_hello = true;  // false: connect only (tests of the handshake itself)
};

class Client {
 public:
  // Connects and, unless options.send_hello is false, negotiates the protocol version.
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const WelcomeT& welcome() const { return welcome_; }

  // Sends `body` with a fresh request id and waits for the frame answering it. Events that
  // arrive meanwhile are queued for NextEvent(). An Error body becomes an error result.
  Result<FrameT> Call(BodyUnion body);

  Result<RegisterOkT> Register(const std::string& email, const std::string& password,
                               const std::string& display_name);
  Result<LoginOkT> Login(const std::string& email, const std::string& password);
  Result<LoginOkT> LoginWithToken(const std::string& token);
  Result<WorkspaceInfoT> CreateWorkspace(const std::string& name);
  Result<WorkspaceInfoT> JoinWorkspace(uint64_t workspace_id);
  Result<std::vector<WorkspaceInfoT>> ListWorkspaces();
  Result<ChannelInfoT> CreateChannel(uint64_t workspace_id, const std::string& name,
                                     bool is_private = false);
  Result<std::vector<ChannelInfoT>> ListChannels(uint64_t workspace_id);
  Result<ChannelInfoT> JoinChannel(uint64_t channel_id);
  Status LeaveChannel(uint64_t channel_id);
  Result<PostAckT> Post(uint64_t channel_id, const std::string& text,
                        const std::string& client_msg_id = "");
  Result<MessagePageT> History(uint64_t channel_id, uint64_t before_seq = 0, uint64_t after_seq = 0,
                               uint16_t limit = 0);
  Result<MessagePageT> Sync(uint64_t channel_id, uint64_t after_seq, uint16_t limit = 0);
  Result<SubscribedT> Subscribe(uint64_t channel_id);
  Status Unsubscribe(uint64_t channel_id);
  Status Ping();

  // The next server-initiated frame (request_id 0), waiting up to timeout_ms (-1: the default
  // timeout). kUnavailable on timeout or a closed connection.
  Result<FrameT> NextEvent(int timeout_ms = -1);

  // Low level, for protocol tests: write raw bytes, read the next whole frame of any kind.
  Status SendRaw(const void* data, size_t size);
  Result<FrameT> ReadFrame(int timeout_ms = -1);
  // True once the server has closed the connection (observed by a read).
  bool closed() const { return closed_; }
  int fd() const { return fd_; }

 private:
  Client(int fd, ClientOptions options);
  Status Hello();
  Result<Bytes> ReadPayload(int timeout_ms);

  int fd_ = -1;
  ClientOptions options_;
  uint64_t next_request_id_ = 1;
  bool closed_ = false;
  std::vector<uint8_t> in_;  // bytes read but not yet framed
  std::deque<FrameT> events_;
  WelcomeT welcome_;
};

}  // namespace parley::wire
