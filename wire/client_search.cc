// Client calls for search and recent searches.
#include <utility>

#include "wire/client.h"
#include "wire/client_expect.h"

namespace parley::wire {

using internal::Expect;
using internal::ExpectOk;

Result<SearchResultsT> Client::Search(const std::string& query, const SearchOptions& options) {
  SearchT request;
  request.query = query;
  request.kind = options.kind;
  request.sort = options.sort;
  request.offset = options.offset;
  request.limit = options.limit;
  request.time_zone = options.time_zone;
  return Expect<SearchResultsT>(Call(MakeBody(std::move(request))));
}

Result<RecentSearchListT> Client::ListRecentSearches() {
  return Expect<RecentSearchListT>(Call(MakeBody(ListRecentSearchesT{})));
}

Status Client::ClearRecentSearches() { return ExpectOk(Call(MakeBody(ClearRecentSearchesT{}))); }

}  // namespace parley::wire
