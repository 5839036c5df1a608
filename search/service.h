// SearchService: a parleyd's search, whole: one ShardIndexer per shard following that shard's
// log, and the Searcher that queries all their indexes together. Owned by shard::Server.
// Thread contract: Open and Start/Stop from the controlling thread; Run, Ready and the
// counters from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "persist/lmdb_store.h"
#include "search/indexer.h"
#include "search/searcher.h"

namespace parley::search {

class SearchService {
 public:
  // Opens (or creates, or schedules the rebuild of) every shard's index; logs[k] is shard k's
  // log and must outlive the service. kUnavailable when an index is locked by another process.
  static Result<std::unique_ptr<SearchService>> Open(
      const std::string& data_dir, const std::vector<const persist::LmdbLogStore*>& logs,
      const IndexerOptions& options);
  ~SearchService();  // Stop()s

  void Start();  // the indexing threads
  void Stop();   // commits what was indexed and joins them; idempotent

  Result<SearchPage> Run(const SearchSpec& spec) const { return searcher_.Run(spec); }
  // Every index has caught up with its log at least once since it was opened: until then
  // (a first build, or a rebuild) results may be missing older messages.
  bool Ready() const;
  Lsn indexed_lsn(ShardId shard) const { return indexers_[shard]->indexed_lsn(); }
  uint64_t documents() const;
  uint32_t rebuilt_count() const;  // indexes Open() found missing, stale or of another format

 private:
  SearchService(const std::string& data_dir, uint32_t shards) : searcher_(data_dir, shards) {}

  std::vector<std::unique_ptr<ShardIndexer>> indexers_;
  Searcher searcher_;
};

}  // namespace parley::search
