#include "core/decide.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <utility>

#include "core/decide_rules.h"

namespace parley {
namespace rules {

uint64_t NextId(Context& ctx) {
  assert(ctx.ids != nullptr);
  return ctx.ids->Next();
}

}  // namespace rules

using namespace rules;

namespace {

// ---- Text rules -------------------------------------------------------------------------------

bool IsAsciiSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

Result<uint32_t> rules::PageLimit(uint32_t requested, uint32_t fallback, uint32_t max) {
  uint32_t limit = requested == 0 ? fallback : requested;
  if (limit > max) return Invalid("limit is above " + std::to_string(max), "limit");
  return limit;
}

std::string_view rules::TrimAscii(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

namespace {

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

}  // namespace

Error rules::Invalid(std::string message, std::string field) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(field));
}

std::string rules::TooLong(std::string_view what, size_t max) {
  return std::string(what) + " is longer than " + std::to_string(max) + " bytes";
}

bool rules::HasControlCharacters(std::string_view s) { return HasControlChars(s); }

Result<std::string> rules::ValidateName(std::string_view raw, size_t max, std::string_view what,
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
Status rules::ValidateChannelName(std::string_view name) {
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

Status rules::ValidateText(std::string_view text) {
  if (text.empty()) return Invalid("message text is empty", "text");
  if (text.size() > kMaxMessageBytes) {
    return Invalid(TooLong("message text", kMaxMessageBytes), "text");
  }
  if (!IsValidUtf8(text)) return Invalid("message text is not valid UTF-8", "text");
  if (IsOnlyAsciiSpace(text)) return Invalid("message text is only whitespace", "text");
  return OkStatus();
}

namespace {

Status ValidatePassword(const RegisterUser& c, std::string_view email) {
  if (c.oidc) {
    if (!c.password.empty() || !c.password_hash.empty()) {
      return Invalid("an OpenID account has no password", "password");
    }
    return OkStatus();
  }
  if (Status s = CheckPasswordPolicy(c.password, email); !s) return s;
  // The caller hashes before deciding; an empty hash is its bug, but still an error.
  if (c.password_hash.empty()) return Invalid("password hash is empty", "password_hash");
  return OkStatus();
}

}  // namespace

Status rules::ValidatePost(std::string_view text, std::string_view client_msg_id) {
  if (Status s = ValidateText(text); !s) return s;
  if (client_msg_id.size() > kMaxClientMsgIdBytes) {
    return Invalid(TooLong("client_msg_id", kMaxClientMsgIdBytes), "client_msg_id");
  }
  return OkStatus();
}

// ---- Access rules -----------------------------------------------------------------------------

Status rules::RequireActor(UserId actor) {
  if (actor == kNoId) return MakeError(ErrorCode::kUnauthenticated, "sign in first", "actor");
  return OkStatus();
}

Error rules::ChannelNotFound() {
  return MakeError(ErrorCode::kNotFound, "channel not found", "channel_id");
}

Error rules::ConversationMembersFixed() {
  return MakeError(ErrorCode::kForbidden, "the members of a conversation are fixed",
                   "channel_id");
}

Error rules::WorkspaceNotFound() {
  return MakeError(ErrorCode::kNotFound, "workspace not found", "workspace_id");
}

// Answering those who may not know a channel exactly as for a missing channel reveals nothing.
rules::ChannelAccess rules::FindVisibleChannel(const ShardState& state, UserId actor,
                                               ChannelId id) {
  const ChannelState* channel = state.FindChannel(id);
  if (channel == nullptr) return {};
  const WorkspaceState* ws = state.FindWorkspace(channel->workspace_id);
  std::optional<WorkspaceRole> role = ws ? ws->RoleOf(actor) : std::nullopt;
  if (!role) return {};
  bool member = channel->IsMember(actor);
  if (!member && (channel->is_private || *role == WorkspaceRole::kGuest)) return {};
  return {channel, ws, *role};
}

Status rules::CheckCanPost(const ChannelAccess& access, UserId actor) {
  const ChannelState* channel = access.channel;
  if (!channel->IsMember(actor)) {
    return MakeError(ErrorCode::kForbidden, "join the channel to post in it", "channel_id");
  }
  if (channel->archived) {
    return MakeError(ErrorCode::kForbidden, "the channel is archived: it is read-only",
                     "channel_id");
  }
  if (channel->announcement && !access.is_admin() &&
      !access.workspace->settings.members_post_announcements) {
    return MakeError(ErrorCode::kForbidden, "only admins post in this announcement channel",
                     "channel_id");
  }
  return OkStatus();
}

namespace {

// ---- One decision per command -----------------------------------------------------------------

// Order throughout: who may ask (existence, membership), then argument shape, then conflicts
// with existing state, and only then minting, so a rejected command burns no ids.

Decision DecideOn(const ShardState& state, const RegisterUser& c, Context& ctx) {
  Result<std::string> email = NormaliseEmail(c.email);
  if (!email) return email.error();
  Result<std::string> name =
      ValidateName(c.display_name, kMaxDisplayNameBytes, "display name", "display_name");
  if (!name) return name.error();
  if (Status s = ValidatePassword(c, *email); !s) return s.error();
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

// Only open workspaces take members without an invite; an invite-only one is not revealed.
Decision DecideOn(const ShardState& state, const JoinWorkspace& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  const WorkspaceState* ws = state.FindWorkspace(c.workspace_id);
  if (ws == nullptr) return WorkspaceNotFound();
  if (ws->IsMember(c.actor)) return NoOp();
  if (ws->members.count(c.actor) != 0) {
    return MakeError(ErrorCode::kForbidden, "your account is deactivated in this workspace",
                     "workspace_id");
  }
  if (!ws->settings.join_open) return WorkspaceNotFound();
  return Emit(WorkspaceJoined{ws->id, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const CreateChannel& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  Result<const WorkspaceState*> ws = FindMemberWorkspace(state, c.actor, c.workspace_id);
  if (!ws) return ws.error();
  std::optional<WorkspaceRole> role = (*ws)->RoleOf(c.actor);
  if (role == WorkspaceRole::kGuest) {
    return MakeError(ErrorCode::kForbidden, "guests cannot create channels", "workspace_id");
  }
  if (c.is_private && !(*ws)->settings.members_create_private && !(*ws)->IsAdmin(c.actor)) {
    return MakeError(ErrorCode::kForbidden,
                     "only admins create private channels in this workspace", "is_private");
  }
  std::string_view name = TrimAscii(c.name);
  if (Status s = ValidateChannelName(name); !s) return s.error();
  if ((*ws)->channel_by_name.count(std::string(name)) != 0) {
    return MakeError(ErrorCode::kAlreadyExists, "a channel with this name already exists", "name");
  }
  return Emit(
      ChannelCreated{(*ws)->id, NextId(ctx), std::string(name), c.is_private, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const JoinChannel& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  ChannelAccess access = FindVisibleChannel(state, c.actor, c.channel_id);
  if (access.channel == nullptr) return ChannelNotFound();
  if (access.channel->kind != ChannelKind::kChannel) return ConversationMembersFixed();
  if (access.channel->IsMember(c.actor)) return NoOp();
  if (access.channel->archived) {
    return MakeError(ErrorCode::kForbidden, "the channel is archived", "channel_id");
  }
  return Emit(ChannelJoined{access.channel->id, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const LeaveChannel& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  ChannelAccess access = FindVisibleChannel(state, c.actor, c.channel_id);
  if (access.channel == nullptr) return ChannelNotFound();
  if (access.channel->kind != ChannelKind::kChannel) return ConversationMembersFixed();
  if (!access.channel->IsMember(c.actor)) return NoOp();
  if (access.workspace->general_id == access.channel->id &&
      access.role != WorkspaceRole::kGuest) {
    return MakeError(ErrorCode::kForbidden, "everyone stays in #general", "channel_id");
  }
  return Emit(ChannelLeft{access.channel->id, c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const PostMessage& c, Context& ctx) {
  if (Status s = RequireActor(c.actor); !s) return s.error();
  ChannelAccess access = FindVisibleChannel(state, c.actor, c.channel_id);
  const ChannelState* channel = access.channel;
  if (channel == nullptr) return ChannelNotFound();
  if (Status s = CheckCanPost(access, c.actor); !s) return s.error();
  if (Status s = ValidatePost(c.text, c.client_msg_id); !s) return s.error();
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
  ChannelAccess access = FindVisibleChannel(state, actor, channel_id);
  if (access.channel == nullptr) return ChannelNotFound();
  if (!access.channel->IsMember(actor)) {
    return MakeError(ErrorCode::kForbidden, "join the channel to read it", "channel_id");
  }
  return OkStatus();
}

Status CheckPasswordPolicy(std::string_view password, std::string_view email) {
  if (password.size() < kMinPasswordBytes) {
    return Invalid("password is shorter than " + std::to_string(kMinPasswordBytes) + " bytes",
                   "password");
  }
  if (password.size() > kMaxPasswordBytes) {
    return Invalid(TooLong("password", kMaxPasswordBytes), "password");
  }
  std::string lower(password);
  for (char& ch : lower) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  std::string_view local = email.substr(0, email.find('@'));
  if (lower == email || lower == local) {
    return Invalid("password must not be your email address", "password");
  }
  // The most common passwords of at least kMinPasswordBytes in public breach lists.
  static constexpr std::array<std::string_view, 40> kCommon = {
      "1234567890", "12345678910", "123456789a", "1234567890a", "0123456789", "1111111111",
      "0000000000", "1q2w3e4r5t", "qwertyuiop", "qwertyuiop1", "asdfghjkl1", "zxcvbnm123",
      "password1", "password12", "password123", "password1234", "passw0rd12", "iloveyou12",
      "iloveyou123", "princess12", "sunshine12", "football12", "baseball12", "welcome123",
      "letmein123", "abc1234567", "abcdefghij", "qazwsxedc1", "1qaz2wsx3edc", "monkey1234",
      "dragon1234", "superman12", "trustno1234", "changeme123", "administrator",
      "qwerty1234", "qwerty12345", "987654321a", "9876543210", "correcthorsebatterystaple"};
  for (std::string_view common : kCommon) {
    if (lower == common) return Invalid("password is too common", "password");
  }
  return OkStatus();
}

namespace {

// The timeline's seqs in the open interval (after, end), paged like ReadHistory: two binary
// searches, then O(limit).
HistoryPage ReadTimeline(const ChannelState& channel, Seq after, Seq end, uint32_t limit,
                         bool forward, HistoryPage page) {
  const std::vector<Seq>& timeline = channel.timeline;
  auto lo = std::upper_bound(timeline.begin(), timeline.end(), after);
  auto hi = std::lower_bound(lo, timeline.end(), end);
  size_t available = static_cast<size_t>(hi - lo);
  size_t count = std::min<size_t>(available, limit);
  page.has_more = available > count;
  auto first = forward ? lo : hi - static_cast<std::ptrdiff_t>(count);
  page.messages.reserve(count);
  for (auto it = first; it != first + static_cast<std::ptrdiff_t>(count); ++it) {
    page.messages.push_back(&channel.messages[*it - 1]);
  }
  return page;
}

}  // namespace

Result<HistoryPage> ReadHistory(const ShardState& state, UserId actor, const HistoryQuery& query) {
  if (Status s = CheckCanRead(state, actor, query.channel_id); !s) return s.error();
  Result<uint32_t> page_limit = PageLimit(query.limit, kDefaultHistoryLimit, kMaxHistoryLimit);
  if (!page_limit) return page_limit.error();
  const uint32_t limit = *page_limit;
  const ChannelState& channel = *state.FindChannel(query.channel_id);
  HistoryPage page;
  page.last_seq = channel.last_seq();
  // The candidates are the open interval (after, end); end >= 1, so end - 1 cannot wrap.
  Seq end = page.last_seq + 1;
  if (query.before != 0) end = std::min(end, query.before);
  // Expired messages are gone from history, not shown as tombstones.
  const Seq after = std::max(query.after, channel.expired_up_to);
  if (after >= end - 1) return page;
  if (query.top_level_only && channel.has_replies) {
    return ReadTimeline(channel, after, end, limit, query.forward, std::move(page));
  }
  Seq available = end - 1 - after;
  Seq count = std::min<Seq>(available, limit);
  page.has_more = available > count;
  Seq first = query.forward ? after + 1 : end - count;
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
