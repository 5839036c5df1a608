// Client calls for channel details and members, conversations, read markers and typing.
#include <utility>

#include "wire/client.h"
#include "wire/client_expect.h"

namespace parley::wire {

using internal::Expect;
using internal::ExpectOk;

namespace {

// The object API leaves empty strings out of the frame, where absent means "unchanged". A
// blank string, which the server trims to empty, says "clear" instead.
std::string PresentString(const std::string& s) { return s.empty() ? " " : s; }

}  // namespace

Result<ChannelInfoT> Client::SetChannelDetails(uint64_t channel_id, std::optional<std::string> name,
                                               std::optional<std::string> topic,
                                               std::optional<std::string> purpose) {
  SetChannelDetailsT request;
  request.channel_id = channel_id;
  if (name) request.name = PresentString(*name);
  if (topic) request.topic = PresentString(*topic);
  if (purpose) request.purpose = PresentString(*purpose);
  return Expect<ChannelInfoT>(Call(MakeBody(std::move(request))));
}

Status Client::RemoveChannelMember(uint64_t channel_id, uint64_t user_id) {
  RemoveChannelMemberT request;
  request.channel_id = channel_id;
  request.user_id = user_id;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<ChannelMemberListT> Client::ListChannelMembers(uint64_t channel_id, uint64_t after_user_id,
                                                      uint16_t limit) {
  ListChannelMembersT request;
  request.channel_id = channel_id;
  request.after_user_id = after_user_id;
  request.limit = limit;
  return Expect<ChannelMemberListT>(Call(MakeBody(std::move(request))));
}

Result<ChannelInfoT> Client::OpenConversation(uint64_t workspace_id,
                                              const std::vector<uint64_t>& user_ids) {
  OpenConversationT request;
  request.workspace_id = workspace_id;
  request.user_ids = user_ids;
  return Expect<ChannelInfoT>(Call(MakeBody(std::move(request))));
}

Result<ConversationListT> Client::ListConversations(uint64_t workspace_id) {
  ListConversationsT request;
  request.workspace_id = workspace_id;
  return Expect<ConversationListT>(Call(MakeBody(std::move(request))));
}

Result<ReadMarkerT> Client::MarkRead(uint64_t channel_id, uint64_t seq) {
  MarkReadT request;
  request.channel_id = channel_id;
  request.seq = seq;
  return Expect<ReadMarkerT>(Call(MakeBody(std::move(request))));
}

Status Client::Typing(uint64_t channel_id, bool stop) {
  TypingT request;
  request.channel_id = channel_id;
  request.stop = stop;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

}  // namespace parley::wire
