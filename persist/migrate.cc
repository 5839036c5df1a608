#include "persist/migrate.h"

#include <charconv>
#include <filesystem>
#include <map>

#include "persist/data_dir.h"

namespace parley::persist {
namespace {

namespace fs = std::filesystem;

// Version 0 kept only format_version and created_by in a shard's meta: the shard's index was
// its directory's name and the count was the number of shard directories. Version 1 records
// both in every shard, so a shard copied into the wrong place is caught (docs/log_format.md).
Status AddShardPlaceToMeta(LmdbLogStore& shard, const ShardPlace& place) {
  return shard.WriteMeta(
      std::map<std::string, std::string>{{"shard_count", std::to_string(place.shard_count)},
                                         {"shard_index", std::to_string(place.shard)}});
}

uint32_t CountShardDirs(const std::string& data_dir) {
  uint32_t n = 0;
  while (n < kMaxShards && fs::is_directory(ShardDir(data_dir, n))) ++n;
  return n;
}

Result<uint32_t> ReadVersion(const std::string& data_dir, uint32_t shard) {
  LmdbOptions options;
  options.read_only = true;
  auto store = LmdbLogStore::Open(ShardDir(data_dir, shard), options);
  if (!store.ok()) return store.error();
  Result<std::string> text = (*store)->ReadMeta("format_version");
  if (!text.ok()) return text.error();
  uint32_t version = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, version);
  if (text->empty() || ec != std::errc() || ptr != end) {
    return MakeError(ErrorCode::kInvalidArgument, ShardDir(data_dir, shard) +
                                                      " has no readable format_version (\"" +
                                                      *text + "\"); it is not a parley shard");
  }
  return version;
}

// Every shard's version, after checking that none is open elsewhere.
Result<std::vector<uint32_t>> ReadVersions(const std::string& data_dir) {
  const uint32_t n = CountShardDirs(data_dir);
  if (n == 0) {
    return MakeError(ErrorCode::kUnavailable,
                     data_dir + " is not a parley data directory (it has no shard-0)");
  }
  for (uint32_t k = 0; k < n; ++k) {
    Result<bool> busy = LmdbLogStore::OpenElsewhere(ShardDir(data_dir, k));
    if (!busy.ok()) return busy.error();
    if (*busy) {
      return MakeError(ErrorCode::kUnavailable,
                       ShardDir(data_dir, k) +
                           " is open in another process (a running parleyd?); "
                           "stop it before migrating");
    }
  }
  std::vector<uint32_t> versions;
  for (uint32_t k = 0; k < n; ++k) {
    Result<uint32_t> v = ReadVersion(data_dir, k);
    if (!v.ok()) return v.error();
    versions.push_back(*v);
  }
  return versions;
}

Status CheckPlan(const std::vector<uint32_t>& versions, uint32_t to, uint32_t newest,
                 const std::string& data_dir) {
  if (to > newest) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--to " + std::to_string(to) + " is beyond the newest format version " +
                         std::to_string(newest) + " this parley-admin knows");
  }
  for (uint32_t k = 0; k < versions.size(); ++k) {
    if (versions[k] > newest) {
      return MakeError(ErrorCode::kInvalidArgument,
                       ShardDir(data_dir, k) + " is of format version " +
                           std::to_string(versions[k]) + ", newer than this parley-admin knows (" +
                           std::to_string(newest) + "); use the release that wrote it");
    }
    if (versions[k] > to) {
      return MakeError(ErrorCode::kInvalidArgument,
                       ShardDir(data_dir, k) + " is already at format version " +
                           std::to_string(versions[k]) + ", past --to " + std::to_string(to) +
                           "; there are no downgrades");
    }
  }
  return OkStatus();
}

// Runs `step` on one shard, then records the new version: never before the step has completed.
Status Apply(const std::string& data_dir, const MigrationStep& step, const ShardPlace& place) {
  auto store = LmdbLogStore::Open(ShardDir(data_dir, place.shard), LmdbOptions{});
  if (!store.ok()) return store.error();
  if (Status applied = step.apply(**store, place); !applied.ok()) return applied;
  return (*store)->WriteMeta("format_version", std::to_string(step.from + 1));
}

}  // namespace

const std::vector<MigrationStep>& MigrationSteps() {
  static const std::vector<MigrationStep> steps = {
      {0, "record shard_count and shard_index in the shard's meta", AddShardPlaceToMeta},
  };
  return steps;
}

Result<std::vector<MigrationAction>> Migrate(
    const std::string& data_dir, const MigrationOptions& options,
    const std::vector<MigrationStep>& steps,
    const std::function<void(const MigrationAction&)>& on_done) {
  for (uint32_t k = 0; k < steps.size(); ++k) {
    if (steps[k].from != k) {
      return MakeError(ErrorCode::kInternal,
                       "migration steps out of order at " + std::to_string(k));
    }
  }
  const auto newest = static_cast<uint32_t>(steps.size());
  const uint32_t to = options.to == 0 ? newest : options.to;
  Result<std::vector<uint32_t>> versions = ReadVersions(data_dir);
  if (!versions.ok()) return versions.error();
  if (Status plan = CheckPlan(*versions, to, newest, data_dir); !plan.ok()) return plan.error();

  const auto count = static_cast<uint32_t>(versions->size());
  std::vector<MigrationAction> actions;
  for (uint32_t from = 0; from < to; ++from) {
    for (uint32_t k = 0; k < count; ++k) {
      if ((*versions)[k] != from) continue;
      MigrationAction action{k, from, steps[from].summary};
      if (!options.dry_run) {
        if (Status s = Apply(data_dir, steps[from], ShardPlace{k, count}); !s.ok())
          return s.error();
        if (on_done) on_done(action);
      }
      (*versions)[k] = from + 1;
      actions.push_back(std::move(action));
    }
  }
  if (!options.dry_run && to == kFormatVersion) {
    Result<DataDirInfo> checked = CheckDataDir(data_dir, count);
    if (!checked.ok()) return checked.error();
  }
  return actions;
}

}  // namespace parley::persist
