// Upgrading a data directory's format (persist/data_dir.h kFormatVersion) in place, one version
// at a time, for `parley-admin migrate`. Each shard records its own format_version in its
// `meta`; a step takes one shard from version k to k + 1, and the shard's format_version is
// rewritten only after its step has completed, so a migration interrupted by a crash is resumed
// by running it again: every shard carries on from the version it recorded.
//
// Thread contract: one call at a time per data directory, offline (the data directory must not
// be open in any other process: Migrate checks and refuses).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "persist/lmdb_store.h"

namespace parley::persist {

// Where the shard being migrated sits in its data directory.
struct ShardPlace {
  uint32_t shard = 0;
  uint32_t shard_count = 0;  // the shard-K directories, K = 0..shard_count-1
};

struct MigrationStep {
  uint32_t from = 0;    // it upgrades a shard from this version to from + 1
  std::string summary;  // one line for people: what it changes
  // Upgrades one shard in place; `shard` is open for writing. Must be idempotent or all-or-
  // nothing (one transaction): after a crash it runs again on a shard still recorded at `from`.
  // It must not write format_version (the migration does, once it returns OK).
  std::function<Status(LmdbLogStore& shard, const ShardPlace& place)> apply;
};

// parley's steps, in order: MigrationSteps()[k].from == k, and the last one ends at
// kFormatVersion.
const std::vector<MigrationStep>& MigrationSteps();

struct MigrationOptions {
  uint32_t to = 0;       // the version to reach; 0: the newest the steps know
  bool dry_run = false;  // plan only: open nothing for writing, change nothing
};

// One step applied (or, in a dry run, to be applied) to one shard.
struct MigrationAction {
  uint32_t shard = 0;
  uint32_t from = 0;
  std::string summary;
};

// Upgrades every shard of `data_dir` to options.to with `steps` (MigrationSteps() in parleyd;
// tests pass their own), version by version: every shard reaches k + 1 before any goes on to
// k + 2. Returns the actions in the order taken (empty: already at that version). `on_done` is
// told after each action has been recorded. Refuses, changing nothing:
// - kUnavailable if `data_dir` has no shard-0, or a shard is open in another process (a
//   running parleyd: stop it first);
// - kInvalidArgument if a shard records no readable format_version, a version newer than the
//   steps know or newer than options.to (no downgrades), or options.to is beyond the steps.
// On a step's failure, shards already upgraded stay upgraded and the rest keep their version.
// When options.to == kFormatVersion the result is checked with CheckDataDir.
Result<std::vector<MigrationAction>> Migrate(
    const std::string& data_dir, const MigrationOptions& options,
    const std::vector<MigrationStep>& steps = MigrationSteps(),
    const std::function<void(const MigrationAction&)>& on_done = {});

}  // namespace parley::persist
