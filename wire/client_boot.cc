// Client calls for boot and resume.
#include <utility>

#include "wire/client.h"
#include "wire/client_expect.h"

namespace parley::wire {

using internal::Expect;

namespace {

template <class V>
void Append(V& to, V& from) {
  for (auto& item : from) to.push_back(std::move(item));
}

}  // namespace

Result<BootOkT> Client::BootPage(const std::vector<uint8_t>& token,
                                 const std::vector<uint64_t>& presence_of) {
  BootT request;
  request.resume_token = token;
  request.presence_of = presence_of;
  request.max_answer_bytes = options_.max_frame_bytes;
  return Expect<BootOkT>(Call(MakeBody(std::move(request))));
}

Result<BootOkT> Client::Boot(const std::vector<uint8_t>& resume_token, int* pages,
                             const std::vector<uint64_t>& presence_of) {
  Result<BootOkT> first = BootPage(resume_token, presence_of);
  if (pages != nullptr) *pages = 1;
  if (!first.ok()) return first;
  BootOkT& all = *first;
  while (all.has_more) {
    Result<BootOkT> next = BootPage(all.token);
    if (!next.ok()) return next.error();
    if (pages != nullptr) ++*pages;
    // Workspaces and removals come with the first page; later ones add channels and threads.
    Append(all.channels, next->channels);
    Append(all.threads, next->threads);
    all.token = std::move(next->token);
    all.has_more = next->has_more;
  }
  return first;
}

}  // namespace parley::wire
