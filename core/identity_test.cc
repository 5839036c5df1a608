// Identity rules on the user's shard: sessions and refresh-token rotation, lockout, second
// factors, API keys, the password policy, profiles, and the audit trail they leave. Time moves
// only when a test advances the manual clock (ctx_.now); every test's log must replay into a state
// equal to the live one (checked in TearDown).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/decide.h"
#include "core/decision_matchers.h"

namespace parley {
namespace {

using namespace testing_matchers;

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr std::string_view kEmail = "alexander.hamilton@example.com";
constexpr uint8_t kPassword = static_cast<uint8_t>(SignInMethod::kPassword);


std::vector<std::string> RecoveryHashes() {
  std::vector<std::string> hashes;
  for (size_t i = 0; i < kRecoveryCodeCount; ++i) hashes.push_back("rc" + std::to_string(i));
  return hashes;
}

class IdentityTest : public DecideFixture {
 protected:
  IdentityTest() : DecideFixture(kT0) {}

  void SetUp() override {
    user_ = Do<UserRegistered>(
                RegisterUser{std::string(kEmail), "Alexander", "a long passphrase", "", "scrypt$1"})
                .user_id;
  }

  // Whatever a test did, its log replays into the state it built live.
  void TearDown() override { ExpectReplayEqual(); }

  void Advance(TimeMs ms) { ctx_.now += ms; }
  TimeMs now() const { return ctx_.now; }
  const UserState& user() const { return *state_.FindUser(user_); }

  uint64_t Start(std::string refresh_hash, TimeMs lifetime = kDayMs) {
    return Do<SessionStarted>(StartSession{user_, std::move(refresh_hash), "laptop", "10.0.0.1",
                                           kPassword, lifetime})
        .session_id;
  }

  SignInFailed Fail() { return Do<SignInFailed>(RecordSignInFailure{user_, "10.0.0.66", false}); }

  void EnableMfa(uint64_t step) {
    Do<MfaEnrollStarted>(StartMfaEnrollment{user_, std::string(20, 'k')});
    Do<MfaEnabled>(ConfirmMfa{user_, step, RecoveryHashes()});
  }

  const AuditEntry& LastAudit() const { return state_.audit().back(); }

  UserId user_ = 0;
};

// ---- Sessions ---------------------------------------------------------------------------------

TEST_F(IdentityTest, StartSessionMintsASessionAndAuditsTheSignIn) {
  SessionStarted e =
      Do<SessionStarted>(StartSession{user_, "r1", "laptop", "10.0.0.1", kPassword, kDayMs});
  EXPECT_EQ(e.session_id, MintId(2, 0, 1));  // after the user
  EXPECT_EQ(e.at, kT0);
  EXPECT_EQ(e.expires_at, kT0 + kDayMs);
  const SessionState* s = FindLiveSession(user(), e.session_id, now());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->refresh_hash, "r1");
  EXPECT_EQ(s->device, "laptop");
  EXPECT_EQ(s->address, "10.0.0.1");
  EXPECT_EQ(s->method, kPassword);
  EXPECT_EQ(s->created_at, kT0);
  EXPECT_EQ(s->refreshed_at, kT0);
  EXPECT_TRUE(s->rotated_hashes.empty());
  EXPECT_EQ(LastAudit(),
            (AuditEntry{kT0, AuditKind::kSignIn, user_, user_, 0, "10.0.0.1", "password"}));
}

TEST_F(IdentityTest, StartSessionRejectsBadArguments) {
  EXPECT_TRUE(IsError(Try(StartSession{user_, "", "d", "a", kPassword, kDayMs}),
                      ErrorCode::kInvalidArgument, "refresh_hash"));
  EXPECT_TRUE(IsError(Try(StartSession{user_, "r", "d", "a", kPassword, 0}),
                      ErrorCode::kInvalidArgument, "lifetime_ms"));
  EXPECT_TRUE(IsError(
      Try(StartSession{user_, "r", std::string(kMaxDeviceBytes + 1, 'd'), "a", kPassword, kDayMs}),
      ErrorCode::kInvalidArgument, "device"));
  EXPECT_TRUE(IsError(Try(StartSession{user_, "r", "dev\nice", "a", kPassword, kDayMs}),
                      ErrorCode::kInvalidArgument, "device"));
  EXPECT_TRUE(IsError(Try(StartSession{user_ + 1, "r", "d", "a", kPassword, kDayMs}),
                      ErrorCode::kNotFound, "user_id"));
  EXPECT_TRUE(IsError(Try(StartSession{kNoId, "r", "d", "a", kPassword, kDayMs}),
                      ErrorCode::kUnauthenticated, "actor"));
  EXPECT_TRUE(
      Try(StartSession{user_, "r", std::string(kMaxDeviceBytes, 'd'), "a", kPassword, kDayMs})
          .ok());
}

TEST_F(IdentityTest, RefreshRotatesTheToken) {
  uint64_t sid = Start("r1");
  Advance(kMinuteMs);
  SessionRefreshed e = Do<SessionRefreshed>(RefreshSession{user_, sid, "r1", "r2", kDayMs});
  EXPECT_EQ(e.session_id, sid);
  EXPECT_EQ(e.refresh_hash, "r2");
  EXPECT_EQ(e.expires_at, now() + kDayMs);
  const SessionState& s = user().sessions.at(sid);
  EXPECT_EQ(s.refresh_hash, "r2");
  EXPECT_EQ(s.rotated_hashes, std::vector<std::string>{"r1"});
  EXPECT_EQ(s.created_at, kT0);
  EXPECT_EQ(s.refreshed_at, now());
  EXPECT_EQ(s.expires_at, now() + kDayMs);
  Advance(kMinuteMs);
  Do<SessionRefreshed>(RefreshSession{user_, sid, "r2", "r3", kDayMs});
  EXPECT_EQ(user().sessions.at(sid).rotated_hashes, (std::vector<std::string>{"r1", "r2"}));
}

TEST_F(IdentityTest, RefreshNeedsAReplacement) {
  uint64_t sid = Start("r1");
  EXPECT_TRUE(IsError(Try(RefreshSession{user_, sid, "r1", "", kDayMs}),
                      ErrorCode::kInvalidArgument, "refresh_hash"));
  EXPECT_TRUE(IsError(Try(RefreshSession{user_, sid, "r1", "r2", 0}), ErrorCode::kInvalidArgument,
                      "refresh_hash"));
}

TEST_F(IdentityTest, ReusedRefreshTokenRevokesTheSession) {
  uint64_t sid = Start("r1");
  Advance(kMinuteMs);
  Do<SessionRefreshed>(RefreshSession{user_, sid, "r1", "r2", kDayMs});
  Advance(kMinuteMs);
  // A thief (or the victim) presents the rotated token: the session ends for both of them.
  SessionRevoked e = Do<SessionRevoked>(RefreshSession{user_, sid, "r1", "r9", kDayMs});
  EXPECT_EQ(e.user_id, user_);
  EXPECT_EQ(e.session_id, sid);
  EXPECT_EQ(e.reason, static_cast<uint8_t>(RevokeReason::kRefreshReuse));
  EXPECT_EQ(e.by, kNoId);  // the server
  EXPECT_EQ(e.at, now());
  EXPECT_EQ(user().sessions.count(sid), 0u);
  EXPECT_EQ(FindLiveSession(user(), sid, now()), nullptr);
  EXPECT_TRUE(IsError(Try(RefreshSession{user_, sid, "r2", "r3", kDayMs}),
                      ErrorCode::kUnauthenticated, "refresh_token"));
  EXPECT_EQ(LastAudit().kind, AuditKind::kRefreshTokenReuse);
  EXPECT_EQ(LastAudit().user_id, user_);
  EXPECT_EQ(LastAudit().actor_id, kNoId);
  EXPECT_EQ(LastAudit().detail, "session " + std::to_string(sid) + " refresh_token_reuse");
}

TEST_F(IdentityTest, UnknownTokenSessionOrUserIsUnauthenticatedAlike) {
  uint64_t sid = Start("r1");
  const std::vector<RefreshSession> bad = {
      {user_, sid, "never-issued", "r2", kDayMs},
      {user_, sid, "", "r2", kDayMs},
      {user_, sid + 1000, "r1", "r2", kDayMs},
      {user_ + 1000, sid, "r1", "r2", kDayMs},
  };
  Decision first = Try(bad.front());
  ASSERT_TRUE(IsError(first, ErrorCode::kUnauthenticated, "refresh_token"));
  for (const RefreshSession& c : bad) {
    Decision r = Try(c);
    ASSERT_TRUE(IsError(r, ErrorCode::kUnauthenticated, "refresh_token")) << c.presented_hash;
    EXPECT_EQ(r.error().message, first.error().message);
  }
  EXPECT_NE(FindLiveSession(user(), sid, now()), nullptr);  // an unknown token revokes nothing
}

TEST_F(IdentityTest, SessionExpiresWithItsRefreshToken) {
  uint64_t sid = Start("r1", kDayMs);
  Advance(kDayMs - 1);
  EXPECT_NE(FindLiveSession(user(), sid, now()), nullptr);
  Advance(1);
  EXPECT_EQ(FindLiveSession(user(), sid, now()), nullptr);
  EXPECT_TRUE(IsError(Try(RefreshSession{user_, sid, "r1", "r2", kDayMs}),
                      ErrorCode::kUnauthenticated, "refresh_token"));
  Start("q1");  // the next sign-in sweeps the expired session away
  EXPECT_EQ(user().sessions.count(sid), 0u);
  EXPECT_EQ(user().sessions.size(), 1u);
}

TEST_F(IdentityTest, SessionLimitEvictsTheLeastRecentlyRefreshed) {
  uint64_t s1 = Start("a1");
  Advance(kMinuteMs);
  uint64_t s2 = Start("b1");
  Advance(kMinuteMs);
  uint64_t s3 = Start("c1");
  EXPECT_EQ(SessionToEvict(user(), 3, now()), std::optional<uint64_t>(s1));
  EXPECT_EQ(SessionToEvict(user(), 4, now()), std::nullopt);  // room left
  Advance(kMinuteMs);
  Do<SessionRefreshed>(RefreshSession{user_, s1, "a1", "a2", kDayMs});
  EXPECT_EQ(SessionToEvict(user(), 3, now()), std::optional<uint64_t>(s2));
  Do<SessionRevoked>(
      RevokeSession{user_, s2, static_cast<uint8_t>(RevokeReason::kSessionLimit), kNoId});
  EXPECT_EQ(SessionToEvict(user(), 3, now()), std::nullopt);
  EXPECT_EQ(SessionToEvict(user(), 2, now()), std::optional<uint64_t>(s3));
  // Expired sessions take no room: s3 expires first, then only s1 is live.
  ctx_.now = user().sessions.at(s3).expires_at;
  EXPECT_EQ(SessionToEvict(user(), 2, now()), std::nullopt);
  EXPECT_EQ(SessionToEvict(user(), 1, now()), std::optional<uint64_t>(s1));
}

TEST_F(IdentityTest, RevokeSessionEndsItAndIsAudited) {
  uint64_t sid = Start("r1");
  SessionRevoked e = Do<SessionRevoked>(
      RevokeSession{user_, sid, static_cast<uint8_t>(RevokeReason::kLogout), user_});
  EXPECT_EQ(e.reason, static_cast<uint8_t>(RevokeReason::kLogout));
  EXPECT_EQ(e.by, user_);
  EXPECT_TRUE(user().sessions.empty());
  EXPECT_EQ(LastAudit(), (AuditEntry{now(), AuditKind::kSessionRevoked, user_, user_, 0, "",
                                     "session " + std::to_string(sid) + " logout"}));
  EXPECT_TRUE(
      IsError(Try(RevokeSession{user_, sid, 1, user_}), ErrorCode::kNotFound, "session_id"));
  EXPECT_TRUE(
      IsError(Try(RevokeSession{user_ + 1, sid, 1, user_}), ErrorCode::kNotFound, "session_id"));
}

// ---- Lockout ----------------------------------------------------------------------------------

TEST_F(IdentityTest, FourFailuresDoNotLock) {
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(Fail().locked_until, 0) << i;
    Advance(kMinuteMs);
  }
  EXPECT_TRUE(CheckNotLocked(user(), now()).ok());
  EXPECT_EQ(user().recent_failures.size(), 4u);
  EXPECT_EQ(user().locked_until, 0);
}

TEST_F(IdentityTest, FifthFailureLocksForFifteenMinutes) {
  for (int i = 0; i < 4; ++i) {
    Fail();
    Advance(kMinuteMs);
  }
  const TimeMs fifth = now();
  SignInFailed e = Fail();
  EXPECT_EQ(e.locked_until, fifth + kLockoutMs);
  EXPECT_EQ(user().locked_until, fifth + kLockoutMs);

  Status locked = CheckNotLocked(user(), now());
  ASSERT_TRUE(IsError(locked, ErrorCode::kAccountLocked, "locked"));
  EXPECT_EQ(locked.error().retry_after_ms, static_cast<uint32_t>(kLockoutMs));
  Decision start = Try(StartSession{user_, "r", "d", "a", kPassword, kDayMs});
  ASSERT_TRUE(IsError(start, ErrorCode::kAccountLocked, "locked"));
  EXPECT_EQ(start.error().retry_after_ms, static_cast<uint32_t>(kLockoutMs));

  Advance(kLockoutMs - 1);
  locked = CheckNotLocked(user(), now());
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().retry_after_ms, 1u);
  Advance(1);
  EXPECT_TRUE(CheckNotLocked(user(), now()).ok());
  Start("r1");
}

TEST_F(IdentityTest, FailuresOlderThanTheWindowDoNotCount) {
  struct Case {
    TimeMs gap;  // between the first four failures and the fifth
    bool locks;
  };
  for (Case t : {Case{kLockoutWindowMs - 1, true}, Case{kLockoutWindowMs, false}}) {
    SCOPED_TRACE(t.gap);
    ShardState fresh = state_;  // the registered user, no failures
    for (int i = 0; i < 4; ++i) Fail();
    Advance(t.gap);
    EXPECT_EQ(Fail().locked_until > 0, t.locks);
    if (!t.locks) {
      EXPECT_EQ(user().recent_failures.size(), 1u);  // the old four are forgotten
    }
    state_ = fresh;
    log_.resize(1);  // the registration
  }
}

TEST_F(IdentityTest, SuccessfulSignInClearsTheFailureCount) {
  for (int i = 0; i < 4; ++i) Fail();
  Start("r1");
  EXPECT_TRUE(user().recent_failures.empty());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Fail().locked_until, 0) << i;
  EXPECT_GT(Fail().locked_until, 0);  // five since the sign-in
}

TEST_F(IdentityTest, LockIsAudited) {
  for (int i = 0; i < 5; ++i) Fail();
  const auto& audit = state_.audit();
  ASSERT_EQ(audit.size(), 6u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(audit[i],
              (AuditEntry{kT0, AuditKind::kSignInFailed, user_, user_, 0, "10.0.0.66", "password"}))
        << i;
  }
  EXPECT_EQ(audit[5], (AuditEntry{kT0, AuditKind::kAccountLocked, user_, user_, 0, "10.0.0.66",
                                  "until " + std::to_string(kT0 + kLockoutMs)}));
}

// ---- Second factor ----------------------------------------------------------------------------

TEST_F(IdentityTest, EnrolAndConfirmMfa) {
  EXPECT_TRUE(IsError(Try(StartMfaEnrollment{user_, std::string(15, 'k')}),
                      ErrorCode::kInvalidArgument, "secret"));
  EXPECT_TRUE(IsError(Try(ConfirmMfa{user_, 1000, RecoveryHashes()}), ErrorCode::kBadRequest,
                      "mfa"));  // nothing to confirm yet
  Do<MfaEnrollStarted>(StartMfaEnrollment{user_, std::string(16, 'k')});
  EXPECT_EQ(user().mfa.pending_secret, std::string(16, 'k'));
  EXPECT_FALSE(user().mfa.enabled);
  std::vector<std::string> nine = RecoveryHashes();
  nine.pop_back();
  EXPECT_TRUE(
      IsError(Try(ConfirmMfa{user_, 1000, nine}), ErrorCode::kInvalidArgument, "recovery_hashes"));
  EXPECT_TRUE(IsError(Try(ConfirmMfa{user_, 0, RecoveryHashes()}), ErrorCode::kInvalidCredentials,
                      "code"));  // the code matched no step
  MfaEnabled e = Do<MfaEnabled>(ConfirmMfa{user_, 1000, RecoveryHashes()});
  EXPECT_EQ(e.totp_step, 1000u);
  EXPECT_EQ(user().mfa, (MfaState{true, std::string(16, 'k'), "", RecoveryHashes(), 1000}));
  EXPECT_EQ(LastAudit(), (AuditEntry{now(), AuditKind::kMfaEnabled, user_, user_, 0, "", ""}));
  EXPECT_TRUE(IsError(Try(StartMfaEnrollment{user_, std::string(20, 'k')}),
                      ErrorCode::kAlreadyExists, "mfa"));
  EXPECT_TRUE(
      IsError(Try(ConfirmMfa{user_, 1001, RecoveryHashes()}), ErrorCode::kAlreadyExists, "mfa"));
}

TEST_F(IdentityTest, TotpStepIsAcceptedOnce) {
  EnableMfa(1000);
  // The confirming code, and anything older, is spent.
  for (uint64_t step : {1000, 999, 1}) {
    EXPECT_TRUE(
        IsError(Try(UseSecondFactor{user_, step, ""}), ErrorCode::kInvalidCredentials, "code"))
        << step;
  }
  MfaCodeUsed e = Do<MfaCodeUsed>(UseSecondFactor{user_, 1001, ""});
  EXPECT_EQ(e.totp_step, 1001u);
  EXPECT_EQ(e.recovery_index, 0u);
  EXPECT_EQ(user().mfa.last_step, 1001u);
  EXPECT_TRUE(IsError(Try(UseSecondFactor{user_, 1001, ""}), ErrorCode::kInvalidCredentials,
                      "code"));  // replayed
  Do<MfaCodeUsed>(UseSecondFactor{user_, 1003, ""});
  EXPECT_TRUE(IsError(Try(UseSecondFactor{user_, 1002, ""}), ErrorCode::kInvalidCredentials,
                      "code"));  // older than the newest accepted
}

TEST_F(IdentityTest, RecoveryCodeWorksOnce) {
  EnableMfa(1000);
  MfaCodeUsed e = Do<MfaCodeUsed>(UseSecondFactor{user_, 0, "rc3"});
  EXPECT_EQ(e.totp_step, 0u);
  EXPECT_EQ(e.recovery_index, 4u);  // 1-based
  EXPECT_EQ(user().mfa.recovery_hashes[3], "");
  EXPECT_EQ(user().mfa.last_step, 1000u);
  for (std::string hash : {"rc3", "unknown", ""}) {
    EXPECT_TRUE(
        IsError(Try(UseSecondFactor{user_, 0, hash}), ErrorCode::kInvalidCredentials, "code"))
        << hash;
  }
  EXPECT_EQ(EventOf<MfaCodeUsed>(Try(UseSecondFactor{user_, 0, "rc9"})).recovery_index, 10u);
}

TEST_F(IdentityTest, DisableMfaKeepsSpentStepsSpent) {
  EXPECT_TRUE(IsError(Try(DisableMfa{user_}), ErrorCode::kBadRequest, "mfa"));
  EnableMfa(1000);
  Do<MfaCodeUsed>(UseSecondFactor{user_, 1001, ""});
  Do<MfaDisabled>(DisableMfa{user_});
  EXPECT_EQ(user().mfa, (MfaState{false, "", "", {}, 1001}));
  EXPECT_EQ(LastAudit(), (AuditEntry{now(), AuditKind::kMfaDisabled, user_, user_, 0, "", ""}));
  EXPECT_TRUE(IsError(Try(UseSecondFactor{user_, 1002, ""}), ErrorCode::kBadRequest, "mfa"));
  EXPECT_TRUE(IsError(Try(DisableMfa{user_}), ErrorCode::kBadRequest, "mfa"));
  // Enrolling again: a code already used cannot confirm it.
  Do<MfaEnrollStarted>(StartMfaEnrollment{user_, std::string(20, 'n')});
  EXPECT_TRUE(IsError(Try(ConfirmMfa{user_, 1001, RecoveryHashes()}),
                      ErrorCode::kInvalidCredentials, "code"));
  Do<MfaEnabled>(ConfirmMfa{user_, 1002, RecoveryHashes()});
  EXPECT_EQ(user().mfa.secret, std::string(20, 'n'));
}

// ---- API keys ---------------------------------------------------------------------------------

TEST_F(IdentityTest, CreateApiKeyWithScopes) {
  ApiKeyCreated e = Do<ApiKeyCreated>(
      CreateApiKey{user_, "  ci bot ", kScopeRead | kScopeWrite, "kh", now() + kDayMs});
  EXPECT_EQ(e.key_id, MintId(2, 0, 1));
  EXPECT_EQ(e.name, "ci bot");
  EXPECT_EQ(e.scopes, static_cast<uint32_t>(kScopeRead | kScopeWrite));
  EXPECT_EQ(e.expires_at, now() + kDayMs);
  EXPECT_EQ(user().api_keys.at(e.key_id), (ApiKeyState{e.key_id, "ci bot", kScopeRead | kScopeWrite,
                                                       "kh", kT0, kT0 + kDayMs, false}));
  Result<uint32_t> scopes = CheckApiKey(user(), e.key_id, "kh", now());
  ASSERT_TRUE(scopes.ok());
  EXPECT_EQ(*scopes, static_cast<uint32_t>(kScopeRead | kScopeWrite));
  EXPECT_EQ(LastAudit(), (AuditEntry{kT0, AuditKind::kApiKeyCreated, user_, user_, 0, "",
                                     "key " + std::to_string(e.key_id) + " ci bot"}));
}

TEST_F(IdentityTest, CreateApiKeyRejectsBadScopes) {
  for (uint32_t scopes : {0u, 8u, kAllScopes | 8u, 0xffffffffu}) {
    EXPECT_TRUE(IsError(Try(CreateApiKey{user_, "k", scopes, "kh", 0}), ErrorCode::kInvalidArgument,
                        "scopes"))
        << scopes;
  }
  for (uint32_t scopes : {uint32_t{kScopeRead}, uint32_t{kScopeAdmin}, uint32_t{kAllScopes}}) {
    EXPECT_TRUE(Try(CreateApiKey{user_, "k", scopes, "kh", 0}).ok()) << scopes;
  }
}

TEST_F(IdentityTest, CreateApiKeyRejectsExpiryNotInTheFuture) {
  for (TimeMs expires_at : {now() - kDayMs, now() - 1, now()}) {
    EXPECT_TRUE(IsError(Try(CreateApiKey{user_, "k", kScopeRead, "kh", expires_at}),
                        ErrorCode::kInvalidArgument, "expires_at_ms"))
        << expires_at - now();
  }
  EXPECT_TRUE(Try(CreateApiKey{user_, "k", kScopeRead, "kh", now() + 1}).ok());
  EXPECT_TRUE(Try(CreateApiKey{user_, "k", kScopeRead, "kh", 0}).ok());  // never expires
  EXPECT_TRUE(IsError(Try(CreateApiKey{user_, "k", kScopeRead, "", 0}), ErrorCode::kInvalidArgument,
                      "key_hash"));
  EXPECT_TRUE(IsError(Try(CreateApiKey{user_, " ", kScopeRead, "kh", 0}),
                      ErrorCode::kInvalidArgument, "name"));
}

TEST_F(IdentityTest, LiveApiKeysAreLimited) {
  std::vector<uint64_t> keys;
  for (size_t i = 0; i < kMaxApiKeysPerUser; ++i) {
    keys.push_back(Do<ApiKeyCreated>(CreateApiKey{user_, "k", kScopeRead, "kh", 0}).key_id);
  }
  EXPECT_TRUE(IsError(Try(CreateApiKey{user_, "k", kScopeRead, "kh", 0}),
                      ErrorCode::kInvalidArgument, "name"));
  Do<ApiKeyRevoked>(RevokeApiKey{user_, keys.front()});
  EXPECT_TRUE(Try(CreateApiKey{user_, "k", kScopeRead, "kh", 0}).ok());
}

TEST_F(IdentityTest, BadApiKeysAllLookTheSame) {
  uint64_t good = Do<ApiKeyCreated>(CreateApiKey{user_, "a", kScopeRead, "ka", 0}).key_id;
  uint64_t expiring =
      Do<ApiKeyCreated>(CreateApiKey{user_, "b", kScopeRead, "kb", now() + kMinuteMs}).key_id;
  uint64_t revoked = Do<ApiKeyCreated>(CreateApiKey{user_, "c", kScopeRead, "kc", 0}).key_id;
  Do<ApiKeyRevoked>(RevokeApiKey{user_, revoked});
  EXPECT_TRUE(CheckApiKey(user(), expiring, "kb", now() + kMinuteMs - 1).ok());
  Advance(kMinuteMs);
  struct Case {
    const char* what;
    uint64_t key;
    std::string hash;
  };
  const std::vector<Case> cases = {
      {"wrong hash", good, "kb"},  {"empty hash", good, ""},       {"revoked", revoked, "kc"},
      {"expired", expiring, "kb"}, {"unknown key", 999'999, "ka"},
  };
  Result<uint32_t> first = CheckApiKey(user(), cases[0].key, cases[0].hash, now());
  ASSERT_FALSE(first.ok());
  for (const Case& t : cases) {
    Result<uint32_t> r = CheckApiKey(user(), t.key, t.hash, now());
    ASSERT_TRUE(IsError(r, ErrorCode::kInvalidCredentials, "api_key")) << t.what;
    EXPECT_EQ(r.error().message, first.error().message) << t.what;
  }
  EXPECT_TRUE(CheckApiKey(user(), good, "ka", now()).ok());
}

TEST_F(IdentityTest, RevokeApiKey) {
  uint64_t key = Do<ApiKeyCreated>(CreateApiKey{user_, "a", kScopeRead, "ka", 0}).key_id;
  EXPECT_TRUE(IsError(Try(RevokeApiKey{user_, key + 1000}), ErrorCode::kNotFound, "key_id"));
  Advance(kMinuteMs);
  ApiKeyRevoked e = Do<ApiKeyRevoked>(RevokeApiKey{user_, key});
  EXPECT_EQ(e.key_id, key);
  EXPECT_TRUE(user().api_keys.at(key).revoked);
  EXPECT_EQ(LastAudit(), (AuditEntry{now(), AuditKind::kApiKeyRevoked, user_, user_, 0, "",
                                     "key " + std::to_string(key)}));
  EXPECT_TRUE(IsNoOp(Try(RevokeApiKey{user_, key})));
}

// ---- Password policy --------------------------------------------------------------------------

TEST(PasswordPolicyTest, Table) {
  struct Case {
    const char* what;
    std::string password;
    const char* refusal;  // a part of the message; nullptr: accepted
  };
  const std::vector<Case> cases = {
      {"9 bytes", "k9!xQ2#mZ", "shorter than 10 bytes"},
      {"empty", "", "shorter than 10 bytes"},
      {"exactly 10 bytes", "k9!xQ2#mZp", nullptr},
      {"the email", std::string(kEmail), "email"},
      {"the email in upper case", "ALEXANDER.HAMILTON@EXAMPLE.COM", "email"},
      {"the local part", "alexander.hamilton", "email"},
      {"the local part in upper case", "ALEXANDER.HAMILTON", "email"},
      {"the local part in mixed case", "Alexander.Hamilton", "email"},
      {"the local part and more", "alexander.hamilton1", nullptr},
      {"common", "password123", "too common"},
      {"common, upper case", "PASSWORD123", "too common"},
      {"common digits", "1234567890", "too common"},
      {"common keyboard row", "qwertyuiop", "too common"},
      {"common long", "correcthorsebatterystaple", "too common"},
      {"max length", std::string(kMaxPasswordBytes, 'x'), nullptr},
      {"over max length", std::string(kMaxPasswordBytes + 1, 'x'), "longer than 1024"},
      {"good", "tangerine-otter-41", nullptr},
      {"good, with non-ASCII", "f\xc3\xbcnf kleine \xc3\xa4pfel", nullptr},
  };
  for (const Case& t : cases) {
    Status s = CheckPasswordPolicy(t.password, kEmail);
    if (t.refusal == nullptr) {
      EXPECT_TRUE(s.ok()) << t.what << ": " << s.error().message;
      continue;
    }
    ASSERT_TRUE(IsError(s, ErrorCode::kInvalidArgument, "password")) << t.what;
    EXPECT_NE(s.error().message.find(t.refusal), std::string::npos)
        << t.what << ": " << s.error().message;
  }
}

TEST_F(IdentityTest, ChangePasswordAppliesThePolicyUnlessRehashing) {
  EXPECT_TRUE(IsError(Try(ChangePassword{user_, "ALEXANDER.HAMILTON", "scrypt$2", false}),
                      ErrorCode::kInvalidArgument, "password"));
  EXPECT_TRUE(IsError(Try(ChangePassword{user_, "tangerine-otter-41", "", false}),
                      ErrorCode::kInvalidArgument, "password_hash"));
  Do<PasswordChanged>(ChangePassword{user_, "tangerine-otter-41", "scrypt$2", false});
  EXPECT_EQ(user().password_hash, "scrypt$2");
  EXPECT_EQ(LastAudit(), (AuditEntry{now(), AuditKind::kPasswordChanged, user_, user_, 0, "", ""}));
  const size_t audited = state_.audit().size();
  // A re-hash after sign-in: no password to check, and nothing to audit.
  PasswordChanged e = Do<PasswordChanged>(ChangePassword{user_, "", "scrypt$3", true});
  EXPECT_TRUE(e.rehash);
  EXPECT_EQ(user().password_hash, "scrypt$3");
  EXPECT_EQ(state_.audit().size(), audited);
}

// ---- Profile ----------------------------------------------------------------------------------

TEST_F(IdentityTest, ProfileUpdateValidation) {
  using Opt = std::optional<std::string>;
  struct Case {
    const char* what;
    Opt display_name, title, avatar_url;
    const char* bad_field;  // nullptr: accepted
  };
  const std::string https = "https://cdn.example.com/a.png";
  const std::vector<Case> cases = {
      {"https avatar", {}, {}, https, nullptr},
      {"http avatar", {}, {}, "http://cdn.example.com/a.png", "avatar_url"},
      {"upper-case scheme", {}, {}, "HTTPS://cdn.example.com/a.png", "avatar_url"},
      {"javascript avatar", {}, {}, "javascript:alert(1)", "avatar_url"},
      {"protocol-relative avatar", {}, {}, "//cdn.example.com/a.png", "avatar_url"},
      {"avatar without scheme", {}, {}, "cdn.example.com/a.png", "avatar_url"},
      {"avatar with a control character", {}, {}, https + "\x01", "avatar_url"},
      {"avatar of max length",
       {},
       {},
       "https://" + std::string(kMaxAvatarUrlBytes - 8, 'a'),
       nullptr},
      {"avatar too long",
       {},
       {},
       "https://" + std::string(kMaxAvatarUrlBytes - 7, 'a'),
       "avatar_url"},
      {"no avatar", {}, {}, "", nullptr},
      {"title of max length", {}, std::string(kMaxTitleBytes, 't'), {}, nullptr},
      {"title too long", {}, std::string(kMaxTitleBytes + 1, 't'), {}, "title"},
      {"empty title", {}, "", {}, nullptr},
      {"title with a control character", {}, "Chief\x07", {}, "title"},
      {"display name", "Alex H.", {}, {}, nullptr},
      {"empty display name", "  ", {}, {}, "display_name"},
      {"display name too long", std::string(kMaxDisplayNameBytes + 1, 'a'), {}, {}, "display_name"},
  };
  for (const Case& t : cases) {
    Decision r = Try(UpdateProfile{user_, t.display_name, t.title, t.avatar_url});
    if (t.bad_field == nullptr) {
      EXPECT_TRUE(r.ok()) << t.what << ": " << r.error().message;
    } else {
      EXPECT_TRUE(IsError(r, ErrorCode::kInvalidArgument, t.bad_field)) << t.what;
    }
  }
}

TEST_F(IdentityTest, ProfileUpdateKeepsFieldsItDoesNotSet) {
  Do<ProfileUpdated>(UpdateProfile{user_, std::nullopt, std::string(" Treasurer "),
                                   std::string("https://cdn.example.com/a.png")});
  ProfileUpdated e =
      Do<ProfileUpdated>(UpdateProfile{user_, std::string("Alex"), std::nullopt, std::nullopt});
  EXPECT_EQ(e.display_name, "Alex");
  EXPECT_EQ(e.title, "Treasurer");
  EXPECT_EQ(e.avatar_url, "https://cdn.example.com/a.png");
  EXPECT_EQ(user().display_name, "Alex");
  EXPECT_EQ(user().title, "Treasurer");
  EXPECT_EQ(user().avatar_url, "https://cdn.example.com/a.png");
  Do<ProfileUpdated>(UpdateProfile{user_, std::nullopt, std::string(), std::string()});
  EXPECT_EQ(user().title, "");
  EXPECT_EQ(user().avatar_url, "");
}

// ---- OpenID Connect ---------------------------------------------------------------------------

TEST_F(IdentityTest, LinkOidc) {
  Do<OidcLinked>(LinkOidc{user_, "https://accounts.example.com", "sub-1"});
  EXPECT_EQ(state_.FindUserByOidc("https://accounts.example.com", "sub-1"), &user());
  EXPECT_EQ(state_.FindUserByOidc("https://accounts.example.com", "sub-2"), nullptr);
  EXPECT_TRUE(IsNoOp(Try(LinkOidc{user_, "https://accounts.example.com", "sub-1"})));
  EXPECT_TRUE(IsError(Try(LinkOidc{user_, "", "sub-1"}), ErrorCode::kInvalidArgument, "sub"));
}

// ---- Audit ------------------------------------------------------------------------------------

// Every kind of security event, as (kind, user, actor, workspace), in order.
TEST_F(IdentityTest, AuditTrailNamesWhoDidWhatToWhom) {
  constexpr UserId kBob = 5001, kCarol = 5002;
  const uint64_t s1 = Start("r1");     // sign_in
  for (int i = 0; i < 5; ++i) Fail();  // 5 failures, locked
  Advance(kLockoutMs);
  Do<SessionRefreshed>(RefreshSession{user_, s1, "r1", "r2", kDayMs});
  Do<SessionRevoked>(RefreshSession{user_, s1, "r1", "r3", kDayMs});  // reuse
  const uint64_t s2 = Start("q1");                                    // sign_in
  Do<SessionRevoked>(
      RevokeSession{user_, s2, static_cast<uint8_t>(RevokeReason::kRevokedByUser), user_});
  Do<PasswordChanged>(ChangePassword{user_, "tangerine-otter-41", "scrypt$2", false});
  Do<PasswordChanged>(ChangePassword{user_, "", "scrypt$3", true});  // not audited
  EnableMfa(1000);
  Do<MfaDisabled>(DisableMfa{user_});
  const uint64_t key = Do<ApiKeyCreated>(CreateApiKey{user_, "ci", kScopeRead, "kh", 0}).key_id;
  Do<ApiKeyRevoked>(RevokeApiKey{user_, key});
  // Workspace events, on the workspace's shard (here the same state).
  const WorkspaceId ws = Do<WorkspaceCreated>(CreateWorkspace{user_, "Acme"}).workspace_id;
  std::vector<uint64_t> invites;
  for (auto [who, email] : {std::pair{kBob, "bob@example.com"}, {kCarol, "carol@example.com"}}) {
    invites.push_back(Do<InviteCreated>(CreateInvite{user_, ws, email, 2, {}, "t", 0}).invite_id);
    Do<InviteAccepted>(AcceptInvite{who, email, ws, invites.back(), "t"});
  }
  Do<RoleChanged>(SetMemberRole{user_, ws, kBob, static_cast<uint8_t>(WorkspaceRole::kAdmin)});
  Do<MemberActiveChanged>(SetMemberActive{kBob, ws, kCarol, false});
  Do<MemberActiveChanged>(SetMemberActive{user_, ws, kCarol, true});
  Do<OwnershipTransferred>(TransferOwnership{user_, ws, kBob});

  using Row = std::tuple<AuditKind, UserId, UserId, WorkspaceId>;
  const UserId u = user_;
  const std::vector<Row> want = {
      {AuditKind::kSignIn, u, u, 0},
      {AuditKind::kSignInFailed, u, u, 0},
      {AuditKind::kSignInFailed, u, u, 0},
      {AuditKind::kSignInFailed, u, u, 0},
      {AuditKind::kSignInFailed, u, u, 0},
      {AuditKind::kSignInFailed, u, u, 0},
      {AuditKind::kAccountLocked, u, u, 0},
      {AuditKind::kRefreshTokenReuse, u, kNoId, 0},  // by the server
      {AuditKind::kSignIn, u, u, 0},
      {AuditKind::kSessionRevoked, u, u, 0},
      {AuditKind::kPasswordChanged, u, u, 0},
      {AuditKind::kMfaEnabled, u, u, 0},
      {AuditKind::kMfaDisabled, u, u, 0},
      {AuditKind::kApiKeyCreated, u, u, 0},
      {AuditKind::kApiKeyRevoked, u, u, 0},
      {AuditKind::kInviteAccepted, kBob, u, ws},  // the actor is the inviter
      {AuditKind::kInviteAccepted, kCarol, u, ws},
      {AuditKind::kRoleChanged, kBob, u, ws},
      {AuditKind::kMemberDeactivated, kCarol, kBob, ws},
      {AuditKind::kMemberReactivated, kCarol, u, ws},
      {AuditKind::kOwnershipTransferred, kBob, u, ws},  // to Bob, by the old owner
  };
  std::vector<Row> got;
  for (const AuditEntry& e : state_.audit()) {
    got.emplace_back(e.kind, e.user_id, e.actor_id, e.workspace_id);
  }
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i], want[i]) << "entry " << i << ": " << AuditKindName(std::get<0>(got[i]))
                               << ", want " << AuditKindName(std::get<0>(want[i]));
  }
  const auto& audit = state_.audit();
  EXPECT_EQ(audit[9].detail, "session " + std::to_string(s2) + " revoked");
  EXPECT_EQ(audit[15].detail, "invite " + std::to_string(invites[0]) + " as member");
  EXPECT_EQ(audit[17].detail, "admin");
}

TEST(AuditKindNameTest, NamesEveryKind) {
  const std::vector<std::pair<AuditKind, std::string_view>> names = {
      {AuditKind::kSignIn, "sign_in"},
      {AuditKind::kSignInFailed, "sign_in_failed"},
      {AuditKind::kAccountLocked, "account_locked"},
      {AuditKind::kRefreshTokenReuse, "refresh_token_reuse"},
      {AuditKind::kSessionRevoked, "session_revoked"},
      {AuditKind::kPasswordChanged, "password_changed"},
      {AuditKind::kMfaEnabled, "mfa_enabled"},
      {AuditKind::kMfaDisabled, "mfa_disabled"},
      {AuditKind::kRoleChanged, "role_changed"},
      {AuditKind::kOwnershipTransferred, "ownership_transferred"},
      {AuditKind::kMemberDeactivated, "member_deactivated"},
      {AuditKind::kMemberReactivated, "member_reactivated"},
      {AuditKind::kApiKeyCreated, "api_key_created"},
      {AuditKind::kApiKeyRevoked, "api_key_revoked"},
      {AuditKind::kInviteAccepted, "invite_accepted"},
  };
  for (const auto& [kind, name] : names) EXPECT_EQ(AuditKindName(kind), name);
  EXPECT_EQ(AuditKindName(static_cast<AuditKind>(200)), "unknown");
}

// ---- Replay -----------------------------------------------------------------------------------

// TearDown checks every test's log; this one makes sure a log with every identity event kind, and
// a clock that moved, replays both by copy and by move into the live state.
TEST_F(IdentityTest, ReplayEqualsLive) {
  Do<ProfileUpdated>(
      UpdateProfile{user_, std::string("Alex"), std::string("Treasurer"), std::nullopt});
  const uint64_t s1 = Start("r1");
  Advance(kMinuteMs);
  Do<SessionRefreshed>(RefreshSession{user_, s1, "r1", "r2", kDayMs});
  Advance(kMinuteMs);
  Do<SessionRevoked>(RefreshSession{user_, s1, "r1", "r3", kDayMs});
  for (int i = 0; i < 5; ++i) {
    Fail();
    Advance(1000);
  }
  Advance(kLockoutMs);
  Do<PasswordChanged>(ChangePassword{user_, "tangerine-otter-41", "scrypt$2", false});
  EnableMfa(1000);
  Do<MfaCodeUsed>(UseSecondFactor{user_, 1001, ""});
  Do<MfaCodeUsed>(UseSecondFactor{user_, 0, "rc0"});
  Do<MfaDisabled>(DisableMfa{user_});
  const uint64_t key = Do<ApiKeyCreated>(CreateApiKey{user_, "ci", kScopeRead, "kh", 0}).key_id;
  Do<ApiKeyRevoked>(RevokeApiKey{user_, key});
  Do<OidcLinked>(LinkOidc{user_, "https://accounts.example.com", "sub-1"});
  Start("q1");

  ShardState copied(0, 1), moved(0, 1);
  for (const Event& e : log_) copied.Apply(e);
  for (Event e : log_) moved.Apply(std::move(e));
  EXPECT_TRUE(copied == state_);
  EXPECT_TRUE(moved == state_);
  EXPECT_EQ(copied.max_minted(), state_.max_minted());
  EXPECT_EQ(*copied.FindUser(user_), user());
  EXPECT_EQ(copied.audit(), state_.audit());
  // A restarted minter resumes after every id the log holds (sessions and keys included).
  IdMinter restarted(0, 1, copied.max_minted());
  EXPECT_EQ(restarted.Next(), ids_.Next());
}

}  // namespace
}  // namespace parley
