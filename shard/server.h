// Server: the shard set of one parleyd process. Checks the data directory, binds one
// SO_REUSEPORT socket per shard, replays every shard's log in parallel, and only then listens.
// Start/Stop/Wait are called from one controlling thread (main).
#pragma once

#include <atomic>
#include <cstdint>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "persist/data_dir.h"
#include "shard/limits.h"
#include "persist/lmdb_store.h"
#include "search/service.h"
#include "shard/mailbox.h"
#include "shard/shard.h"

namespace parley::shard {

struct ServerOptions {
  std::string data_dir;
  std::string host = "127.0.0.1";
  uint16_t port = 7400;  // 0: an ephemeral port, see port()
  uint32_t shards = 0;   // 0: the count recorded in the data directory
  persist::Durability durability = persist::Durability::kSync;
  uint32_t max_frame_bytes = wire::kDefaultMaxFrameBytes;
  size_t max_outbound_bytes = size_t{8} << 20;
  ConnectionLimits limits;  // server-wide; each shard gets its share
  bool pin_threads = true;
  std::string signing_key_file;  // empty: DATA/secret.key
  IdentityConfig identity;       // signing_key is read from signing_key_file
  size_t crypto_threads = 2;     // the worker pool for password hashing and signatures
  bool search_index = true;      // index the logs for search (search/); off: Search is refused
  size_t search_threads = 2;     // the worker pool that runs searches
  // A snapshot per shard every this many events, and at a graceful stop; 0: none written.
  uint64_t snapshot_every_events = 1'000'000;
  std::shared_ptr<const wire::TlsContext> tls;  // null: the client port speaks plaintext
};

class Server {
 public:
  // Fails, with a message for operators, if the data directory is not ready or a socket can't
  // be bound. Nothing is served yet.
  static Result<std::unique_ptr<Server>> Open(const ServerOptions& options);
  ~Server();

  // Replays every shard, then starts serving. Returns once all shards listen, or the first
  // replay error (then nothing listens).
  Status Start();
  // Stops accepting, lets every request already taken complete and be acknowledged (at most
  // ~5 s), then asks every shard to exit; Wait() joins them. Blocks; main thread only.
  void Stop();
  void Wait();

  uint16_t port() const { return port_; }
  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }
  // Any thread (the admin endpoint). True from the moment every shard has replayed and listens
  // until Stop() begins draining.
  bool serving() const { return serving_.load(std::memory_order_acquire); }
  // Any thread: counters are atomics (see ShardCounters), the rest is fixed once Open returns.
  const Shard& shard(ShardId k) const { return *shards_[k]; }
  size_t mailbox_depth(ShardId k) const { return mailboxes_->DepthApprox(k); }
  // Events applied from the logs at start: after each shard's snapshot, if one was loaded.
  uint64_t replayed_events() const;
  // Per shard, the LSN of the snapshot Start() loaded (0: none), comma-separated.
  std::string snapshot_lsns() const;
  // Wall time Start() spent replaying every shard's log (they replay in parallel).
  int64_t replay_ms() const { return replay_ms_; }
  // Null when search is off.
  const search::SearchService* search() const { return search_.get(); }

 private:
  Server() = default;
  Status BindSockets(const ServerOptions& options, uint32_t count);

  ServerOptions options_;
  std::optional<persist::DataDirLock> lock_;
  uint16_t port_ = 0;
  std::unique_ptr<MailboxMatrix> mailboxes_;
  std::unique_ptr<WorkerPool> workers_;  // declared before shards_: destroyed after them
  std::unique_ptr<WorkerPool> search_workers_;
  std::vector<std::unique_ptr<Shard>> shards_;
  // After shards_: its indexers read the shards' logs, so it stops and goes first.
  std::unique_ptr<search::SearchService> search_;
  std::vector<int> listen_fds_;
  std::vector<std::thread> threads_;
  std::unique_ptr<std::latch> replayed_;
  std::vector<Status> replay_results_;
  std::latch go_{1};  // opened once every shard has replayed
  std::atomic<bool> abort_start_{false};
  std::atomic<bool> serving_{false};
  int64_t replay_ms_ = 0;
};

}  // namespace parley::shard
