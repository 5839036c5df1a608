// The session's side of a request: handshake, authentication, routing to the owner, replies and
// their effects, scatter-gather over shards, and delivery to local subscribers.
#include <algorithm>
#include <chrono>

#include "auth/jwt.h"
#include "auth/oidc.h"
#include "auth/opaque_token.h"
#include "shard/encode.h"
#include "shard/log.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

// What a request needs from the connection, and which shard decides it.
enum class Need : uint8_t {
  kNothing,  // before sign-in (Hello, Ping, sign-in requests)
  kRead,     // Scope bits...
  kWrite,
  kAdmin,
  kAccount,  // a user's own session (not an API key): managing the account itself
};
enum class Owner : uint8_t {
  kLocal,      // this shard (session-level, or minted here)
  kEmail,      // the shard of the email it names
  kSelf,       // the signed-in user's shard
  kWorkspace,  // the workspace_id's shard
  kChannel,    // the channel_id's shard
  kSpecial,    // routed by its own code (tokens, profiles)
};
struct RequestKind {
  bool request = false;  // false: a response or event body, never the client's to send
  Need need = Need::kNothing;
  Owner owner = Owner::kLocal;
  bool sign_in = false;  // limited per address
};

RequestKind KindOf(wire::Body type) {
  using B = wire::Body;
  switch (type) {
    case B::Hello:
    case B::Ping:
      return {true, Need::kNothing, Owner::kLocal, false};
    case B::Register:
      return {true, Need::kNothing, Owner::kEmail, true};
    case B::Login:
    case B::MfaLogin:
    case B::OidcLogin:
    case B::Refresh:
      return {true, Need::kNothing, Owner::kSpecial, true};
    case B::ListWorkspaces:
    case B::Unsubscribe:
    case B::ListUnreadThreads:
    case B::Boot:
    case B::Search:
      return {true, Need::kRead, Owner::kLocal, false};
    case B::ListRecentSearches:
      return {true, Need::kRead, Owner::kSelf, false};
    case B::ClearRecentSearches:
      return {true, Need::kWrite, Owner::kSelf, false};
    case B::CreateWorkspace:
      return {true, Need::kWrite, Owner::kLocal, false};
    case B::GetProfile:
      return {true, Need::kRead, Owner::kSpecial, false};
    case B::ListChannels:
    case B::ListMembers:
    case B::ListConversations:
      return {true, Need::kRead, Owner::kWorkspace, false};
    case B::JoinWorkspace:
    case B::CreateChannel:
    case B::OpenConversation:
      return {true, Need::kWrite, Owner::kWorkspace, false};
    case B::AcceptInvite:
      return {true, Need::kWrite, Owner::kSpecial, false};
    case B::UpdateWorkspaceSettings:
    case B::CreateInvite:
    case B::ListInvites:
    case B::RevokeInvite:
    case B::SetMemberRole:
    case B::TransferOwnership:
    case B::SetMemberActive:
    case B::ListAudit:
      return {true, Need::kAdmin, Owner::kWorkspace, false};
    case B::History:
    case B::Sync:
    case B::Subscribe:
    case B::ListChannelMembers:
    case B::ListEdits:
    case B::ThreadHistory:
    case B::ListPins:
    case B::ListBookmarks:
      return {true, Need::kRead, Owner::kChannel, false};
    case B::JoinChannel:
    case B::LeaveChannel:
    case B::PostMessage:
    case B::EditMessage:
    case B::DeleteMessage:
    case B::AddChannelMember:
    case B::SetChannelDetails:
    case B::RemoveChannelMember:
    case B::MarkRead:
    case B::Typing:
    case B::FollowThread:
    case B::MarkThreadRead:
    case B::AddReaction:
    case B::RemoveReaction:
    case B::PinMessage:
    case B::AddBookmark:
    case B::RemoveBookmark:
      return {true, Need::kWrite, Owner::kChannel, false};
    case B::UpdateChannel:
      return {true, Need::kAdmin, Owner::kChannel, false};
    case B::SetPresence:
    case B::SetStatus:
    case B::SetReadReceipts:
      return {true, Need::kWrite, Owner::kSelf, false};
    case B::SubscribePresence:
      return {true, Need::kRead, Owner::kLocal, false};
    case B::ListReceipts:
      return {true, Need::kRead, Owner::kChannel, false};
    case B::GetChannelNotifyPref:
      return {true, Need::kRead, Owner::kChannel, false};
    case B::SetChannelNotifyPref:
      return {true, Need::kWrite, Owner::kChannel, false};
    case B::GetNotificationSettings:
    case B::ListNotifications:
    case B::SyncUser:
      return {true, Need::kRead, Owner::kSelf, false};
    case B::SetNotifyKeywords:
    case B::SetDnd:
    case B::MarkNotificationsRead:
      return {true, Need::kWrite, Owner::kSelf, false};
    case B::Logout:
    case B::ListSessions:
    case B::RevokeSession:
    case B::ChangePassword:
    case B::UpdateProfile:
    case B::MfaEnroll:
    case B::MfaConfirm:
    case B::MfaDisable:
    case B::CreateApiKey:
    case B::ListApiKeys:
    case B::RevokeApiKey:
      return {true, Need::kAccount, Owner::kSelf, false};
    default:
      return {};
  }
}

// Error codes worth a log line: trouble on our side, or a client that breaks the protocol.
// The rest (refusals of invalid input, permissions, limits) are only counted.
bool LoggedError(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInternal:
    case ErrorCode::kUnavailable:
    case ErrorCode::kBadRequest:
    case ErrorCode::kMalformedFrame:
    case ErrorCode::kFrameTooLarge:
    case ErrorCode::kUnsupportedVersion:
    case ErrorCode::kHelloRequired:
      return true;
    default:
      return false;
  }
}
constexpr uint32_t kErrorLogsPerSecond = 20;  // per shard: a misbehaving client cannot flood

// The workspace or channel id a request names (Owner::kWorkspace / kChannel).
uint64_t RoutingId(const wire::Frame* f) {
  using B = wire::Body;
  switch (f->body_type()) {
    case B::JoinWorkspace: return f->body_as_JoinWorkspace()->workspace_id();
    case B::CreateChannel: return f->body_as_CreateChannel()->workspace_id();
    case B::ListChannels: return f->body_as_ListChannels()->workspace_id();
    case B::ListMembers: return f->body_as_ListMembers()->workspace_id();
    case B::UpdateWorkspaceSettings: return f->body_as_UpdateWorkspaceSettings()->workspace_id();
    case B::CreateInvite: return f->body_as_CreateInvite()->workspace_id();
    case B::ListInvites: return f->body_as_ListInvites()->workspace_id();
    case B::RevokeInvite: return f->body_as_RevokeInvite()->workspace_id();
    case B::SetMemberRole: return f->body_as_SetMemberRole()->workspace_id();
    case B::TransferOwnership: return f->body_as_TransferOwnership()->workspace_id();
    case B::SetMemberActive: return f->body_as_SetMemberActive()->workspace_id();
    case B::ListAudit: return f->body_as_ListAudit()->workspace_id();
    case B::JoinChannel: return f->body_as_JoinChannel()->channel_id();
    case B::LeaveChannel: return f->body_as_LeaveChannel()->channel_id();
    case B::PostMessage: return f->body_as_PostMessage()->channel_id();
    case B::History: return f->body_as_History()->channel_id();
    case B::Sync: return f->body_as_Sync()->channel_id();
    case B::Subscribe: return f->body_as_Subscribe()->channel_id();
    case B::EditMessage: return f->body_as_EditMessage()->channel_id();
    case B::DeleteMessage: return f->body_as_DeleteMessage()->channel_id();
    case B::AddChannelMember: return f->body_as_AddChannelMember()->channel_id();
    case B::UpdateChannel: return f->body_as_UpdateChannel()->channel_id();
    case B::ListConversations: return f->body_as_ListConversations()->workspace_id();
    case B::OpenConversation: return f->body_as_OpenConversation()->workspace_id();
    case B::ListChannelMembers: return f->body_as_ListChannelMembers()->channel_id();
    case B::ListEdits: return f->body_as_ListEdits()->channel_id();
    case B::ThreadHistory: return f->body_as_ThreadHistory()->channel_id();
    case B::ListPins: return f->body_as_ListPins()->channel_id();
    case B::ListBookmarks: return f->body_as_ListBookmarks()->channel_id();
    case B::SetChannelDetails: return f->body_as_SetChannelDetails()->channel_id();
    case B::RemoveChannelMember: return f->body_as_RemoveChannelMember()->channel_id();
    case B::MarkRead: return f->body_as_MarkRead()->channel_id();
    case B::Typing: return f->body_as_Typing()->channel_id();
    case B::FollowThread: return f->body_as_FollowThread()->channel_id();
    case B::MarkThreadRead: return f->body_as_MarkThreadRead()->channel_id();
    case B::AddReaction: return f->body_as_AddReaction()->channel_id();
    case B::RemoveReaction: return f->body_as_RemoveReaction()->channel_id();
    case B::PinMessage: return f->body_as_PinMessage()->channel_id();
    case B::AddBookmark: return f->body_as_AddBookmark()->channel_id();
    case B::RemoveBookmark: return f->body_as_RemoveBookmark()->channel_id();
    case B::ListReceipts: return f->body_as_ListReceipts()->channel_id();
    case B::SetChannelNotifyPref: return f->body_as_SetChannelNotifyPref()->channel_id();
    case B::GetChannelNotifyPref: return f->body_as_GetChannelNotifyPref()->channel_id();
    default: return 0;
  }
}

uint32_t ScopeFor(Need need) {
  switch (need) {
    case Need::kRead: return kScopeRead;
    case Need::kWrite: return kScopeWrite;
    case Need::kAdmin: return kScopeAdmin;
    default: return 0;
  }
}

std::string_view Str(const flatbuffers::String* s) {
  return s ? std::string_view(s->data(), s->size()) : std::string_view();
}

ShardId EmailOwner(std::string_view email, ShardId fallback, uint32_t shards) {
  Result<std::string> normalised = NormaliseEmail(email);
  return normalised.ok() ? ShardOfEmail(*normalised, shards) : fallback;
}

Error BadToken(std::string_view what) {
  return MakeError(ErrorCode::kInvalidCredentials, "invalid or expired " + std::string(what),
                   std::string(what));
}

// Newest reply first; total counts them all, the list keeps the first kMaxHistoryLimit.
wire::Bytes EncodeUnreadThreads(uint64_t request_id, std::vector<wire::UnreadThreadT>& threads) {
  std::sort(threads.begin(), threads.end(), [](const auto& a, const auto& b) {
    if (a.last_reply_at_ms != b.last_reply_at_ms) return a.last_reply_at_ms > b.last_reply_at_ms;
    return a.channel_id != b.channel_id ? a.channel_id < b.channel_id
                                        : a.thread_seq < b.thread_seq;
  });
  wire::UnreadThreadListT reply;
  reply.total = static_cast<uint32_t>(threads.size());
  if (threads.size() > kMaxHistoryLimit) threads.resize(kMaxHistoryLimit);
  for (auto& t : threads) {
    reply.threads.push_back(std::make_unique<wire::UnreadThreadT>(std::move(t)));
  }
  return EncodeBody(request_id, std::move(reply));
}

// A sign-in that guesses something a person chose (a password, a second factor) or that costs
// the server a password hash. Resuming with an access token or an API key presents a 256-bit
// secret checked with one HMAC or hash: nothing to guess, so scripts that sign in per command
// are not slowed by the per-address limit.
bool GuessableSignIn(const wire::Frame* f) {
  if (!KindOf(f->body_type()).sign_in) return false;
  if (f->body_type() != wire::Body::Login) return true;
  const wire::Login* login = f->body_as_Login();
  return Str(login->token()).empty() && Str(login->api_key()).empty();
}

}  // namespace

void Shard::HandleFrame(Session& s, uint32_t slot, std::span<const uint8_t> payload) {
  Result<const wire::Frame*> verified = wire::VerifyFrame(payload);
  if (s.refused) {  // over a connection limit (AdmitConnection): this answer, then closed
    Error refused = *s.refused;
    s.refused.reset();
    const uint64_t request_id = verified.ok() ? (*verified)->request_id() : 0;
    NoteError(refused, RefOf(slot), request_id, wire::Body::NONE, s.session_id);
    Enqueue(s, slot, wire::EncodeError(request_id, refused));
    return CloseAfterFlush(s);
  }
  if (!verified.ok()) {
    NoteError(verified.error(), RefOf(slot), 0, wire::Body::NONE, s.session_id);
    Enqueue(s, slot, wire::EncodeError(0, verified.error()));
    return;
  }
  const wire::Frame* f = *verified;
  counters_.requests[static_cast<size_t>(f->body_type())].Add();
  const RequestTiming timing{f->body_type(),
                             std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count()};
  RequestMeta meta{RefOf(slot), f->request_id(),
                   Caller{s.user, s.session_id, s.scopes, 0, {}, {}, s.send_read_receipts},
                   false, timing};
  if (stopping_) {
    return RespondError(meta, MakeError(ErrorCode::kUnavailable, "server is shutting down"));
  }
  if (f->body_type() == wire::Body::Hello) {
    HandleHello(s, slot, meta.request_id, f->body_as_Hello());
    return Answered(meta.timing);
  }
  if (!s.hello_done) {
    return RespondError(meta,
                        MakeError(ErrorCode::kHelloRequired, "the first frame must be Hello"));
  }
  // Counted until a frame with its request id is queued back (Enqueue): the answer, even an
  // error. Requests without an id cannot be matched and are bounded by the rate limits only.
  if (meta.request_id != 0 && ++s.inflight > config_.limits.max_inflight_requests) {
    counters_.rate_limited.Add();
    Error e = MakeError(ErrorCode::kRateLimited, "too many requests in flight; wait for answers",
                        "max_inflight_requests=" +
                            std::to_string(config_.limits.max_inflight_requests));
    e.retry_after_ms = 10;
    return RespondError(meta, e);
  }
  HandleSessionRequest(s, slot, meta, f, payload);
}

void Shard::HandleHello(Session& s, uint32_t slot, uint64_t request_id, const wire::Hello* hello) {
  if (s.hello_done) {
    Error again = MakeError(ErrorCode::kBadRequest, "Hello was already sent");
    NoteError(again, RefOf(slot), request_id, wire::Body::Hello, s.session_id);
    return Enqueue(s, slot, wire::EncodeError(request_id, again));
  }
  uint16_t lo = std::max(hello->min_version(), wire::kMinProtocolVersion);
  uint16_t hi = std::min(hello->max_version(), wire::kMaxProtocolVersion);
  if (lo > hi) {
    return FailSession(s, slot,
                       MakeError(ErrorCode::kUnsupportedVersion, "no protocol version in common",
                                 "server supports " + std::to_string(wire::kMinProtocolVersion) +
                                     ".." + std::to_string(wire::kMaxProtocolVersion) +
                                     ", client " + std::to_string(hello->min_version()) + ".." +
                                     std::to_string(hello->max_version())));
  }
  s.hello_done = true;
  wire::WelcomeT welcome;
  welcome.version = hi;
  welcome.server = config_.server_name;
  welcome.shard = static_cast<uint16_t>(id_);
  welcome.max_frame_bytes = config_.max_frame_bytes;
  Enqueue(s, slot, EncodeBody(request_id, std::move(welcome)));
}

// Every request pays into the connection's bucket, a signed-in one also into its user's, and a
// guessable sign-in also into its address's (so one address cannot spray guesses over many
// connections).
bool Shard::Admit(Session& s, uint32_t slot, const RequestMeta& meta, const wire::Frame* f) {
  const wire::Body type = f->body_type();
  const IdentityConfig& id = *config_.identity;
  TimeMs now = Now();
  uint32_t wait = s.requests.Take(id.per_connection, now);
  // A disabled limit costs no map lookup (benchmarks run with limits off).
  if (wait == 0 && s.user != 0 && id.per_user.enabled()) {
    wait = user_buckets_[s.user].Take(id.per_user, now);
  }
  if (wait == 0 && id.signin_per_address.enabled() && GuessableSignIn(f)) {
    wait = address_buckets_[s.address].Take(id.signin_per_address, now);
  }
  if (now - buckets_swept_at_ > 60'000) {  // idle buckets are full ones: forget them
    buckets_swept_at_ = now;
    std::erase_if(user_buckets_, [&](auto& kv) { return kv.second.full_at(id.per_user) < now; });
    std::erase_if(address_buckets_,
                  [&](auto& kv) { return kv.second.full_at(id.signin_per_address) < now; });
  }
  if (wait == 0) return AdmitSignIn(meta, f);
  counters_.rate_limited.Add();
  Error e = MakeError(ErrorCode::kRateLimited, "too many requests; slow down",
                      wire::EnumNameBody(type));
  e.retry_after_ms = wait;
  RespondError(meta, e);
  return false;
}

// A reconnect storm must not queue without bound: password, MFA and OpenID sign-ins wait for the
// hashing workers, so past max_queued_sign_ins of them in flight the next is told to come back;
// token resumes are cheap but still taken at most resumes_per_second. The retry hint carries
// jitter, so the refused do not all come back at the same moment, and for resumes it spans the
// time the rate needs to admit everyone refused lately: 10,000 clients refused at 2,000/s are
// told to come back over 5 s, not all within the next quarter second.
bool Shard::AdmitSignIn(const RequestMeta& meta, const wire::Frame* f) {
  const wire::Body type = f->body_type();
  if (!KindOf(type).sign_in) return true;
  const ConnectionLimits& limits = config_.limits;
  uint32_t wait = 0;
  uint32_t spread = 250;  // the jitter's range past `wait`
  if (GuessableSignIn(f) && type != wire::Body::Refresh) {
    if (limits.max_queued_sign_ins != 0 && worker_jobs_inflight_ >= limits.max_queued_sign_ins) {
      wait = 250;
    }
  } else if (type == wire::Body::Login && limits.resumes_per_second != 0) {
    wait = resumes_.Take(RateLimit{static_cast<double>(limits.resumes_per_second),
                                   static_cast<double>(limits.resumes_per_second)},
                         Now());
    if (wait != 0) spread += ResumeBacklogMs(limits.resumes_per_second);
  }
  if (wait == 0) return true;
  counters_.sign_ins_overloaded.Add();
  jitter_ = jitter_ * 6364136223846793005ULL + 1442695040888963407ULL;
  Error e = MakeError(ErrorCode::kOverloaded, "the server is admitting many sign-ins; retry later",
                      wire::EnumNameBody(type));
  e.retry_after_ms = wait + static_cast<uint32_t>((jitter_ >> 33) % (wait + spread));
  RespondError(meta, e);
  return false;
}

// Counts a refused resume and returns how long the rate needs to admit the ones refused lately
// (the count halves every second, so it follows a storm as it passes).
uint32_t Shard::ResumeBacklogMs(uint32_t per_second) {
  const int64_t now = SteadyMs();
  const int64_t seconds = (now - resumes_refused_at_ms_) / 1000;
  if (seconds > 0) {
    resumes_refused_ = seconds >= 32 ? 0 : resumes_refused_ >> seconds;
    resumes_refused_at_ms_ += seconds * 1000;
  }
  ++resumes_refused_;
  return static_cast<uint32_t>(std::min<uint64_t>(uint64_t{resumes_refused_} * 1000 / per_second,
                                                  60'000));
}

void Shard::HandleSessionRequest(Session& s, uint32_t slot, RequestMeta meta, const wire::Frame* f,
                                 std::span<const uint8_t> payload) {
  const uint32_t n = config_.shard_count;
  const RequestKind kind = KindOf(f->body_type());
  if (!kind.request) {
    return RespondError(meta, MakeError(ErrorCode::kBadRequest, "not a request",
                                        wire::EnumNameBody(f->body_type())));
  }
  if (!Admit(s, slot, meta, f)) return;
  const IdentityConfig& id = *config_.identity;
  if (kind.need == Need::kNothing) {
    if (f->body_type() == wire::Body::Ping) {
      wire::PongT pong;
      pong.nonce = f->body_as_Ping()->nonce();
      Enqueue(s, slot, EncodeBody(meta.request_id, std::move(pong)));
      return Answered(meta.timing);
    }
    meta.caller.address = s.address;
    meta.caller.actor = 0;  // sign-in requests name their account themselves
    if (s.user != 0 && f->body_type() != wire::Body::Refresh) {
      return RespondError(meta, MakeError(ErrorCode::kBadRequest, "already signed in"));
    }
    switch (f->body_type()) {
      case wire::Body::Register:
        return Route(meta, f, payload, EmailOwner(Str(f->body_as_Register()->email()), id_, n));
      case wire::Body::Login: {
        const wire::Login* login = f->body_as_Login();
        if (!Str(login->api_key()).empty()) {
          auto key = auth::ParseOpaqueToken("pk", Str(login->api_key()));
          if (!key) return RespondError(meta, BadToken("api_key"));
          return Route(meta, f, payload, OwnerShard(key->a, n));
        }
        if (Str(login->token()).empty()) {
          return Route(meta, f, payload, EmailOwner(Str(login->email()), id_, n));
        }
        auto claims =
            auth::VerifyHs256(id.signing_key, Str(login->token()), Now(), id.issuer, "access");
        if (!claims.ok()) {
          Error e = claims.error();
          e.code = ErrorCode::kInvalidCredentials;
          return RespondError(meta, e);
        }
        meta.caller.actor = claims->sub;  // the owner checks the session is still live
        meta.caller.session_id = claims->sid;
        meta.caller.token_expires_at = claims->exp * 1000;
        return Route(meta, f, payload, OwnerShard(claims->sub, n));
      }
      case wire::Body::MfaLogin: {
        auto claims = auth::VerifyHs256(id.signing_key, Str(f->body_as_MfaLogin()->mfa_token()),
                                        Now(), id.issuer, "mfa");
        if (!claims.ok()) return RespondError(meta, BadToken("mfa_token"));
        meta.caller.actor = claims->sub;
        return Route(meta, f, payload, OwnerShard(claims->sub, n));
      }
      case wire::Body::OidcLogin: {
        std::optional<std::string> email = auth::PeekEmail(Str(f->body_as_OidcLogin()->id_token()));
        return Route(meta, f, payload, EmailOwner(email.value_or(""), id_, n));
      }
      case wire::Body::Refresh: {
        auto token = auth::ParseOpaqueToken("rt", Str(f->body_as_Refresh()->refresh_token()));
        if (!token) return RespondError(meta, BadToken("refresh_token"));
        return Route(meta, f, payload, OwnerShard(token->a, n));
      }
      default:
        return RespondError(meta, MakeError(ErrorCode::kInternal, "request kind not routed",
                                            wire::EnumNameBody(f->body_type())));
    }
  }
  if (s.user == 0) {
    return RespondError(meta, MakeError(ErrorCode::kUnauthenticated, "sign in first"));
  }
  if (s.access_expires_at != 0 && Now() >= s.access_expires_at) {
    return RespondError(meta, MakeError(ErrorCode::kUnauthenticated,
                                        "the access token expired: refresh it and sign in again",
                                        "token_expired"));
  }
  if (kind.need == Need::kAccount ? s.api_key_id != 0 : (s.scopes & ScopeFor(kind.need)) == 0) {
    return RespondError(meta, MakeError(ErrorCode::kForbidden,
                                        kind.need == Need::kAccount
                                            ? "API keys cannot manage the account"
                                            : "the API key lacks the scope this request needs",
                                        wire::EnumNameBody(f->body_type())));
  }
  NoteActivity(s, f->body_type());
  switch (f->body_type()) {
    case wire::Body::CreateWorkspace:
      return Route(meta, f, payload, id_);  // minted here: no hop
    case wire::Body::SubscribePresence:
      return StartPresenceSubscription(s, slot, meta, f->body_as_SubscribePresence());
    case wire::Body::ListWorkspaces:
      return StartUserQuery(meta.from, meta.request_id, s.user, UserQueryKind::kWorkspaces,
                            meta.timing);
    case wire::Body::ListUnreadThreads:
      return StartUserQuery(meta.from, meta.request_id, s.user, UserQueryKind::kUnreadThreads,
                            meta.timing);
    case wire::Body::Boot:
      return StartBoot(s, meta, f->body_as_Boot());
    case wire::Body::Search:
      return StartSearch(s, meta, f->body_as_Search());
    case wire::Body::Unsubscribe: {
      ChannelId channel = f->body_as_Unsubscribe()->channel_id();
      if (s.subscriptions.count(channel)) {
        UnsubscribeLocal(s, slot, channel);
        AddInterest(channel, id_, -1);
      }
      Enqueue(s, slot, EncodeOk(meta.request_id));
      return Answered(meta.timing);
    }
    case wire::Body::GetProfile: {
      UserId user = f->body_as_GetProfile()->user_id();
      return Route(meta, f, payload, OwnerShard(user == 0 ? s.user : user, n));
    }
    case wire::Body::AcceptInvite: {
      auto token = auth::ParseOpaqueToken("inv", Str(f->body_as_AcceptInvite()->token()));
      if (!token) {
        return RespondError(meta, MakeError(ErrorCode::kNotFound,
                                            "invalid, expired or already used invite", "token"));
      }
      meta.caller.email = s.email;
      return Route(meta, f, payload, OwnerShard(token->a, n));
    }
    default:
      break;
  }
  if (kind.owner == Owner::kSelf) return Route(meta, f, payload, OwnerShard(s.user, n));
  uint64_t routing_id = RoutingId(f);
  if (kind.owner != Owner::kWorkspace && kind.owner != Owner::kChannel) {
    return RespondError(meta, MakeError(ErrorCode::kInternal, "request kind not routed",
                                        wire::EnumNameBody(f->body_type())));
  }
  if (f->body_type() == wire::Body::Sync || f->body_type() == wire::Body::Subscribe) {
    meta.already_subscribed = s.subscriptions.count(routing_id) != 0;
  }
  Route(meta, f, payload, OwnerShard(routing_id, n));
}

void Shard::Route(const RequestMeta& meta, const wire::Frame* f, std::span<const uint8_t> payload,
                  ShardId owner) {
  if (owner == id_) return HandleOwned(meta, f);
  ForwardedRequest req;
  req.from = meta.from;
  req.request_id = meta.request_id;
  req.caller = meta.caller;
  req.already_subscribed = meta.already_subscribed;
  req.timing = meta.timing;
  req.payload.assign(payload.begin(), payload.end());
  Send(owner, std::move(req));
}

void Shard::Respond(const RequestMeta& meta, wire::Bytes frame, ReplyEffect effect) {
  Reply reply{meta.from, meta.request_id, std::move(frame), std::move(effect), meta.timing};
  if (meta.from.shard == id_) return OnReply(std::move(reply));
  Send(meta.from.shard, std::move(reply));
}

void Shard::RespondError(const RequestMeta& meta, const Error& error) {
  NoteError(error, meta.from, meta.request_id, meta.timing.kind, meta.caller.session_id);
  Respond(meta, wire::EncodeError(meta.request_id, error));
}

void Shard::Answered(const RequestTiming& timing) {
  if (timing.kind == wire::Body::NONE) return;
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  counters_.latency_ns[static_cast<size_t>(timing.kind)].Observe(
      static_cast<uint64_t>(std::max<int64_t>(0, now - timing.started_ns)));
}

bool Shard::TakeErrorLogSlot() {
  int64_t second = Now() / 1000;
  if (second != error_log_second_) {
    error_log_second_ = second;
    error_logs_this_second_ = 0;
  }
  if (++error_logs_this_second_ > kErrorLogsPerSecond) {
    counters_.error_logs_suppressed.Add();
    return false;
  }
  return true;
}

void Shard::NoteError(const Error& error, const SessionRef& from, uint64_t request_id,
                      wire::Body kind, uint64_t session_id) {
  size_t code = static_cast<size_t>(error.code);
  counters_.errors[code < ShardCounters::kCodes ? code : size_t{0}].Add();
  if (!LoggedError(error.code) || (error.code == ErrorCode::kUnavailable && stopping_)) return;
  if (!TakeErrorLogSlot()) return;
  // The request id is the client's own (echoed in the error frame): support can match a
  // client's report to this line. Never the request's body: it may hold secrets or messages.
  LogJson(error.code == ErrorCode::kInternal ? "error" : "warn", "request failed",
          {{"shard", std::to_string(id_)},
           {"conn", std::to_string(from.shard) + "." + std::to_string(from.slot) + "." +
                        std::to_string(from.gen)},
           {"session_id", std::to_string(session_id)},
           {"request_id", std::to_string(request_id)},
           {"kind", kind == wire::Body::NONE ? "" : wire::EnumNameBody(kind)},
           {"code", std::string(ErrorCodeName(error.code))},
           {"error", error.message}});
}

void Shard::OnReply(Reply reply) {
  Session* s = Find(reply.to);
  uint32_t slot = reply.to.slot;
  if (auto* sub = std::get_if<SubscribeEffect>(&reply.effect)) {
    for (ChannelId channel : sub->channel_ids) {
      if (!s || !SubscribeLocal(*s, slot, channel)) {
        AddInterest(channel, id_, -1);  // gone, subscribed or at the limit: undo the owner's count
      }
    }
  }
  if (auto* login = std::get_if<LoginEffect>(&reply.effect)) {
    if (!s) return;
    if (s->user != 0) {
      Error twice = MakeError(ErrorCode::kBadRequest, "already signed in");
      NoteError(twice, reply.to, reply.request_id, reply.timing.kind, s->session_id);
      Enqueue(*s, slot, wire::EncodeError(reply.request_id, twice));
      return Answered(reply.timing);
    }
    s->user = login->user_id;
    s->display_name = login->display_name;
    s->email = login->email;
    s->session_id = login->session_id;
    s->api_key_id = login->api_key_id;
    s->scopes = login->scopes;
    s->access_expires_at = login->access_expires_at;
    s->login_pending = true;
    s->send_read_receipts = login->send_read_receipts;
    user_sessions_[s->user].push_back(slot);
    NoteSignedIn(*s, slot);
    return StartUserQuery(reply.to, reply.request_id, s->user, UserQueryKind::kSubscribeChannels,
                          reply.timing, std::move(*login));
  }
  if (auto* refreshed = std::get_if<RefreshEffect>(&reply.effect)) {
    if (s && s->user != 0 && s->session_id == refreshed->session_id) {
      s->access_expires_at = refreshed->access_expires_at;
    }
  }
  if (auto* audit = std::get_if<AuditEffect>(&reply.effect)) {
    if (!s) return;
    return StartUserQuery(reply.to, reply.request_id, s->user, UserQueryKind::kAudit,
                          reply.timing, {}, std::move(*audit));
  }
  if (s && !reply.frame.empty()) {
    Enqueue(*s, slot, std::move(reply.frame));
    Answered(reply.timing);
  }
}

void Shard::StartUserQuery(const SessionRef& ref, uint64_t request_id, UserId user,
                           UserQueryKind kind, RequestTiming timing, LoginEffect login,
                           AuditEffect audit) {
  uint64_t qid = next_query_id_++;
  PendingQuery& q = queries_[qid];
  q.session = ref;
  q.request_id = request_id;
  q.kind = kind;
  q.timing = timing;
  q.parts_left = config_.shard_count;
  q.merged.query_id = qid;
  q.login = std::move(login);
  q.audit_limit = audit.limit;
  for (ShardId to = 0; to < config_.shard_count; ++to) {
    UserQuery query{qid, id_, user, kind, audit, {}, nullptr};
    if (to == id_) {
      OnUserQuery(query);
    } else {
      Send(to, query);
    }
  }
}

// Computed on arrival, sent once what it observed is durable (see Shard::Answer).
void Shard::OnUserQuery(const UserQuery& query) {
  UserQueryPart part;
  part.query_id = query.query_id;
  if (query.kind == UserQueryKind::kAudit) {
    const AuditEffect& want = query.audit;
    const auto& entries = state_.audit();
    for (auto it = entries.rbegin(); it != entries.rend() && part.audit.size() < want.limit; ++it) {
      bool account_event = it->workspace_id == 0 && want.members->count(it->user_id) != 0;
      if (it->workspace_id == want.workspace_id || account_event) {
        part.audit.push_back(AuditEntryOf(*it));
      }
    }
  } else if (query.kind == UserQueryKind::kUnreadThreads) {
    for (const UnreadThread& t : UnreadThreadsOf(state_, query.user_id)) {
      wire::UnreadThreadT out;
      out.channel_id = t.channel_id;
      out.thread_seq = t.thread_seq;
      out.unread_replies = static_cast<uint32_t>(std::min<uint64_t>(t.unread_replies, UINT32_MAX));
      out.last_reply_at_ms = t.last_reply_at;
      part.unread_threads.push_back(std::move(out));
    }
  } else if (query.kind == UserQueryKind::kBoot) {
    AnswerBootPart(query, part);
  } else if (query.kind == UserQueryKind::kSearch) {
    AnswerSearchPart(query, part);
  } else if (query.kind == UserQueryKind::kSubscribeChannels) {
    // ChannelsOf leaves out workspaces that deactivated the user.
    for (ChannelId id : state_.ChannelsOf(query.user_id)) {
      const ChannelState* channel = state_.FindChannel(id);
      OnInterest(Interest{id, query.from, +1});
      part.channels.push_back({id, channel->workspace_id, channel->last_seq()});
    }
    // The user's topic (their feed, and events for them alone) lives on their owner.
    if (OwnerShard(query.user_id, config_.shard_count) == id_) {
      OnInterest(Interest{query.user_id, query.from, +1});
      part.workspace_topics.push_back(query.user_id);
    }
    // Guests see only their own channels: they follow no workspace topic.
    for (WorkspaceId id : state_.WorkspacesOf(query.user_id)) {
      if (state_.FindWorkspace(id)->RoleOf(query.user_id) == WorkspaceRole::kGuest) continue;
      OnInterest(Interest{id, query.from, +1});
      part.workspace_topics.push_back(id);
    }
  } else {
    for (WorkspaceId id : state_.WorkspacesOf(query.user_id)) {
      part.workspaces.push_back(WorkspaceInfoOf(*state_.FindWorkspace(id), query.user_id));
    }
  }
  AfterDurable([this, from = query.from, part = std::move(part)]() mutable {
    if (from == id_) return OnUserQueryPart(std::move(part));
    Send(from, std::move(part));
  });
}

void Shard::OnUserQueryPart(UserQueryPart part) {
  auto it = queries_.find(part.query_id);
  if (it == queries_.end()) return;
  PendingQuery& q = it->second;
  Session* s = Find(q.session);
  // Take each owner's subscriptions as its part arrives: its later deliveries and membership
  // changes travel the same mailbox behind the part, so none is missed or misapplied.
  for (const ChannelCursor& c : part.channels) {
    if (!s || !SubscribeLocal(*s, q.session.slot, c.channel_id)) {
      AddInterest(c.channel_id, id_, -1);  // gone, following or at the limit: give it back
    }
    q.merged.channels.push_back(c);
  }
  for (WorkspaceId topic : part.workspace_topics) {
    if (!s || !SubscribeLocal(*s, q.session.slot, topic)) AddInterest(topic, id_, -1);
  }
  for (auto& w : part.workspaces) q.merged.workspaces.push_back(std::move(w));
  for (auto& a : part.audit) q.merged.audit.push_back(std::move(a));
  for (auto& t : part.unread_threads) q.merged.unread_threads.push_back(std::move(t));
  if (q.kind == UserQueryKind::kBoot) MergeBootPart(q, std::move(part.boot));
  if (q.kind == UserQueryKind::kSearch) MergeSearchPart(q, std::move(part.search));
  if (--q.parts_left > 0) return;
  PendingQuery done = std::move(q);
  queries_.erase(it);
  if (!s) return;
  uint32_t slot = done.session.slot;
  // Boot and search time themselves: their answers leave later.
  if (done.kind == UserQueryKind::kBoot) return FinishBoot(*s, done);
  if (done.kind == UserQueryKind::kSearch) return FinishSearch(*s, done);
  Answered(done.timing);
  if (done.kind == UserQueryKind::kWorkspaces) return Enqueue(*s, slot, EncodeWorkspaceList(done));
  if (done.kind == UserQueryKind::kAudit) return Enqueue(*s, slot, EncodeAuditList(done));
  if (done.kind == UserQueryKind::kUnreadThreads) {
    return Enqueue(*s, slot, EncodeUnreadThreads(done.request_id, done.merged.unread_threads));
  }
  Enqueue(*s, slot, EncodeLoginOk(*s, done));
  s->login_pending = false;
  for (auto& frame : s->held) Enqueue(*s, slot, std::move(frame));
  s->held.clear();
  s->held_bytes = 0;
}
wire::Bytes Shard::EncodeWorkspaceList(PendingQuery& done) {
  auto& list = done.merged.workspaces;
  std::sort(list.begin(), list.end(), [](auto& a, auto& b) { return a.id < b.id; });
  wire::WorkspaceListT reply;
  for (auto& w : list) reply.workspaces.push_back(std::make_unique<wire::WorkspaceInfoT>(w));
  return EncodeBody(done.request_id, std::move(reply));
}

wire::Bytes Shard::EncodeAuditList(PendingQuery& done) {
  auto& entries = done.merged.audit;
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.at_ms > b.at_ms; });
  if (entries.size() > done.audit_limit) entries.resize(done.audit_limit);
  wire::AuditListT reply;
  for (auto& e : entries) reply.entries.push_back(std::make_unique<wire::AuditEntryT>(std::move(e)));
  return EncodeBody(done.request_id, std::move(reply));
}

wire::Bytes Shard::EncodeLoginOk(const Session& s, PendingQuery& done) {
  auto& cursors = done.merged.channels;
  std::sort(cursors.begin(), cursors.end(),
            [](auto& a, auto& b) { return a.channel_id < b.channel_id; });
  wire::LoginOkT ok;
  ok.user_id = s.user;
  ok.display_name = s.display_name;
  ok.email = s.email;
  ok.token = std::move(done.login.access_token);
  ok.refresh_token = std::move(done.login.refresh_token);
  ok.session_id = s.session_id;
  ok.access_expires_at_ms = s.access_expires_at;
  ok.scopes = s.scopes;
  for (const ChannelCursor& c : cursors) {
    auto cursor = std::make_unique<wire::ChannelCursorT>();
    cursor->channel_id = c.channel_id;
    cursor->workspace_id = c.workspace_id;
    cursor->last_seq = c.last_seq;
    ok.channels.push_back(std::move(cursor));
  }
  return EncodeBody(done.request_id, std::move(ok));
}

bool Shard::SubscribeLocal(Session& s, uint32_t slot, ChannelId channel) {
  if (s.subscriptions.count(channel)) return false;
  if (s.subscriptions.size() >= config_.limits.max_subscriptions) {
    counters_.subscriptions_refused.Add();
    if (!s.told_subscription_limit) {  // once per connection: the client can Sync the rest
      s.told_subscription_limit = true;
      Enqueue(s, slot,
              wire::EncodeError(0, MakeError(ErrorCode::kLimitExceeded,
                                             "subscription limit reached; events of further "
                                             "channels are not pushed: Sync them",
                                             "max_subscriptions=" + std::to_string(
                                                 config_.limits.max_subscriptions))));
    }
    return false;
  }
  s.subscriptions.insert(channel);
  local_subs_[channel].push_back(slot);
  return true;
}

void Shard::UnsubscribeLocal(Session& s, uint32_t slot, ChannelId channel) {
  s.subscriptions.erase(channel);
  auto it = local_subs_.find(channel);
  if (it == local_subs_.end()) return;
  auto& subs = it->second;
  subs.erase(std::remove(subs.begin(), subs.end(), slot), subs.end());
  if (subs.empty()) local_subs_.erase(it);
}

void Shard::AddInterest(ChannelId channel, ShardId shard, int32_t delta) {
  if (delta == 0) return;
  ShardId owner = OwnerShard(channel, config_.shard_count);
  if (owner == id_) return OnInterest(Interest{channel, shard, delta});
  Send(owner, Interest{channel, shard, delta});
}

void Shard::OnInterest(const Interest& interest) {
  auto& counts = interest_[interest.channel_id];
  if (counts.empty()) counts.assign(config_.shard_count, 0);
  int64_t next = int64_t{counts[interest.shard]} + interest.delta;
  if (next < 0) {  // an accounting bug, never input: say so rather than hide it
    LogJson("error", "subscription count below zero",
            {{"channel", std::to_string(interest.channel_id)},
             {"shard", std::to_string(interest.shard)}});
    next = 0;
  }
  counts[interest.shard] = static_cast<uint32_t>(next);
  if (std::all_of(counts.begin(), counts.end(), [](uint32_t c) { return c == 0; })) {
    interest_.erase(interest.channel_id);
  }
}

void Shard::OnDeliver(const Deliver& deliver) {
  auto it = local_subs_.find(deliver.channel_id);
  if (it == local_subs_.end()) return;
  DeliverLocal(it->second, deliver.frame, deliver.coalesce);
  if (deliver.receipt_seq != 0) {
    ReportDelivered(deliver.channel_id, it->second, deliver.receipt_seq);
  }
}

// Sessions still signing in hold the frame until their LoginOk. Neither path closes a session
// (a lagging one closes after its flush), so `slots` stays stable meanwhile.
void Shard::DeliverLocal(const std::vector<uint32_t>& slots, const wire::SharedBytes& frame,
                         CoalesceKey key) {
  for (uint32_t slot : slots) {
    Session& s = sessions_[slot];
    if (s.login_pending) {
      Hold(s, slot, frame);
    } else {
      Enqueue(s, slot, frame, key);
    }
  }
  counters_.deliveries.Add(slots.size());
}

void Shard::Hold(Session& s, uint32_t slot, const wire::SharedBytes& frame) {
  if (s.held_bytes + frame->size() > config_.max_outbound_bytes) {
    counters_.sessions_lagged.Add();
    s.held.clear();
    s.held_bytes = 0;
    s.login_pending = false;
    return FailSession(s, slot, MakeError(ErrorCode::kLagged, "too many events during login"));
  }
  s.held_bytes += frame->size();
  s.held.push_back(frame);
}

void Shard::OnMembershipChanged(const MembershipChanged& change) {
  auto it = user_sessions_.find(change.user_id);
  if (it == user_sessions_.end()) return;
  int32_t delta = 0;
  for (uint32_t slot : it->second) {
    Session& s = sessions_[slot];
    bool subscribed = s.subscriptions.count(change.channel_id) != 0;
    if (change.joined && !subscribed) {
      if (SubscribeLocal(s, slot, change.channel_id)) ++delta;
    } else if (!change.joined && subscribed) {
      UnsubscribeLocal(s, slot, change.channel_id);
      --delta;
    }
  }
  AddInterest(change.channel_id, id_, delta);
}

}  // namespace parley::shard
