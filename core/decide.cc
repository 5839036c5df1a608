#include "core/decide.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

namespace parley {

namespace {

using Decision = Result<std::optional<Event>>;

Decision Emit(Event event) { return std::optional<Event>(std::move(event)); }
Decision NoOp() { return std::optional<Event>(); }

uint64_t NextId(Context& ctx) {
  assert(ctx.ids != nullptr);
  return ctx.ids->Next();
}

// ---- Text rules -------------------------------------------------------------------------------

bool IsAsciiSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsOnlyAsciiSpace(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAsciiSpace(c); });
}

bool HasAsciiSpace(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return IsAsciiSpace(c); });
}

// C0 controls, DEL and C1 controls (U+0080..U+009F, encoded C2 80..C2 9F).
// REQUIRES: IsValidUtf8(s), so 0xC2 is always a lead byte with a continuation after it.
bool HasControlChars(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && static_cast<unsigned char>(s[i + 1]) <= 0x9f) return true;
  }
  return false;
}

// Length of the well-formed UTF-8 sequence at the start of `s` (non-empty), or 0 if it is
// truncated, overlong, a surrogate, above U+10FFFF, or starts with a stray byte.
size_t Utf8SequenceLength(std::string_view s) {
  unsigned char lead = s[0];
  if (lead < 0x80) return 1;
  size_t len;
  uint32_t cp, min;
  if ((lead & 0xe0) == 0xc0) {
    len = 2, cp = lead & 0x1f, min = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    len = 3, cp = lead & 0x0f, min = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    len = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return 0;  // a continuation byte, or 0xf8..0xff which UTF-8 never uses
  }
  if (s.size() < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    unsigned char c = s[k];
    if ((c & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
  return (cp < min || cp > 0x10ffff || surrogate) ? 0 : len;
}

Error Invalid(std::string message, std::string field) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(field));
}

std::string TooLong(std::string_view what, size_t max) {
  return std::string(what) + " is longer than " + std::to_string(max) + " bytes";
}

// Display names and workspace names: trimmed, 1..max bytes, valid UTF-8, no control characters.
// Returns the trimmed text.
Result<std::string> ValidateName(std::string_view raw, size_t max, std::string_view what,
                                 std::string field) {
  std::string_view name = TrimAscii(raw);
  if (name.empty()) return Invalid(std::string(what) + " is empty", field);
  if (name.size() > max) return Invalid(TooLong(what, max), field);
  if (!IsValidUtf8(name)) return Invalid(std::string(what) + " is not valid UTF-8", field);
  if (HasControlChars(name)) {
    return Invalid(std::string(what) + " contains control characters", field);
  }
  return std::string(name);
}

// REQUIRES: `name` is already trimmed.
Status ValidateChannelName(std::string_view name) {
  if (name.empty()) return Invalid("channel name is empty", "name");
  if (name.size() > kMaxNameBytes) return Invalid(TooLong("channel name", kMaxNameBytes), "name");
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool chars_ok = std::all_of(name.begin(), name.end(),
                              [&](char c) { return alnum(c) || c == '-' || c == '_'; });
  if (!chars_ok || !alnum(name.front())) {
    return Invalid(
        "channel names use lowercase letters, digits, '-' and '_', and start with a letter or "
        "digit",
        "name");
  }
  return OkStatus();
}

Status ValidatePassword(const RegisterUser& c) {
  if (c.password.size() < kMinPasswordBytes) {
    return Invalid("password is shorter than " + std::to_string(kMinPasswordBytes) + " bytes",
                   "password");
  }
  if (c.password.size() > kMaxPasswordBytes) {
    return Invalid(TooLong("password", kMaxPasswordBytes), "password");
  }
  // The caller hashes before deciding; an empty salt or hash is its bug, but still an error.
  if (c.password_salt.empty()) return Invalid("password salt is empty", "password_salt");
  if (c.password_hash.empty()) return Invalid("password hash is empty", "password_hash");
  return OkStatus();
}

Status ValidateMessage(const PostMessage& c) {
  if (c.text.empty()) return Invalid("message text is empty", "text");
  if (c.text.size() > kMaxMessageBytes) {
    return Invalid(TooLong("message text", kMaxMessageBytes), "text");
  }
  if (!IsValidUtf8(c.text)) return Invalid("message text is not valid UTF-8", "text");
  if (IsOnlyAsciiSpace(c.text)) return Invalid("message text is only whitespace", "text");
  if (c.client_msg_id.size() > kMaxClientMsgIdBytes) {
    return Invalid(TooLong("client_msg_id", kMaxClientMsgIdBytes), "client_msg_id");
  }
  return OkStatus();
}

// ---- Access rules -----------------------------------------------------------------------------

Status RequireActor(UserId actor) {
  if (actor == kNoId) return MakeError(ErrorCode::kUnauthenticated, "sign in first", "actor");
  return OkStatus();
}

Error ChannelNotFound() {
  return MakeError(ErrorCode::kNotFound, "channel not found", "channel_id");
}

Error WorkspaceNotFound() {
  return MakeError(ErrorCode::kNotFound, "workspace not found", "workspace_id");
}

// The channel if `actor` may know it exists: every public channel, and private ones they are in.
// Answering a private channel's non-members exactly as for a missing channel reveals nothing.
const ChannelState* FindVisibleChannel(const ShardState& state, UserId actor, ChannelId id) {
  const ChannelState* channel = state.FindChannel(id);
  if (channel == nullptr || (channel->is_private && !channel->IsMember(actor))) return nullptr;
  return channel;
}

// ---- One decision per command -----------------------------------------------------------------

// Order throughout: who may ask (existence, membership), then argument shape, then conflicts
// with existing state, and only then minting, so a rejected command burns no ids.

Decision DecideOn(const ShardState& state, const RegisterUser& c, Context& ctx) {
  Result<std::string> email = NormaliseEmail(c.email);
  if (!email) return email.error();
  Result<std::string> name =
      ValidateName(c.display_name, kMaxDisplayNameBytes, "display name", "display_name");
  if (!name) return name.error();
  if (Status s = ValidatePassword(c); !s) return s.error();
  if (state.FindUserByEmail(*email) != nullptr) {
    return MakeError(ErrorCode::kAlreadyExists, "this email is already registered", "email");
  }
  return Emit(UserRegistered{NextId(ctx), std::move(*email), std::move(*name), c.password_salt,
                             c.password_hash, ctx.now});
}

Decision DecideOn(const ShardState& /*state*/, const CreateWorkspace& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  Result<std::string> name = ValidateName(c.name, kMaxNameBytes, "workspace name", "name");
  if (!name) return name.error();
  WorkspaceCreated e;
  // Minting order is part of the contract: workspace, then #general, then #random.
  e.workspace_id = NextId(ctx);
  e.general_id = NextId(ctx);
  e.random_id = NextId(ctx);
  e.name = std::move(*name);
  e.owner_id = c.actor;
  e.at = ctx.now;
  return Emit(std::move(e));
}

Decision DecideOn(const ShardState& state, const JoinWorkspace& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  const WorkspaceState* ws = state.FindWorkspace(c.workspace_id);
  if (ws == nullptr) return WorkspaceNotFound();
  if (ws->IsMember(c.actor)) return NoOp();
  return Emit(WorkspaceJoined{ws->id, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const CreateChannel& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  const WorkspaceState* ws = state.FindWorkspace(c.workspace_id);
  if (ws == nullptr) return WorkspaceNotFound();
  if (!ws->IsMember(c.actor)) {
    return MakeError(ErrorCode::kForbidden, "only workspace members can create channels",
                     "workspace_id");
  }
  std::string_view name = TrimAscii(c.name);
  if (Status s = ValidateChannelName(name); !s) return s.error();
  if (ws->channel_by_name.count(std::string(name)) != 0) {
    return MakeError(ErrorCode::kAlreadyExists, "a channel with this name already exists", "name");
  }
  return Emit(
      ChannelCreated{ws->id, NextId(ctx), std::string(name), c.is_private, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const JoinChannel& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  const ChannelState* channel = FindVisibleChannel(state, c.actor, c.channel_id);
  if (channel == nullptr) return ChannelNotFound();
  if (channel->IsMember(c.actor)) return NoOp();
  const WorkspaceState* ws = state.FindWorkspace(channel->workspace_id);
  if (ws == nullptr || !ws->IsMember(c.actor)) {
    return MakeError(ErrorCode::kForbidden, "join the channel's workspace first", "channel_id");
  }
  return Emit(ChannelJoined{channel->id, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const LeaveChannel& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  const ChannelState* channel = FindVisibleChannel(state, c.actor, c.channel_id);
  if (channel == nullptr) return ChannelNotFound();
  if (!channel->IsMember(c.actor)) return NoOp();
  const WorkspaceState* ws = state.FindWorkspace(channel->workspace_id);
  if (ws != nullptr && ws->general_id == channel->id) {
    return MakeError(ErrorCode::kForbidden, "everyone stays in #general", "channel_id");
  }
  return Emit(ChannelLeft{channel->id, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const PostMessage& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  const ChannelState* channel = FindVisibleChannel(state, c.actor, c.channel_id);
  if (channel == nullptr) return ChannelNotFound();
  if (!channel->IsMember(c.actor)) {
    return MakeError(ErrorCode::kForbidden, "join the channel to post in it", "channel_id");
  }
  if (Status s = ValidateMessage(c); !s) return s.error();
  // Callers answer retries from FindPosted before deciding; this only stops a duplicate append.
  if (FindPosted(*channel, c.actor, c.client_msg_id).has_value()) {
    return MakeError(ErrorCode::kAlreadyExists, "this client_msg_id was already posted",
                     "client_msg_id");
  }
  return Emit(MessagePosted{channel->id, channel->last_seq() + 1, NextId(ctx), c.actor,
                            c.client_msg_id, c.text, ctx.now});
}

}  // namespace

Result<std::optional<Event>> Decide(const ShardState& state, const Command& command, Context& ctx) {
  return std::visit([&](const auto& c) { return DecideOn(state, c, ctx); }, command);
}

Result<std::string> NormaliseEmail(std::string_view raw) {
  std::string email(TrimAscii(raw));
  for (char& c : email) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (email.empty()) return Invalid("email is empty", "email");
  if (email.size() > kMaxEmailBytes) return Invalid(TooLong("email", kMaxEmailBytes), "email");
  if (!IsValidUtf8(email) || HasControlChars(email) || HasAsciiSpace(email)) {
    return Invalid("email contains whitespace, control characters or invalid UTF-8", "email");
  }
  size_t at = email.find('@');
  if (at == std::string::npos || email.find('@', at + 1) != std::string::npos) {
    return Invalid("email must contain exactly one '@'", "email");
  }
  if (at == 0) return Invalid("email has nothing before the '@'", "email");
  std::string_view domain = std::string_view(email).substr(at + 1);
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.') {
    return Invalid("email domain must contain a '.' and not start or end with one", "email");
  }
  return email;
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    // Most chat text is ASCII: skip it eight bytes at a time.
    uint64_t word;
    while (i + 8 <= n) {
      std::memcpy(&word, text.data() + i, 8);
      if (word & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i == n) break;
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t len = Utf8SequenceLength(text.substr(i));
    if (len == 0) return false;
    i += len;
  }
  return true;
}

Status CheckCanRead(const ShardState& state, UserId actor, ChannelId channel_id) {
  if (Status s = RequireActor(actor); !s) return s;
  const ChannelState* channel = FindVisibleChannel(state, actor, channel_id);
  if (channel == nullptr) return ChannelNotFound();
  if (!channel->IsMember(actor)) {
    return MakeError(ErrorCode::kForbidden, "join the channel to read it", "channel_id");
  }
  return OkStatus();
}

Result<HistoryPage> ReadHistory(const ShardState& state, UserId actor, const HistoryQuery& query) {
  if (Status s = CheckCanRead(state, actor, query.channel_id); !s) return s.error();
  uint32_t limit = query.limit == 0 ? kDefaultHistoryLimit : query.limit;
  if (limit > kMaxHistoryLimit) {
    return Invalid("limit is above " + std::to_string(kMaxHistoryLimit), "limit");
  }
  const ChannelState& channel = *state.FindChannel(query.channel_id);
  HistoryPage page;
  page.last_seq = channel.last_seq();
  // The candidates are the open interval (after, end); end >= 1, so end - 1 cannot wrap.
  Seq end = page.last_seq + 1;
  if (query.before != 0) end = std::min(end, query.before);
  if (query.after >= end - 1) return page;
  Seq available = end - 1 - query.after;
  Seq count = std::min<Seq>(available, limit);
  page.has_more = available > count;
  Seq first = query.forward ? query.after + 1 : end - count;
  page.messages.reserve(count);
  // Dense seqs: messages[seq - 1] holds seq, so a page costs O(limit) whatever the channel size.
  for (Seq seq = first; seq < first + count; ++seq) {
    page.messages.push_back(&channel.messages[seq - 1]);
  }
  return page;
}

std::optional<Seq> FindPosted(const ChannelState& channel, UserId author,
                              std::string_view client_msg_id) {
  // An empty client id opts out of deduplication.
  if (client_msg_id.empty()) return std::nullopt;
  auto it = channel.seq_by_client_id.find(ClientIdKey(author, client_msg_id));
  if (it == channel.seq_by_client_id.end()) return std::nullopt;
  return it->second;
}

}  // namespace parley
