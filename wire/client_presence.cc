// Client calls for presence, custom status and receipts.
#include <utility>

#include "wire/client.h"
#include "wire/client_expect.h"

namespace parley::wire {

using internal::Expect;
using internal::ExpectOk;

Result<PresenceInfoT> Client::SetPresence(bool away) {
  SetPresenceT request;
  request.away = away;
  return Expect<PresenceInfoT>(Call(MakeBody(std::move(request))));
}

Result<PresenceInfoT> Client::SetStatus(const std::string& text, const std::string& emoji,
                                        int64_t expires_at_ms) {
  SetStatusT request;
  request.text = text;
  request.emoji = emoji;
  request.expires_at_ms = expires_at_ms;
  return Expect<PresenceInfoT>(Call(MakeBody(std::move(request))));
}

Result<PresenceListT> Client::SubscribePresence(const std::vector<uint64_t>& user_ids) {
  SubscribePresenceT request;
  request.user_ids = user_ids;
  return Expect<PresenceListT>(Call(MakeBody(std::move(request))));
}

Status Client::SetReadReceipts(bool send) {
  SetReadReceiptsT request;
  request.send = send;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<ReceiptListT> Client::ListReceipts(uint64_t channel_id, uint64_t seq) {
  ListReceiptsT request;
  request.channel_id = channel_id;
  request.seq = seq;
  return Expect<ReceiptListT>(Call(MakeBody(std::move(request))));
}

}  // namespace parley::wire
