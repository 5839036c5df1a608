// A signed-in user managing their account, on the user's shard: sessions, logout, password,
// profile, second factor and API keys.
#include <algorithm>

#include "auth/encoding.h"
#include "auth/opaque_token.h"
#include "auth/totp.h"
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

// Absent or empty: unchanged.
std::optional<std::string> Field(const flatbuffers::String* s) {
  if (s == nullptr || s->size() == 0) return std::nullopt;
  return s->str();
}

Error NoAccount() { return MakeError(ErrorCode::kNotFound, "no such account", "user_id"); }

wire::ApiKeyInfoT ApiKeyInfoOf(const ApiKeyState& key) {
  wire::ApiKeyInfoT info;
  info.id = key.id;
  info.name = key.name;
  info.scopes = key.scopes;
  info.created_at_ms = key.created_at;
  info.expires_at_ms = key.expires_at;
  info.revoked = key.revoked;
  return info;
}

}  // namespace

void Shard::OwnedLogout(const RequestMeta& meta) {
  auto outcome = Execute(RevokeSession{meta.actor(), meta.caller.session_id,
                                       static_cast<uint8_t>(RevokeReason::kLogout), meta.actor()});
  if (!outcome.ok()) return AnswerError(meta, outcome.error());
  session_seen_.erase(meta.caller.session_id);
  Answer(meta, EncodeOk(meta.request_id));  // before the close below: mailboxes keep order
  AfterDurable([this, user = meta.actor(), session = meta.caller.session_id] {
    BroadcastSessionsEnded(SessionsEnded{user, session, 0, "logout"});
  });
}

void Shard::OwnedListSessions(const RequestMeta& meta) {
  const UserState* user = state_.FindUser(meta.actor());
  if (user == nullptr) return AnswerError(meta, NoAccount());
  TimeMs now = Now();
  wire::SessionListT list;
  for (const auto& [id, session] : user->sessions) {
    if (FindLiveSession(*user, id, now) == nullptr) continue;
    auto info = std::make_unique<wire::SessionInfoT>();
    info->id = id;
    info->device = session.device;
    info->address = session.address;
    info->created_at_ms = session.created_at;
    info->last_seen_ms = session.refreshed_at;
    info->expires_at_ms = session.expires_at;
    info->current = id == meta.caller.session_id;
    info->method = session.method;
    if (auto seen = session_seen_.find(id); seen != session_seen_.end()) {
      info->last_seen_ms = std::max(info->last_seen_ms, seen->second.first);
      if (!seen->second.second.empty()) info->address = seen->second.second;
    }
    list.sessions.push_back(std::move(info));
  }
  Answer(meta, EncodeBody(meta.request_id, std::move(list)));
}

void Shard::OwnedRevokeSession(const RequestMeta& meta, const wire::RevokeSession* req) {
  const UserState* user = state_.FindUser(meta.actor());
  if (user == nullptr) return AnswerError(meta, NoAccount());
  std::vector<uint64_t> targets;
  if (req->all_others()) {
    for (const auto& [id, session] : user->sessions) {
      if (id != meta.caller.session_id) targets.push_back(id);
    }
  } else if (user->sessions.count(req->session_id()) != 0) {
    targets.push_back(req->session_id());
  } else {
    return AnswerError(meta, MakeError(ErrorCode::kNotFound, "no such session", "session_id"));
  }
  bool current = false;
  for (uint64_t id : targets) {
    if (id == meta.caller.session_id) {
      current = true;
      continue;
    }
    EndSession(meta.actor(), id, RevokeReason::kRevokedByUser, meta.actor());
  }
  if (current) return OwnedLogout(meta);  // answers Ok, then closes this connection
  Answer(meta, EncodeOk(meta.request_id));
}

// The current password is checked (and the new one hashed) on the worker pool; a wrong one
// counts towards the lockout like a failed sign-in. Every other session ends.
void Shard::OwnedChangePassword(const RequestMeta& meta, const wire::ChangePassword* req) {
  const UserState* user = state_.FindUser(meta.actor());
  if (user == nullptr) return AnswerError(meta, NoAccount());
  if (Status s = CheckNotLocked(*user, Now()); !s.ok()) return AnswerError(meta, s.error());
  std::string next = Str(req->new_password());
  if (Status s = CheckPasswordPolicy(next, user->email); !s.ok()) {
    return AnswerError(meta, s.error());
  }
  const auth::ScryptParams params = config_.identity->scrypt;
  std::string stored =
      user->password_hash.empty() ? auth::DummyHash(params) : user->password_hash;
  using Outcome = std::pair<auth::PasswordCheck, std::string>;
  OffLoop<Outcome>(
      [current = Str(req->current_password()), next, stored, salt = user->password_salt,
       params, has_password = !user->password_hash.empty()] {
        auto check = auth::VerifyPassword(current, stored, salt, params);
        if (!has_password) check = auth::PasswordCheck::kMismatch;
        if (check == auth::PasswordCheck::kMismatch) return Outcome{check, {}};
        return Outcome{check, auth::HashPassword(next, params)};
      },
      [this, meta, next](Outcome outcome) {
        if (outcome.first == auth::PasswordCheck::kMismatch) {
          counters_.sign_in_failures.Add();
          Execute(RecordSignInFailure{meta.actor(), meta.caller.address, false});
          return AnswerError(meta, MakeError(ErrorCode::kInvalidCredentials,
                                             "the current password is wrong", "current_password"));
        }
        auto changed = Execute(ChangePassword{meta.actor(), next, std::move(outcome.second)});
        if (!changed.ok()) return AnswerError(meta, changed.error());
        const UserState* user = state_.FindUser(meta.actor());
        std::vector<uint64_t> others;
        for (const auto& [id, session] : user->sessions) {
          if (id != meta.caller.session_id) others.push_back(id);
        }
        for (uint64_t id : others) {
          EndSession(meta.actor(), id, RevokeReason::kPasswordChanged, meta.actor());
        }
        Answer(meta, EncodeOk(meta.request_id));
      });
}

void Shard::OwnedProfile(const RequestMeta& meta, const wire::Frame* f) {
  UserId target = meta.actor();
  if (f->body_type() == wire::Body::UpdateProfile) {
    const wire::UpdateProfile* req = f->body_as_UpdateProfile();
    auto outcome = Execute(UpdateProfile{meta.actor(), Field(req->display_name()),
                                         Field(req->title()), Field(req->avatar_url())});
    if (!outcome.ok()) return AnswerError(meta, outcome.error());
  } else if (f->body_as_GetProfile()->user_id() != 0) {
    target = f->body_as_GetProfile()->user_id();
  }
  const UserState* user = state_.FindUser(target);
  if (user == nullptr) return AnswerError(meta, NoAccount());
  wire::ProfileT profile;
  profile.user_id = user->id;
  profile.display_name = user->display_name;
  profile.title = user->title;
  profile.avatar_url = user->avatar_url;
  profile.created_at_ms = user->created_at;
  if (target == meta.actor()) {  // private to its owner
    profile.email = user->email;
    profile.mfa_enabled = user->mfa.enabled;
  }
  Answer(meta, EncodeBody(meta.request_id, std::move(profile)));
}

void Shard::OwnedMfa(const RequestMeta& meta, const wire::Frame* f) {
  const UserState* user = state_.FindUser(meta.actor());
  if (user == nullptr) return AnswerError(meta, NoAccount());
  switch (f->body_type()) {
    case wire::Body::MfaEnroll: {
      std::string secret = auth::RandomBytes(20);
      auto outcome = Execute(StartMfaEnrollment{user->id, secret});
      if (!outcome.ok()) return AnswerError(meta, outcome.error());
      wire::MfaEnrollmentT reply;
      reply.secret = auth::Base32Encode(secret);
      reply.otpauth_uri = auth::OtpauthUri(config_.identity->issuer, user->email, secret);
      return Answer(meta, EncodeBody(meta.request_id, std::move(reply)));
    }
    case wire::Body::MfaConfirm: {
      std::optional<uint64_t> step =
          auth::MatchTotp(user->mfa.pending_secret, Str(f->body_as_MfaConfirm()->code()), Now());
      std::vector<std::string> codes = auth::NewRecoveryCodes(kRecoveryCodeCount);
      std::vector<std::string> hashes;
      for (const auto& code : codes) hashes.push_back(auth::Sha256(auth::NormaliseRecoveryCode(code)));
      auto outcome = Execute(ConfirmMfa{user->id, step.value_or(0), std::move(hashes)});
      if (!outcome.ok()) return AnswerError(meta, outcome.error());
      wire::RecoveryCodesT reply;
      reply.codes = std::move(codes);
      return Answer(meta, EncodeBody(meta.request_id, std::move(reply)));
    }
    case wire::Body::MfaDisable: {
      if (!user->mfa.enabled) {
        return AnswerError(meta, MakeError(ErrorCode::kBadRequest, "MFA is not on", "mfa"));
      }
      auto used = Execute(SecondFactorOf(*user, Str(f->body_as_MfaDisable()->code())));
      if (!used.ok()) return AnswerError(meta, used.error());
      auto outcome = Execute(DisableMfa{user->id});
      if (!outcome.ok()) return AnswerError(meta, outcome.error());
      return Answer(meta, EncodeOk(meta.request_id));
    }
    default:
      return AnswerError(meta, MakeError(ErrorCode::kBadRequest, "not an MFA request"));
  }
}

void Shard::OwnedApiKeys(const RequestMeta& meta, const wire::Frame* f) {
  const UserState* user = state_.FindUser(meta.actor());
  if (user == nullptr) return AnswerError(meta, NoAccount());
  switch (f->body_type()) {
    case wire::Body::CreateApiKey: {
      const wire::CreateApiKey* req = f->body_as_CreateApiKey();
      std::string secret = auth::Base64UrlEncode(auth::RandomBytes(32));
      auto outcome = Execute(CreateApiKey{user->id, Str(req->name()), req->scopes(),
                                          auth::HashSecret(secret), req->expires_at_ms()});
      if (!outcome.ok()) return AnswerError(meta, outcome.error());
      uint64_t key_id = std::get<ApiKeyCreated>(**outcome).key_id;
      wire::ApiKeyCreatedT reply;
      reply.key = "pk_" + std::to_string(user->id) + "_" + std::to_string(key_id) + "_" + secret;
      reply.info = std::make_unique<wire::ApiKeyInfoT>(ApiKeyInfoOf(user->api_keys.at(key_id)));
      return Answer(meta, EncodeBody(meta.request_id, std::move(reply)));
    }
    case wire::Body::ListApiKeys: {
      wire::ApiKeyListT reply;
      for (const auto& [id, key] : user->api_keys) {
        reply.keys.push_back(std::make_unique<wire::ApiKeyInfoT>(ApiKeyInfoOf(key)));
      }
      return Answer(meta, EncodeBody(meta.request_id, std::move(reply)));
    }
    case wire::Body::RevokeApiKey: {
      uint64_t key_id = f->body_as_RevokeApiKey()->key_id();
      auto outcome = Execute(RevokeApiKey{user->id, key_id});
      if (!outcome.ok()) return AnswerError(meta, outcome.error());
      Answer(meta, EncodeOk(meta.request_id));
      if (!*outcome) return;
      return AfterDurable([this, user = user->id, key_id] {
        BroadcastSessionsEnded(SessionsEnded{user, 0, key_id, "api_key_revoked"});
      });
    }
    default:
      return AnswerError(meta, MakeError(ErrorCode::kBadRequest, "not an API key request"));
  }
}

}  // namespace parley::shard
