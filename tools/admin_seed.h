// parley-admin's offline writers: Seeder replays a data directory's shards into memory, then
// decides commands against them and appends the events to their logs exactly as parleyd would
// (the workspace's shard decides workspace and channel commands, the user's shard registers
// users). parleyd must not have the directory open while a Seeder writes to it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/decide.h"
#include "persist/lmdb_store.h"

namespace parley::admin {

struct OfflineShard {
  std::unique_ptr<persist::LmdbLogStore> store;
  std::unique_ptr<ShardState> state;
  std::unique_ptr<IdMinter> ids;
  std::vector<persist::LogRecord> staged;
};

class Seeder {
 public:
  // Opens and replays shards 0..n-1 of `dir`. A writable Seeder first refuses (kUnavailable) a
  // directory that another process (a running parleyd) has open; a read-only one reads beside it.
  Status Open(const std::string& dir, uint32_t n, bool writable);

  // Decides and applies on `shard`, appends to its log (durable on return).
  Result<std::optional<Event>> Run(ShardId shard, const Command& command);
  // Decides and applies on `shard`; the event reaches the log with the next CommitStaged().
  Result<std::optional<Event>> Stage(ShardId shard, const Command& command);
  // Appends everything staged on `shard` as one transaction.
  Status CommitStaged(ShardId shard);
  size_t staged(ShardId shard) const { return shards_[shard].staged.size(); }

  ShardState& state(ShardId shard) { return *shards_[shard].state; }
  uint32_t count() const { return static_cast<uint32_t>(shards_.size()); }

 private:
  std::vector<OfflineShard> shards_;
};

// The demo workspace "Demo": alice, bob and carol (password `password`), #general with three
// welcome posts, #engineering with a thread, reactions and a pin, and a direct conversation
// between alice and bob. Prints what it made; says so and changes nothing if the
// directory is already seeded. Returns the exit code.
int SeedDemo(const std::string& dir, const std::string& password);

// The generated workspace bench-`tag` for benchmarks (see GeneratedOptions). Returns the exit
// code.
struct GeneratedOptions {
  std::string tag = "replay";
  int64_t users = 1;       // p0.TAG@bench.test .. p(U-1).TAG@bench.test
  int64_t channels = 1;    // #general and bench-1 .. bench-(C-1), everyone a member of each
  int64_t messages = 0;    // posts and replies, spread over the channels and users
  int replies_pct = 10;    // share of the messages that are thread replies
  int reactions_pct = 20;  // chance, per message, of a reaction to a recent one
  int bytes = 100;         // length of each message's text
  uint64_t rng_seed = 1;   // same seed, options and starting directory: same events but times
};
int SeedGenerated(const std::string& dir, const GeneratedOptions& options);

}  // namespace parley::admin
