// Identity decisions, on the user's shard: profile, password, sessions and refresh-token rotation,
// lockout, second factors, API keys and OpenID links. The caller has done the cryptography; these
// rules decide what its outcome means.
#include <algorithm>

#include "core/decide_rules.h"

namespace parley {

namespace {

using rules::Decision;

Result<const UserState*> FindAccount(const ShardState& state, UserId user) {
  if (Status s = rules::RequireActor(user); !s) return s.error();
  const UserState* found = state.FindUser(user);
  if (found == nullptr) return MakeError(ErrorCode::kNotFound, "no such account", "user_id");
  return found;
}

// Optional profile text: nullopt keeps the old value; set values are trimmed and checked.
Result<std::string> ProfileField(const std::optional<std::string>& value, const std::string& old,
                                 size_t max, std::string_view what, std::string field,
                                 bool may_be_empty) {
  if (!value) return old;
  std::string_view text = rules::TrimAscii(*value);
  if (text.empty() && may_be_empty) return std::string();
  return rules::ValidateName(text, max, what, std::move(field));
}

Error WrongCode() {
  return MakeError(ErrorCode::kInvalidCredentials, "the code is wrong or was already used", "code");
}

bool IsLiveKey(const ApiKeyState& key, TimeMs now) {
  return !key.revoked && (key.expires_at == 0 || key.expires_at > now);
}

}  // namespace

namespace rules {

Decision DecideOn(const ShardState& state, const UpdateProfile& c, Context& ctx) {
  Result<const UserState*> user = FindAccount(state, c.actor);
  if (!user) return user.error();
  const UserState& u = **user;
  auto name = ProfileField(c.display_name, u.display_name, kMaxDisplayNameBytes, "display name",
                           "display_name", false);
  if (!name) return name.error();
  auto title = ProfileField(c.title, u.title, kMaxTitleBytes, "title", "title", true);
  if (!title) return title.error();
  std::string avatar = c.avatar_url ? std::string(TrimAscii(*c.avatar_url)) : u.avatar_url;
  if (avatar.size() > kMaxAvatarUrlBytes) {
    return Invalid(TooLong("avatar URL", kMaxAvatarUrlBytes), "avatar_url");
  }
  if (!avatar.empty() && avatar.rfind("https://", 0) != 0) {
    return Invalid("avatar URL must start with https://", "avatar_url");
  }
  if (!IsValidUtf8(avatar) || HasControlCharacters(avatar)) {
    return Invalid("avatar URL contains control characters or invalid UTF-8", "avatar_url");
  }
  return Emit(ProfileUpdated{u.id, std::move(*name), std::move(*title), std::move(avatar), ctx.now});
}

Decision DecideOn(const ShardState& state, const ChangePassword& c, Context& ctx) {
  Result<const UserState*> user = FindAccount(state, c.actor);
  if (!user) return user.error();
  if (!c.rehash) {
    if (Status s = CheckPasswordPolicy(c.new_password, (*user)->email); !s) return s.error();
  }
  if (c.new_hash.empty()) return Invalid("password hash is empty", "password_hash");
  return Emit(PasswordChanged{c.actor, c.new_hash, c.rehash, ctx.now});
}

Decision DecideOn(const ShardState& state, const StartSession& c, Context& ctx) {
  Result<const UserState*> user = FindAccount(state, c.user_id);
  if (!user) return user.error();
  if (Status s = CheckNotLocked(**user, ctx.now); !s) return s.error();
  if (c.refresh_hash.empty()) return Invalid("refresh token hash is empty", "refresh_hash");
  if (c.lifetime_ms <= 0) return Invalid("session lifetime must be positive", "lifetime_ms");
  if (c.device.size() > kMaxDeviceBytes) return Invalid(TooLong("device", kMaxDeviceBytes), "device");
  if (!IsValidUtf8(c.device) || HasControlCharacters(c.device)) {
    return Invalid("device name contains control characters or invalid UTF-8", "device");
  }
  return Emit(SessionStarted{c.user_id, NextId(ctx), c.refresh_hash, c.device, c.address,
                             c.method, ctx.now, ctx.now + c.lifetime_ms});
}

// Rotation: the current token is replaced; a rotated one presented again means two parties hold
// the session's tokens, so the session ends for both.
Decision DecideOn(const ShardState& state, const RefreshSession& c, Context& ctx) {
  const Error invalid =
      MakeError(ErrorCode::kUnauthenticated, "invalid or expired refresh token", "refresh_token");
  const UserState* user = state.FindUser(c.user_id);
  if (user == nullptr) return invalid;
  const SessionState* session = FindLiveSession(*user, c.session_id, ctx.now);
  if (session == nullptr) return invalid;
  if (ConstantTimeEquals(session->refresh_hash, c.presented_hash)) {
    if (c.new_hash.empty() || c.lifetime_ms <= 0) return Invalid("bad rotation", "refresh_hash");
    return Emit(SessionRefreshed{c.user_id, c.session_id, c.new_hash, ctx.now,
                                 ctx.now + c.lifetime_ms});
  }
  bool reused = std::any_of(session->rotated_hashes.begin(), session->rotated_hashes.end(),
                            [&](const std::string& h) { return ConstantTimeEquals(h, c.presented_hash); });
  if (!reused) return invalid;
  return Emit(SessionRevoked{c.user_id, c.session_id,
                             static_cast<uint8_t>(RevokeReason::kRefreshReuse), 0, ctx.now});
}

Decision DecideOn(const ShardState& state, const RevokeSession& c, Context& ctx) {
  const UserState* user = state.FindUser(c.user_id);
  if (user == nullptr || user->sessions.count(c.session_id) == 0) {
    return MakeError(ErrorCode::kNotFound, "no such session", "session_id");
  }
  return Emit(SessionRevoked{c.user_id, c.session_id, c.reason, c.by, ctx.now});
}

Decision DecideOn(const ShardState& state, const RecordSignInFailure& c, Context& ctx) {
  Result<const UserState*> user = FindAccount(state, c.user_id);
  if (!user) return user.error();
  size_t recent = std::count_if((*user)->recent_failures.begin(), (*user)->recent_failures.end(),
                                [&](TimeMs t) { return t > ctx.now - kLockoutWindowMs; });
  TimeMs locked_until = recent + 1 >= kLockoutFailures ? ctx.now + kLockoutMs : 0;
  return Emit(SignInFailed{c.user_id, c.address, c.second_factor, ctx.now, locked_until});
}

Decision DecideOn(const ShardState& state, const StartMfaEnrollment& c, Context& ctx) {
  Result<const UserState*> user = FindAccount(state, c.actor);
  if (!user) return user.error();
  if ((*user)->mfa.enabled) {
    return MakeError(ErrorCode::kAlreadyExists, "MFA is already on; disable it first", "mfa");
  }
  if (c.secret.size() < 16) return Invalid("TOTP secret is too short", "secret");
  return Emit(MfaEnrollStarted{c.actor, c.secret, ctx.now});
}

Decision DecideOn(const ShardState& state, const ConfirmMfa& c, Context& ctx) {
  Result<const UserState*> user = FindAccount(state, c.actor);
  if (!user) return user.error();
  const MfaState& mfa = (*user)->mfa;
  if (mfa.enabled) return MakeError(ErrorCode::kAlreadyExists, "MFA is already on", "mfa");
  if (mfa.pending_secret.empty()) {
    return MakeError(ErrorCode::kBadRequest, "start enrolment first", "mfa");
  }
  if (c.totp_step == 0 || c.totp_step <= mfa.last_step) return WrongCode();
  if (c.recovery_hashes.size() != kRecoveryCodeCount) {
    return Invalid("expected " + std::to_string(kRecoveryCodeCount) + " recovery codes",
                   "recovery_hashes");
  }
  return Emit(MfaEnabled{c.actor, c.recovery_hashes, c.totp_step, ctx.now});
}

Decision DecideOn(const ShardState& state, const UseSecondFactor& c, Context& ctx) {
  Result<const UserState*> user = FindAccount(state, c.user_id);
  if (!user) return user.error();
  const MfaState& mfa = (*user)->mfa;
  if (!mfa.enabled) return MakeError(ErrorCode::kBadRequest, "MFA is not on", "mfa");
  if (c.totp_step != 0) {
    // A step at or before the last accepted one is a replayed (or older) code.
    if (c.totp_step <= mfa.last_step) return WrongCode();
    return Emit(MfaCodeUsed{c.user_id, c.totp_step, 0, ctx.now});
  }
  if (c.recovery_hash.empty()) return WrongCode();
  for (size_t i = 0; i < mfa.recovery_hashes.size(); ++i) {
    const std::string& h = mfa.recovery_hashes[i];
    if (!h.empty() && ConstantTimeEquals(h, c.recovery_hash)) {
      return Emit(MfaCodeUsed{c.user_id, 0, i + 1, ctx.now});
    }
  }
  return WrongCode();
}

// REQUIRES: the caller had a fresh second factor accepted (UseSecondFactor) just before.
Decision DecideOn(const ShardState& state, const DisableMfa& c, Context& ctx) {
  Result<const UserState*> user = FindAccount(state, c.actor);
  if (!user) return user.error();
  if (!(*user)->mfa.enabled) return MakeError(ErrorCode::kBadRequest, "MFA is not on", "mfa");
  return Emit(MfaDisabled{c.actor, ctx.now});
}

Decision DecideOn(const ShardState& state, const CreateApiKey& c, Context& ctx) {
  Result<const UserState*> user = FindAccount(state, c.actor);
  if (!user) return user.error();
  Result<std::string> name = ValidateName(c.name, kMaxNameBytes, "key name", "name");
  if (!name) return name.error();
  if (c.scopes == 0 || (c.scopes & ~uint32_t{kAllScopes}) != 0) {
    return Invalid("scopes must be a non-empty set of read, write, admin", "scopes");
  }
  if (c.expires_at != 0 && c.expires_at <= ctx.now) {
    return Invalid("expiry must be in the future", "expires_at_ms");
  }
  if (c.key_hash.empty()) return Invalid("key hash is empty", "key_hash");
  size_t live = std::count_if((*user)->api_keys.begin(), (*user)->api_keys.end(),
                              [&](const auto& kv) { return IsLiveKey(kv.second, ctx.now); });
  if (live >= kMaxApiKeysPerUser) {
    return Invalid("at most " + std::to_string(kMaxApiKeysPerUser) + " live API keys", "name");
  }
  return Emit(ApiKeyCreated{c.actor, NextId(ctx), std::move(*name), c.scopes, c.key_hash,
                            c.expires_at, ctx.now});
}

Decision DecideOn(const ShardState& state, const RevokeApiKey& c, Context& ctx) {
  Result<const UserState*> user = FindAccount(state, c.actor);
  if (!user) return user.error();
  auto it = (*user)->api_keys.find(c.key_id);
  if (it == (*user)->api_keys.end()) {
    return MakeError(ErrorCode::kNotFound, "no such API key", "key_id");
  }
  if (it->second.revoked) return NoOp();
  return Emit(ApiKeyRevoked{c.actor, c.key_id, ctx.now});
}

Decision DecideOn(const ShardState& state, const LinkOidc& c, Context& ctx) {
  Result<const UserState*> user = FindAccount(state, c.user_id);
  if (!user) return user.error();
  if (c.issuer.empty() || c.subject.empty()) return Invalid("issuer and subject are required", "sub");
  for (const auto& [iss, sub] : (*user)->oidc_links) {
    if (iss == c.issuer && sub == c.subject) return NoOp();
  }
  return Emit(OidcLinked{c.user_id, c.issuer, c.subject, ctx.now});
}

}  // namespace rules

// ---- Queries ----------------------------------------------------------------------------------

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

Status CheckNotLocked(const UserState& user, TimeMs now) {
  if (user.locked_until <= now) return OkStatus();
  Error e = MakeError(ErrorCode::kAccountLocked,
                      "too many failed sign-ins: the account is locked for a while", "locked");
  e.retry_after_ms = static_cast<uint32_t>(user.locked_until - now);
  return e;
}

const SessionState* FindLiveSession(const UserState& user, uint64_t session_id, TimeMs now) {
  auto it = user.sessions.find(session_id);
  if (it == user.sessions.end() || it->second.expires_at <= now) return nullptr;
  return &it->second;
}

std::optional<uint64_t> SessionToEvict(const UserState& user, size_t max_sessions, TimeMs now) {
  const SessionState* oldest = nullptr;
  size_t live = 0;
  for (const auto& [id, session] : user.sessions) {
    if (session.expires_at <= now) continue;
    ++live;
    if (oldest == nullptr || session.refreshed_at < oldest->refreshed_at) oldest = &session;
  }
  if (live < max_sessions || oldest == nullptr) return std::nullopt;
  return oldest->id;
}

Result<uint32_t> CheckApiKey(const UserState& user, uint64_t key_id, std::string_view key_hash,
                             TimeMs now) {
  auto it = user.api_keys.find(key_id);
  if (it == user.api_keys.end() || !IsLiveKey(it->second, now) ||
      !ConstantTimeEquals(it->second.key_hash, key_hash)) {
    return MakeError(ErrorCode::kInvalidCredentials, "invalid, revoked or expired API key",
                     "api_key");
  }
  return it->second.scopes;
}

}  // namespace parley
