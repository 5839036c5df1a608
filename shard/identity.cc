// Signing in, on the shard that owns the account (by email before sign-in, by user id after):
// passwords (verified on the worker pool), second factors, OpenID Connect, access tokens, API
// keys, refresh-token rotation, and ending sessions everywhere.
#include "auth/encoding.h"
#include "auth/jwt.h"
#include "auth/opaque_token.h"
#include "auth/totp.h"
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

Error InvalidCredentials(std::string message = "invalid email or password") {
  return MakeError(ErrorCode::kInvalidCredentials, std::move(message));
}

// "rt_<user>_<session>_<secret>": the refresh token; only the secret's hash is stored.
std::string RefreshToken(UserId user, uint64_t session, std::string_view secret) {
  return "rt_" + std::to_string(user) + "_" + std::to_string(session) + "_" + std::string(secret);
}

std::string NewSecret() { return auth::Base64UrlEncode(auth::RandomBytes(32)); }

constexpr size_t kMaxUnknownEmails = 100'000;

}  // namespace

bool Shard::HandleIdentity(const RequestMeta& meta, const wire::Frame* f) {
  switch (f->body_type()) {
    case wire::Body::Login:
      OwnedLogin(meta, f->body_as_Login());
      return true;
    case wire::Body::MfaLogin:
      OwnedMfaLogin(meta, f->body_as_MfaLogin());
      return true;
    case wire::Body::OidcLogin:
      OwnedOidcLogin(meta, f->body_as_OidcLogin());
      return true;
    case wire::Body::Refresh:
      OwnedRefresh(meta, f->body_as_Refresh());
      return true;
    case wire::Body::Logout:
      OwnedLogout(meta);
      return true;
    case wire::Body::ListSessions:
      OwnedListSessions(meta);
      return true;
    case wire::Body::RevokeSession:
      OwnedRevokeSession(meta, f->body_as_RevokeSession());
      return true;
    case wire::Body::ChangePassword:
      OwnedChangePassword(meta, f->body_as_ChangePassword());
      return true;
    case wire::Body::UpdateProfile:
    case wire::Body::GetProfile:
      OwnedProfile(meta, f);
      return true;
    case wire::Body::MfaEnroll:
    case wire::Body::MfaConfirm:
    case wire::Body::MfaDisable:
      OwnedMfa(meta, f);
      return true;
    case wire::Body::CreateApiKey:
    case wire::Body::ListApiKeys:
    case wire::Body::RevokeApiKey:
      OwnedApiKeys(meta, f);
      return true;
    default:
      return false;
  }
}

void Shard::OwnedLogin(const RequestMeta& meta, const wire::Login* req) {
  if (!Str(req->api_key()).empty()) return OwnedApiKeyLogin(meta, req);
  if (meta.caller.session_id != 0) return OwnedTokenLogin(meta);
  OwnedPasswordLogin(meta, req);
}

// Unknown emails are hashed against a dummy and lock like real accounts, so neither timing nor
// a lockout tells whether an email has an account.
void Shard::OwnedPasswordLogin(const RequestMeta& meta, const wire::Login* req) {
  const IdentityConfig& config = *config_.identity;
  Result<std::string> email = NormaliseEmail(Str(req->email()));
  if (!email.ok()) return AnswerError(meta, InvalidCredentials());
  const UserState* user = state_.FindUserByEmail(*email);
  TimeMs now = Now();
  if (user != nullptr) {
    if (Status s = CheckNotLocked(*user, now); !s.ok()) return AnswerError(meta, s.error());
  } else if (auto it = unknown_email_failures_.find(*email); it != unknown_email_failures_.end()) {
    UserState ghost;
    ghost.locked_until = it->second.locked_until;
    if (Status s = CheckNotLocked(ghost, now); !s.ok()) return AnswerError(meta, s.error());
  }
  bool has_password = user != nullptr && !user->password_hash.empty();
  std::string stored = has_password ? user->password_hash : auth::DummyHash(config.scrypt);
  std::string salt = has_password ? user->password_salt : std::string();
  UserId user_id = has_password ? user->id : 0;
  OffLoop<auth::PasswordCheck>(
      [password = Str(req->password()), stored, salt, params = config.scrypt] {
        return auth::VerifyPassword(password, stored, salt, params);
      },
      [this, meta, user_id, email = *email, password = Str(req->password()),
       device = Str(req->device())](auth::PasswordCheck check) {
        const UserState* user = user_id ? state_.FindUser(user_id) : nullptr;
        if (check == auth::PasswordCheck::kMismatch || user == nullptr) {
          if (user_id == 0) NoteUnknownEmailFailure(email);
          return SignInFailed(meta, user_id, false);
        }
        if (check == auth::PasswordCheck::kMatchNeedsRehash) {
          OffLoop<std::string>(
              [password, params = config_.identity->scrypt] {
                return auth::HashPassword(password, params);
              },
              [this, user_id](std::string hash) {
                Execute(ChangePassword{user_id, {}, std::move(hash), true});
              });
        }
        if (!user->mfa.enabled) {
          return StartSessionFor(meta, user_id, SignInMethod::kPassword, device);
        }
        wire::MfaRequiredT challenge;
        challenge.mfa_token = SignChallengeToken(user_id);
        Answer(meta, EncodeBody(meta.request_id, std::move(challenge)));
      });
}

void Shard::NoteUnknownEmailFailure(const std::string& email) {
  if (unknown_email_failures_.size() >= kMaxUnknownEmails) unknown_email_failures_.clear();
  UnknownFailures& f = unknown_email_failures_[email];
  TimeMs now = Now();
  std::erase_if(f.failures, [&](TimeMs t) { return t <= now - kLockoutWindowMs; });
  f.failures.push_back(now);
  if (f.failures.size() >= kLockoutFailures) {
    f.locked_until = now + kLockoutMs;
    f.failures.clear();
  }
}

void Shard::SignInFailed(const RequestMeta& meta, UserId user, bool second_factor) {
  counters_.sign_in_failures.Add();
  if (user != 0) Execute(RecordSignInFailure{user, meta.caller.address, second_factor});
  AnswerError(meta, InvalidCredentials(second_factor ? "the code is wrong or was already used"
                                                     : "invalid email or password"));
}

void Shard::OwnedTokenLogin(const RequestMeta& meta) {
  const UserState* user = state_.FindUser(meta.actor());
  TimeMs now = Now();
  if (user == nullptr || FindLiveSession(*user, meta.caller.session_id, now) == nullptr) {
    return AnswerError(meta, MakeError(ErrorCode::kInvalidCredentials,
                                       "the session has ended: sign in again", "session_ended"));
  }
  session_seen_[meta.caller.session_id] = {now, meta.caller.address};
  LoginEffect effect{user->id, user->display_name, user->email, meta.caller.session_id, 0,
                     kAllScopes, meta.caller.token_expires_at, {}, {}};
  effect.send_read_receipts = user->send_read_receipts;
  Answer(meta, {}, std::move(effect));
}

void Shard::OwnedApiKeyLogin(const RequestMeta& meta, const wire::Login* req) {
  auto key = auth::ParseOpaqueToken("pk", Str(req->api_key()));
  const UserState* user = key ? state_.FindUser(key->a) : nullptr;
  if (user == nullptr) {
    return AnswerError(meta, MakeError(ErrorCode::kInvalidCredentials,
                                       "invalid, revoked or expired API key", "api_key"));
  }
  Result<uint32_t> scopes = CheckApiKey(*user, key->b, auth::HashSecret(key->secret), Now());
  if (!scopes.ok()) return AnswerError(meta, scopes.error());
  TimeMs expires_at = user->api_keys.at(key->b).expires_at;
  LoginEffect effect{user->id, user->display_name, user->email, 0, key->b, *scopes, expires_at,
                     {}, {}};
  effect.send_read_receipts = user->send_read_receipts;
  Answer(meta, {}, std::move(effect));
}

void Shard::OwnedMfaLogin(const RequestMeta& meta, const wire::MfaLogin* req) {
  const UserState* user = state_.FindUser(meta.actor());
  if (user == nullptr || !user->mfa.enabled) return AnswerError(meta, InvalidCredentials());
  if (Status s = CheckNotLocked(*user, Now()); !s.ok()) return AnswerError(meta, s.error());
  auto outcome = Execute(SecondFactorOf(*user, Str(req->code())));
  if (!outcome.ok()) return SignInFailed(meta, user->id, true);
  StartSessionFor(meta, user->id, SignInMethod::kPasswordAndMfa, Str(req->device()));
}

// A code is a TOTP code if it matches one; otherwise it is tried as a recovery code.
UseSecondFactor Shard::SecondFactorOf(const UserState& user, std::string_view code) const {
  UseSecondFactor use{user.id, 0, {}};
  std::optional<uint64_t> step = auth::MatchTotp(user.mfa.secret, code, Now());
  if (step) {
    use.totp_step = *step;
  } else {
    use.recovery_hash = auth::Sha256(auth::NormaliseRecoveryCode(code));
  }
  return use;
}

void Shard::OwnedOidcLogin(const RequestMeta& meta, const wire::OidcLogin* req) {
  const IdentityConfig& config = *config_.identity;
  if (!config.oidc_jwks) {
    return AnswerError(meta, MakeError(ErrorCode::kUnavailable,
                                       "OpenID Connect sign-in is not configured", "oidc"));
  }
  OffLoop<Result<auth::OidcIdentity>>(
      [jwks = config.oidc_jwks, oidc = config.oidc, token = Str(req->id_token()),
       nonce = Str(req->nonce()), now = Now()] {
        return auth::VerifyIdToken(*jwks, oidc, token, nonce, now);
      },
      [this, meta, device = Str(req->device())](Result<auth::OidcIdentity> identity) {
        if (!identity.ok()) {
          Error e = identity.error();
          e.code = ErrorCode::kInvalidCredentials;
          return AnswerError(meta, e);
        }
        Result<std::string> email = NormaliseEmail(identity->email);
        if (!email.ok()) return AnswerError(meta, email.error());
        if (ShardOfEmail(*email, config_.shard_count) != id_) {  // routed by another email
          return AnswerError(meta, InvalidCredentials("the ID token's email does not match"));
        }
        const UserState* user = state_.FindUserByEmail(*email);
        if (user == nullptr) {
          std::string name = identity->name.empty() ? email->substr(0, email->find('@'))
                                                    : identity->name;
          auto created = Execute(RegisterUser{*email, name, {}, {}, {}, true});
          if (!created.ok()) {
            created = Execute(RegisterUser{*email, email->substr(0, email->find('@')), {}, {}, {},
                                           true});
          }
          if (!created.ok()) return AnswerError(meta, created.error());
          user = state_.FindUser(std::get<UserRegistered>(**created).user_id);
        }
        auto linked = Execute(LinkOidc{user->id, identity->issuer, identity->subject});
        if (!linked.ok()) return AnswerError(meta, linked.error());
        StartSessionFor(meta, user->id, SignInMethod::kOidc, device);
      });
}

void Shard::StartSessionFor(const RequestMeta& meta, UserId user_id, SignInMethod method,
                            std::string device) {
  const IdentityConfig& config = *config_.identity;
  const UserState* user = state_.FindUser(user_id);
  TimeMs now = Now();
  if (auto evict = SessionToEvict(*user, config.max_sessions_per_user, now)) {
    EndSession(user_id, *evict, RevokeReason::kSessionLimit, 0);
  }
  std::string secret = NewSecret();
  auto outcome =
      Execute(StartSession{user_id, auth::HashSecret(secret), std::move(device),
                           meta.caller.address, static_cast<uint8_t>(method), config.refresh_ttl_ms});
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  uint64_t session = std::get<SessionStarted>(**outcome).session_id;
  session_seen_[session] = {now, meta.caller.address};
  LoginEffect effect{user->id, user->display_name, user->email, session, 0, kAllScopes, 0, {}, {}};
  effect.access_token = SignAccessToken(user_id, session, &effect.access_expires_at);
  effect.refresh_token = RefreshToken(user_id, session, secret);
  effect.send_read_receipts = user->send_read_receipts;
  Answer(meta, {}, std::move(effect));
}

void Shard::OwnedRefresh(const RequestMeta& meta, const wire::Refresh* req) {
  auto token = auth::ParseOpaqueToken("rt", Str(req->refresh_token()));
  if (!token) return AnswerError(meta, InvalidCredentials("invalid or expired refresh token"));
  std::string secret = NewSecret();
  auto outcome =
      Execute(RefreshSession{token->a, token->b, auth::HashSecret(token->secret),
                             auth::HashSecret(secret), config_.identity->refresh_ttl_ms});
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  if (std::holds_alternative<SessionRevoked>(**outcome)) {
    AfterDurable([this, user = token->a, session = token->b] {
      BroadcastSessionsEnded(SessionsEnded{user, session, 0, "refresh_token_reuse"});
    });
    return AnswerError(meta, MakeError(ErrorCode::kUnauthenticated,
                                       "this refresh token was already used: the session has "
                                       "ended, sign in again",
                                       "refresh_token_reuse"));
  }
  session_seen_[token->b] = {Now(), meta.caller.address};
  wire::TokensT tokens;
  tokens.session_id = token->b;
  tokens.token = SignAccessToken(token->a, token->b, &tokens.access_expires_at_ms);
  tokens.refresh_token = RefreshToken(token->a, token->b, secret);
  RefreshEffect effect{token->b, tokens.access_expires_at_ms};
  Answer(meta, EncodeBody(meta.request_id, std::move(tokens)), effect);
}

std::string Shard::SignAccessToken(UserId user, uint64_t session, TimeMs* expires_at) const {
  const IdentityConfig& config = *config_.identity;
  TimeMs now = Now();
  auth::TokenClaims claims;
  claims.iss = config.issuer;
  claims.sub = user;
  claims.sid = session;
  claims.iat = now / 1000;
  claims.exp = (now + config.access_ttl_ms) / 1000;
  claims.jti = auth::Hex(auth::RandomBytes(12));
  claims.use = "access";
  *expires_at = claims.exp * 1000;
  return auth::SignHs256(config.signing_key, claims);
}

// Proves the password was right, for 5 minutes, to the MfaLogin that follows.
std::string Shard::SignChallengeToken(UserId user) const {
  TimeMs now = Now();
  auth::TokenClaims claims;
  claims.iss = config_.identity->issuer;
  claims.sub = user;
  claims.sid = 1;  // no session yet
  claims.iat = now / 1000;
  claims.exp = (now + 5 * kMinuteMs) / 1000;
  claims.jti = auth::Hex(auth::RandomBytes(12));
  claims.use = "mfa";
  return auth::SignHs256(config_.identity->signing_key, claims);
}

// Logged now; its connections close everywhere once the revocation is durable, after any
// answer already queued (mailboxes keep order).
void Shard::EndSession(UserId user, uint64_t session, RevokeReason reason, UserId by) {
  auto outcome = Execute(RevokeSession{user, session, static_cast<uint8_t>(reason), by});
  if (!outcome.ok() || !*outcome) return;
  session_seen_.erase(session);
  std::string why = reason == RevokeReason::kLogout ? "logout" : "session_revoked";
  AfterDurable([this, user, session, why] {
    BroadcastSessionsEnded(SessionsEnded{user, session, 0, why});
  });
}

void Shard::BroadcastSessionsEnded(const SessionsEnded& ended) {
  for (ShardId to = 0; to < config_.shard_count; ++to) {
    if (to == id_) {
      OnSessionsEnded(ended);
    } else {
      Send(to, ended);
    }
  }
}

void Shard::OnSessionsEnded(const SessionsEnded& ended) {
  auto it = user_sessions_.find(ended.user_id);
  if (it == user_sessions_.end()) return;
  std::vector<uint32_t> slots = it->second;  // closing edits the list
  bool all = ended.session_id == 0 && ended.api_key_id == 0;
  for (uint32_t slot : slots) {
    Session& s = sessions_[slot];
    bool match = all || (ended.session_id != 0 && s.session_id == ended.session_id) ||
                 (ended.api_key_id != 0 && s.api_key_id == ended.api_key_id);
    if (!match) continue;
    FailSession(s, slot,
                MakeError(ErrorCode::kUnauthenticated, "the session has ended", ended.reason));
  }
}

void Shard::OnEndUserSessions(const EndUserSessions& request) {
  const UserState* user = state_.FindUser(request.user_id);
  if (user == nullptr) return;
  std::vector<uint64_t> sessions;
  for (const auto& [id, session] : user->sessions) sessions.push_back(id);
  for (uint64_t id : sessions) {
    Execute(RevokeSession{request.user_id, id, static_cast<uint8_t>(RevokeReason::kDeactivated),
                          request.by});
    session_seen_.erase(id);
  }
  // Every connection, API keys included: the deactivated user is out at once.
  AfterDurable([this, user = request.user_id] {
    BroadcastSessionsEnded(SessionsEnded{user, 0, 0, "deactivated"});
  });
}

}  // namespace parley::shard
