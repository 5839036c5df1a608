#include "search/service.h"

namespace parley::search {

Result<std::unique_ptr<SearchService>> SearchService::Open(
    const std::string& data_dir, const std::vector<const persist::LmdbLogStore*>& logs,
    const IndexerOptions& options) {
  std::unique_ptr<SearchService> service(
      new SearchService(data_dir, static_cast<uint32_t>(logs.size())));
  for (ShardId k = 0; k < logs.size(); ++k) {
    IndexerOptions mine = options;
    mine.thread_name = "index-" + std::to_string(k);
    auto indexer = std::make_unique<ShardIndexer>(IndexDir(data_dir, k), logs[k], mine);
    if (Status opened = indexer->Open(); !opened.ok()) return opened.error();
    service->indexers_.push_back(std::move(indexer));
  }
  return service;
}

SearchService::~SearchService() { Stop(); }

void SearchService::Start() {
  for (auto& indexer : indexers_) indexer->Start();
}

void SearchService::Stop() {
  for (auto& indexer : indexers_) indexer->Stop();
}

bool SearchService::Ready() const {
  for (const auto& indexer : indexers_) {
    if (!indexer->caught_up()) return false;
  }
  return true;
}

uint64_t SearchService::documents() const {
  uint64_t n = 0;
  for (const auto& indexer : indexers_) n += indexer->documents();
  return n;
}

uint32_t SearchService::rebuilt_count() const {
  uint32_t n = 0;
  for (const auto& indexer : indexers_) n += indexer->rebuilt() ? 1 : 0;
  return n;
}

}  // namespace parley::search
