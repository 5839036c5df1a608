#include "shard/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <latch>

#include "persist/data_dir.h"
#include "shard/log.h"

namespace parley::shard {
namespace {

// N x N queues are allocated up front: keep their total near 64 MiB, each between 1,024 and
// 16,384 messages (a full queue only delays a sender's next turn, never loses a message).
size_t MailboxCapacity(uint32_t shards) {
  size_t per_queue = (size_t{64} << 20) / (sizeof(ShardMessage) * shards * shards);
  return std::clamp<size_t>(per_queue, 1024, 16384);
}

void PinToCore(uint32_t shard) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores <= 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(shard % static_cast<uint32_t>(cores), &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

Error SocketError(const std::string& what, const ServerOptions& o) {
  return MakeError(ErrorCode::kUnavailable, what + " " + o.host + ":" + std::to_string(o.port),
                   strerror(errno));
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Open(const ServerOptions& options) {
  Result<persist::DataDirInfo> info = persist::CheckDataDir(options.data_dir, options.shards);
  if (!info.ok()) return info.error();
  // Held while serving: offline tools that write beside the log refuse while it is.
  Result<persist::DataDirLock> lock = persist::LockDataDir(options.data_dir);
  if (!lock.ok()) return lock.error();
  Result<std::string> key = options.signing_key_file.empty()
                                ? persist::ReadSecretKey(options.data_dir)
                                : persist::ReadKeyFile(options.signing_key_file);
  if (!key.ok()) return key.error();
  std::unique_ptr<Server> server(new Server());
  server->options_ = options;
  server->lock_.emplace(std::move(lock).value());
  uint32_t n = info->shard_count;
  server->mailboxes_ = std::make_unique<MailboxMatrix>(n, MailboxCapacity(n));
  if (!server->mailboxes_->ok()) {
    return MakeError(ErrorCode::kUnavailable, "eventfd failed", strerror(errno));
  }
  Status bound = server->BindSockets(options, n);
  if (!bound.ok()) return bound.error();
  server->workers_ = std::make_unique<WorkerPool>(options.crypto_threads);
  auto identity = std::make_shared<IdentityConfig>(options.identity);
  identity->signing_key = *key;
  // Each shard keeps its own buckets (no lock between shards), and the kernel spreads an
  // address's connections over all of them: each gets 1/n of the per-address sign-in limit, so
  // the address never gets more than the limit in total.
  identity->signin_per_address.per_second /= n;
  identity->signin_per_address.burst = std::max(1.0, identity->signin_per_address.burst / n);
  ShardConfig config;
  config.shard_count = n;
  config.max_frame_bytes = options.max_frame_bytes;
  config.max_outbound_bytes = options.max_outbound_bytes;
  config.limits = options.limits.PerShard(n);
  config.identity = std::move(identity);
  config.workers = server->workers_.get();
  config.snapshot_every_events = options.snapshot_every_events;
  config.tls = options.tls;
  persist::LmdbOptions lmdb;
  lmdb.durability = options.durability;
  std::vector<std::unique_ptr<persist::LmdbLogStore>> stores;
  std::vector<const persist::LmdbLogStore*> logs;
  for (ShardId k = 0; k < n; ++k) {
    auto store = persist::LmdbLogStore::Open(persist::ShardDir(options.data_dir, k), lmdb);
    if (!store.ok()) return store.error();
    logs.push_back(store->get());
    stores.push_back(std::move(*store));
  }
  if (options.search_index) {
    search::IndexerOptions indexing;
    indexing.on_error = [](const Error& e) {
      LogJson("error", "search indexing failed", {{"error", e.message + ": " + e.details}});
    };
    auto search = search::SearchService::Open(options.data_dir, logs, indexing);
    if (!search.ok()) return search.error();
    server->search_ = std::move(*search);
    server->search_workers_ = std::make_unique<WorkerPool>(options.search_threads);
    config.search = server->search_.get();
    config.search_workers = server->search_workers_.get();
  }
  for (ShardId k = 0; k < n; ++k) {
    server->shards_.push_back(
        std::make_unique<Shard>(k, config, server->mailboxes_.get(), std::move(stores[k])));
  }
  return server;
}

// Binds every shard's socket to one port (SO_REUSEPORT). They listen only after replay, so no
// client is accepted by a server that has not yet recovered.
Status Server::BindSockets(const ServerOptions& o, uint32_t count) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(o.port);
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "--host must be an IPv4 address", o.host);
  }
  for (uint32_t k = 0; k < count; ++k) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return SocketError("socket", o);
    listen_fds_.push_back(fd);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return SocketError("cannot bind", o);
    }
    if (k == 0) {  // with port 0 the kernel picked one: every shard shares it
      socklen_t len = sizeof(addr);
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
      port_ = ntohs(addr.sin_port);
    }
  }
  return OkStatus();
}

Server::~Server() {
  Stop();
  Wait();
  for (int fd : listen_fds_) {
    if (fd >= 0) close(fd);
  }
}

Status Server::Start() {
  const size_t n = shards_.size();
  replayed_ = std::make_unique<std::latch>(static_cast<ptrdiff_t>(n));
  replay_results_.assign(n, OkStatus());
  const auto replay_start = std::chrono::steady_clock::now();
  for (size_t k = 0; k < n; ++k) {
    threads_.emplace_back([this, k] {
      std::string name = "shard-" + std::to_string(k);
      pthread_setname_np(pthread_self(), name.c_str());
      if (options_.pin_threads) PinToCore(static_cast<uint32_t>(k));
      replay_results_[k] = shards_[k]->Replay();
      replayed_->count_down();
      go_.wait();
      if (abort_start_.load()) return;
      int fd = listen_fds_[k];
      listen_fds_[k] = -1;  // the shard owns it now
      Status served = shards_[k]->Serve(fd);
      if (!served.ok()) {
        LogJson("fatal", "shard failed",
                {{"shard", std::to_string(k)}, {"error", served.error().message}});
        std::_Exit(72);
      }
    });
  }
  replayed_->wait();
  replay_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - replay_start)
                   .count();
  for (const Status& r : replay_results_) {
    if (!r.ok()) {
      abort_start_ = true;
      go_.count_down();
      Wait();
      return r.error();
    }
  }
  // The longest backlog the kernel allows (it caps this at net.core.somaxconn): after a network
  // blip every client reconnects at once, and a SYN dropped from a full queue costs its client a
  // one-second retransmission.
  constexpr int kBacklog = 65535;
  for (int fd : listen_fds_) {
    if (listen(fd, kBacklog) != 0) {
      abort_start_ = true;
      go_.count_down();
      Wait();
      return MakeError(ErrorCode::kUnavailable, "listen failed", strerror(errno));
    }
  }
  go_.count_down();  // connections queue in the backlog until each shard arms its accept
  serving_.store(true, std::memory_order_release);
  // Indexing starts once the logs are replayed (the two would share the cores), and never
  // delays serving: an index still catching up answers with what it has.
  if (search_) search_->Start();
  return OkStatus();
}

// Two phases, so that no shard exits while another still owes it a reply: all shards finish
// what they started (idle, and no shard did any work across two looks 5 ms apart), then exit.
void Server::Stop() {
  serving_.store(false, std::memory_order_release);
  if (threads_.empty()) return;
  for (auto& shard : shards_) shard->RequestStop();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  uint64_t last_activity = UINT64_MAX;
  int quiet_looks = 0;
  while (quiet_looks < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    uint64_t activity = 0;
    bool idle = true;
    for (auto& shard : shards_) {
      // A shard's own flag can be a turn old: its mailbox depth is read here, now.
      idle = idle && shard->idle() && mailboxes_->DepthApprox(shard->id()) == 0;
      activity += shard->activity();
    }
    quiet_looks = idle && activity == last_activity ? quiet_looks + 1 : 0;
    last_activity = activity;
  }
  for (auto& shard : shards_) shard->RequestExit();
}

void Server::Wait() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // Searches still queued (a stop that timed out) run now, while the service and the shards
  // they report to are alive.
  search_workers_.reset();
  if (search_) search_->Stop();  // commits what it indexed: a restart resumes after it
}

uint64_t Server::replayed_events() const {
  uint64_t n = 0;
  for (auto& shard : shards_) n += shard->counters().replayed_events.value();
  return n;
}

std::string Server::snapshot_lsns() const {
  std::string lsns;
  for (auto& shard : shards_) {
    if (!lsns.empty()) lsns += ',';
    lsns += std::to_string(shard->snapshot_lsn());
  }
  return lsns;
}

}  // namespace parley::shard
