// Protocol adapters: what parley-bench needs from each target (parley, Redis, NATS) so that every
// scenario drives all three the same way. An adapter prepares the target through a blocking
// control connection, performs each load connection's handshake with blocking I/O before the
// run, and on the hot path only appends publish bytes and consumes whole protocol units.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "wire/tls.h"

namespace parley::bench {

// The shape every target is given: numbered topics, subscriber users (each connection of user u
// subscribes to user_topics[u]) and publishers (publisher p posts to publisher_topics[p]).
// parley turns topics into channels and users into accounts that join them; Redis and NATS into
// channel names and subjects.
struct Topology {
  uint32_t topics = 1;
  std::vector<std::vector<uint32_t>> user_topics;
  std::vector<std::vector<uint32_t>> publisher_topics;
};

// kPubSub: live fan-out (parley post, Redis PUBLISH, NATS PUB). kDurable: acknowledged only once
// stored (parley post under --durability=sync, Redis XADD under appendfsync always, JetStream
// publish with a PubAck).
enum class Mode { kPubSub, kDurable };

struct TargetOptions {
  std::string kind;  // parley | redis | nats
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string user;      // NATS
  std::string password;  // Redis requirepass, NATS password
  std::string tag;       // names this run's accounts, workspace and streams
  int timeout_ms = 30000;
  bool tls = false;         // parley: every connection speaks TLS...
  std::string tls_ca_file;  // ...trusting these CA certificates (empty: the system's)
};

// What an adapter reports while consuming a connection's input.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Delivery(std::string_view payload) = 0;  // a published payload arrived
  virtual void Acks(uint32_t n) = 0;                    // n more of this connection's publishes
  virtual void Failure(std::string_view what) = 0;      // the target refused something
  virtual void Reply(std::string_view bytes) = 0;       // bytes the protocol requires back
};

// A load connection during its handshake.
struct Handshake {
  int fd = -1;
  bool publisher = false;
  uint32_t index = 0;    // the user (subscribers) or the publisher number
  std::string leftover;  // bytes read past the handshake: the hot path's first input
  wire::TlsStream* tls = nullptr;  // set: the connection speaks TLS (its owner keeps it)
};

class Adapter {
 public:
  static constexpr size_t kBroken = ~size_t{0};

  virtual ~Adapter() = default;
  const TargetOptions& options() const { return options_; }

  // Control plane, blocking: accounts, channels, streams for `topology` in `mode`.
  virtual Status Prepare(const Topology& topology, Mode mode) = 0;
  // Sends the first handshake bytes; FinishHandshake then blocks until the connection is
  // authenticated and subscribed. Split so that many connections' handshakes overlap.
  virtual Status BeginHandshake(Handshake& h) = 0;
  virtual Status FinishHandshake(Handshake& h) = 0;

  // Hot path. Appends publisher p's n-th publish (from 0) of `payload` to `topic`.
  virtual void AppendPublish(std::string& out, uint32_t publisher, uint32_t topic,
                             std::string_view payload, uint64_t n) = 0;
  // Consumes whole protocol units from the head of `in`, reporting them to `sink`; returns the
  // bytes consumed, or kBroken when the stream cannot be parsed.
  virtual size_t Consume(std::string_view in, Sink& sink) = 0;

  // How many messages the durable topic 0 holds; kUnavailable while the target is starting
  // (not listening, loading its log, recovering its streams).
  virtual Result<uint64_t> CountDurable() = 0;

 protected:
  explicit Adapter(TargetOptions options) : options_(std::move(options)) {}
  TargetOptions options_;
};

Result<std::unique_ptr<Adapter>> MakeAdapter(const TargetOptions& options);

// Blocking helpers shared by the adapters and the engine's connection setup.
Result<int> ConnectTcp(const std::string& host, uint16_t port, int timeout_ms,
                       uint32_t source_index = 0);
Status WriteAll(int fd, std::string_view bytes);
// Reads at least one byte more into *buf, waiting at most timeout_ms.
Status ReadMore(int fd, std::string* buf, int timeout_ms);
// The same on a handshaking connection: through h.tls when it is set, plaintext in *buf.
Status WriteAll(Handshake& h, std::string_view bytes);
Status ReadMore(Handshake& h, std::string* buf, int timeout_ms);
// Completes h.tls's handshake on h.fd (blocking, each read waiting at most timeout_ms).
Status StartTls(Handshake& h, int timeout_ms);

}  // namespace parley::bench
