// Identity end to end against a real parleyd: registration and password sign-in, access-token
// forgery and expiry, refresh-token rotation and reuse detection, sessions, MFA, OpenID Connect,
// API keys, lockout, rate limits and password changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <stdlib.h>

#include "auth/encoding.h"
#include "auth/jwt.h"
#include "auth/testing.h"
#include "auth/totp.h"
#include "persist/test_temp_dir.h"
#include "tests/test_server.h"

namespace parley::testing {
namespace {

constexpr const char* kPassword = "correct horse battery";  // TestServer::SignedIn's password

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t NowS() { return NowMs() / 1000; }

template <typename R>
::testing::AssertionResult IsError(const R& r, ErrorCode code,
                                   std::optional<std::string> details = std::nullopt) {
  if (r.ok()) return ::testing::AssertionFailure() << "succeeded; expected code " << int(code);
  const Error& e = r.error();
  if (e.code != code || (details && e.details != *details)) {
    return ::testing::AssertionFailure()
           << "got code " << int(e.code) << " details '" << e.details << "' (" << e.message
           << "); expected code " << int(code) << (details ? " details '" + *details + "'" : "");
  }
  return ::testing::AssertionSuccess();
}

// The connection receives an unauthenticated Error event with `details`, then is closed.
::testing::AssertionResult EndedWith(wire::Client& c, const std::string& details) {
  for (;;) {
    auto e = c.NextEvent(5000);
    if (!e.ok()) {
      return ::testing::AssertionFailure() << "no Error event before: " << e.error().message;
    }
    const wire::ErrorT* err = e->body.AsError();
    if (err == nullptr) continue;  // other events (membership, messages)
    if (err->code != static_cast<uint16_t>(ErrorCode::kUnauthenticated) ||
        err->details != details) {
      return ::testing::AssertionFailure() << "Error event code " << err->code << " details '"
                                           << err->details << "' (" << err->message << ")";
    }
    while (c.NextEvent(5000).ok()) {
    }
    if (!c.closed()) return ::testing::AssertionFailure() << "connection not closed";
    return ::testing::AssertionSuccess();
  }
}

using persist::ReadFile;

size_t Segments(const std::string& jwt) { return std::count(jwt.begin(), jwt.end(), '.') + 1; }

class IdentityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    server_->Start();
  }
  static void TearDownTestSuite() { delete server_; }

  // A registered account; returns its id.
  static uint64_t Registered(const TestServer& server, const std::string& email) {
    auto c = server.Connect();
    auto r = c->Register(email, kPassword, email.substr(0, email.find('@')));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r->user_id : 0;
  }
  // A fresh connection signed in with the password.
  static std::unique_ptr<wire::Client> LoggedIn(const TestServer& server, const std::string& email,
                                                wire::LoginOkT* login = nullptr,
                                                const std::string& device = "",
                                                const std::string& password = kPassword) {
    auto c = server.Connect();
    auto ok = c->Login(email, password, device);
    EXPECT_TRUE(ok.ok()) << ok.error().message;
    if (ok.ok() && login) *login = *ok;
    return c;
  }
  std::string SecretKey() const { return ReadFile(server_->data_dir() + "/secret.key"); }

  static TestServer* server_;
};
TestServer* IdentityTest::server_ = nullptr;

// --- 1. registration and password sign-in ------------------------------------------------------

TEST_F(IdentityTest, RegisterLoginAndResumeWithToken) {
  const std::string email = Email("ann");
  uint64_t id = Registered(*server_, email);
  wire::LoginOkT login;
  auto a = LoggedIn(*server_, email, &login);
  EXPECT_EQ(login.user_id, id);
  EXPECT_EQ(Segments(login.token), 3u) << login.token;
  EXPECT_FALSE(login.refresh_token.empty());
  EXPECT_NE(login.session_id, 0u);
  EXPECT_GT(login.access_expires_at_ms, NowMs());

  auto b = server_->Connect();
  auto resumed = b->LoginWithToken(login.token);
  ASSERT_TRUE(resumed.ok()) << resumed.error().message;
  EXPECT_EQ(resumed->user_id, id);
  EXPECT_EQ(resumed->session_id, login.session_id);
  EXPECT_TRUE(resumed->token.empty());  // a resumed session gets no new tokens
  EXPECT_TRUE(b->ListSessions().ok());
}

TEST_F(IdentityTest, PasswordPolicyAndDuplicates) {
  const std::string email = Email("policy");
  auto c = server_->Connect();
  EXPECT_TRUE(IsError(c->Register(email, "short1", "P"), ErrorCode::kInvalidArgument, "password"));
  EXPECT_TRUE(IsError(c->Register(email, email, "P"), ErrorCode::kInvalidArgument, "password"));
  EXPECT_TRUE(IsError(c->Register(email, email.substr(0, email.find('@')), "P"),
                      ErrorCode::kInvalidArgument, "password"));
  EXPECT_TRUE(
      IsError(c->Register(email, "password123", "P"), ErrorCode::kInvalidArgument, "password"));
  ASSERT_TRUE(c->Register(email, kPassword, "P").ok());
  EXPECT_TRUE(IsError(c->Register(email, "another good passphrase", "P2"),
                      ErrorCode::kAlreadyExists));
}

TEST_F(IdentityTest, WrongPasswordAndUnknownEmailLookAlike) {
  const std::string email = Email("known");
  Registered(*server_, email);
  auto c = server_->Connect();
  auto wrong = c->Login(email, "not the password at all");
  auto unknown = c->Login(Email("nobody"), "not the password at all");
  ASSERT_TRUE(IsError(wrong, ErrorCode::kInvalidCredentials));
  ASSERT_TRUE(IsError(unknown, ErrorCode::kInvalidCredentials));
  EXPECT_EQ(wrong.error().message, unknown.error().message);
  EXPECT_EQ(wrong.error().details, unknown.error().details);
}

// --- 2. forged and stale access tokens ---------------------------------------------------------

TEST_F(IdentityTest, ForgedAndStaleTokensAreRefused) {
  const std::string email = Email("tok");
  Registered(*server_, email);
  wire::LoginOkT login;
  auto owner = LoggedIn(*server_, email, &login);
  const std::string key = SecretKey();
  ASSERT_EQ(key.size(), 32u);

  auth::TokenClaims claims;
  claims.iss = "parley";
  claims.sub = login.user_id;
  claims.sid = login.session_id;
  claims.iat = NowS();
  claims.exp = NowS() + 600;
  claims.jti = "test";
  claims.use = "access";
  // Sanity: a token forged with the right key and a live session is accepted.
  {
    auto c = server_->Connect();
    ASSERT_TRUE(c->LoginWithToken(auth::SignHs256(key, claims)).ok());
  }
  auto refused = [&](const std::string& token, const char* what) {
    auto c = server_->Connect();
    EXPECT_TRUE(IsError(c->LoginWithToken(token), ErrorCode::kInvalidCredentials)) << what;
  };
  auth::TokenClaims expired = claims;
  expired.iat = NowS() - 3600;
  expired.exp = NowS() - 60;
  refused(auth::SignHs256(key, expired), "expired");

  // Tampered: the payload of a token for another user under this token's signature.
  auth::TokenClaims other = claims;
  other.sub = login.user_id + 1;
  std::string good = auth::SignHs256(key, claims);
  std::string forged = auth::SignHs256(key, other);
  size_t d1 = good.find('.'), d2 = good.rfind('.');
  size_t f1 = forged.find('.'), f2 = forged.rfind('.');
  std::string tampered = good.substr(0, d1) + forged.substr(f1, f2 - f1) + good.substr(d2);
  refused(tampered, "tampered sub");

  refused(auth::SignHs256(auth::RandomBytes(32), claims), "wrong key");

  std::string payload = R"({"iss":"parley","sub":")" + std::to_string(login.user_id) +
                        R"(","sid":")" + std::to_string(login.session_id) +
                        R"(","iat":)" + std::to_string(NowS()) + R"(,"exp":)" +
                        std::to_string(NowS() + 600) + R"(,"jti":"x","use":"access"})";
  refused(auth::UnsignedJwt(R"({"alg":"none","typ":"JWT"})", payload), "alg none");

  auth::TokenClaims no_session = claims;
  no_session.sid = login.session_id + 1'000'000;
  refused(auth::SignHs256(key, no_session), "no such session");
}

// --- 3. refresh rotation and reuse -------------------------------------------------------------

TEST_F(IdentityTest, RefreshRotatesAndReuseEndsTheSession) {
  const std::string email = Email("rot");
  Registered(*server_, email);
  wire::LoginOkT login;
  auto a = LoggedIn(*server_, email, &login);

  auto anon = server_->Connect();
  auto rotated = anon->Refresh(login.refresh_token);
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  EXPECT_EQ(rotated->session_id, login.session_id);
  EXPECT_NE(rotated->refresh_token, login.refresh_token);
  EXPECT_EQ(Segments(rotated->token), 3u);
  auto b = server_->Connect();
  ASSERT_TRUE(b->LoginWithToken(rotated->token).ok());

  EXPECT_TRUE(IsError(anon->Refresh(login.refresh_token), ErrorCode::kUnauthenticated,
                      "refresh_token_reuse"));
  EXPECT_TRUE(EndedWith(*a, "refresh_token_reuse"));
  EXPECT_TRUE(EndedWith(*b, "refresh_token_reuse"));
  auto again = server_->Connect()->Refresh(rotated->refresh_token);
  EXPECT_FALSE(again.ok()) << "the rotated refresh token still works after reuse";
  auto c = server_->Connect();
  EXPECT_TRUE(IsError(c->LoginWithToken(rotated->token), ErrorCode::kInvalidCredentials));
}

// --- 5. sessions -------------------------------------------------------------------------------

TEST_F(IdentityTest, LogoutEndsTheSession) {
  const std::string email = Email("out");
  Registered(*server_, email);
  wire::LoginOkT login;
  auto a = LoggedIn(*server_, email, &login);
  ASSERT_TRUE(a->Logout().ok());
  EXPECT_TRUE(EndedWith(*a, "logout"));
  EXPECT_FALSE(server_->Connect()->Refresh(login.refresh_token).ok());
  EXPECT_TRUE(
      IsError(server_->Connect()->LoginWithToken(login.token), ErrorCode::kInvalidCredentials));
}

TEST_F(IdentityTest, ListAndRevokeSessions) {
  const std::string email = Email("ses");
  Registered(*server_, email);
  wire::LoginOkT l1, l2, l3;
  auto laptop = LoggedIn(*server_, email, &l1, "laptop");
  auto phone = LoggedIn(*server_, email, &l2, "phone");
  auto tablet = LoggedIn(*server_, email, &l3, "tablet");
  auto list = laptop->ListSessions();
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 3u);
  std::set<std::string> devices;
  for (const auto& s : *list) {
    devices.insert(s.device);
    EXPECT_EQ(s.current, s.id == l1.session_id) << s.device;
    EXPECT_EQ(s.address, "127.0.0.1");
  }
  EXPECT_EQ(devices, (std::set<std::string>{"laptop", "phone", "tablet"}));

  ASSERT_TRUE(laptop->RevokeSession(l2.session_id).ok());
  EXPECT_TRUE(EndedWith(*phone, "session_revoked"));
  EXPECT_FALSE(server_->Connect()->Refresh(l2.refresh_token).ok());
  EXPECT_TRUE(IsError(laptop->RevokeSession(987654321), ErrorCode::kNotFound));

  auto phone2 = LoggedIn(*server_, email, nullptr, "phone");
  ASSERT_TRUE(laptop->RevokeOtherSessions().ok());
  EXPECT_TRUE(EndedWith(*tablet, "session_revoked"));
  EXPECT_TRUE(EndedWith(*phone2, "session_revoked"));
  list = laptop->ListSessions();
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].current);
  EXPECT_EQ((*list)[0].device, "laptop");
}

TEST(IdentitySessionLimitTest, ThirdSignInEndsTheOldest) {
  TestServer server({.extra_flags = {"--max_sessions_per_user=2"}});
  server.Start();
  const std::string email = "limit@example.com";
  {
    auto c = server.Connect();
    ASSERT_TRUE(c->Register(email, kPassword, "limit").ok());
  }
  auto first = server.Connect();
  auto l1 = first->Login(email, kPassword, "one");
  ASSERT_TRUE(l1.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto second = server.Connect();
  ASSERT_TRUE(second->Login(email, kPassword, "two").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto third = server.Connect();
  ASSERT_TRUE(third->Login(email, kPassword, "three").ok());
  EXPECT_TRUE(EndedWith(*first, "session_revoked"));
  EXPECT_FALSE(server.Connect()->Refresh(l1->refresh_token).ok());
  auto list = third->ListSessions();
  ASSERT_TRUE(list.ok());
  std::set<std::string> devices;
  for (const auto& s : *list) devices.insert(s.device);
  EXPECT_EQ(devices, (std::set<std::string>{"two", "three"}));
  EXPECT_TRUE(second->Ping().ok());
}

// --- 4. access-token expiry on a live connection (about 11 s) ----------------------------------

TEST(IdentityTokenExpiryTest, ExpiredAccessTokenOnConnection) {
  TestServer server({.extra_flags = {"--access_token_ttl_s=10"}});
  server.Start();
  const std::string email = "ttl@example.com";
  auto c = server.Connect();
  ASSERT_TRUE(c->Register(email, kPassword, "ttl").ok());
  auto login = c->Login(email, kPassword);
  ASSERT_TRUE(login.ok());
  EXPECT_LE(login->access_expires_at_ms, NowMs() + 10'000);
  ASSERT_TRUE(c->ListSessions().ok());
  int64_t wait = login->access_expires_at_ms - NowMs() + 300;
  std::this_thread::sleep_for(std::chrono::milliseconds(std::max<int64_t>(wait, 0)));
  EXPECT_TRUE(IsError(c->ListSessions(), ErrorCode::kUnauthenticated, "token_expired"));
  EXPECT_TRUE(IsError(server.Connect()->LoginWithToken(login->token),
                      ErrorCode::kInvalidCredentials));
  // Refreshing on the connection gives it the new expiry.
  auto rotated = c->Refresh(login->refresh_token);
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  EXPECT_TRUE(c->ListSessions().ok());
}

// --- 6. second factor --------------------------------------------------------------------------

TEST_F(IdentityTest, MfaEnrollLoginRecoveryAndDisable) {
  // Everything below runs within one 30 s TOTP step: wait out the end of a nearly used step.
  int64_t into_step = NowMs() % 30'000;
  if (into_step > 24'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30'000 - into_step + 200));
  }
  const std::string email = Email("mfa");
  Registered(*server_, email);
  wire::LoginOkT login;
  auto owner = LoggedIn(*server_, email, &login);
  auto enrollment = owner->MfaEnroll();
  ASSERT_TRUE(enrollment.ok()) << enrollment.error().message;
  EXPECT_EQ(enrollment->otpauth_uri.rfind("otpauth://totp/", 0), 0u) << enrollment->otpauth_uri;
  EXPECT_NE(enrollment->otpauth_uri.find("secret=" + enrollment->secret), std::string::npos);
  std::optional<std::string> secret = auth::Base32Decode(enrollment->secret);
  ASSERT_TRUE(secret.has_value());
  const uint64_t step = auth::TotpStep(NowMs());
  // The server takes steps step-1..step+1 and refuses a step at or below the last one used.
  auto code = [&](uint64_t s) { return auth::TotpCode(*secret, s); };

  auto codes = owner->MfaConfirm(code(step - 1));
  ASSERT_TRUE(codes.ok()) << codes.error().message;
  ASSERT_EQ(codes->size(), 10u);
  auto profile = owner->GetProfile(0);
  ASSERT_TRUE(profile.ok());
  EXPECT_TRUE(profile->mfa_enabled);

  auto challenge = [&]() -> std::string {
    auto c = server_->Connect();
    auto r = c->SignIn(email, kPassword);
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (!r.ok()) return "";
    EXPECT_FALSE(r->ok.has_value());
    return r->mfa_token;
  };
  EXPECT_TRUE(IsError(server_->Connect()->Login(email, kPassword), ErrorCode::kUnauthenticated,
                      "mfa_required"));
  std::string mfa_token = challenge();
  ASSERT_FALSE(mfa_token.empty());

  std::string wrong = "000000";
  for (uint64_t s = step - 1; s <= step + 1; ++s) {
    if (code(s) == wrong) wrong = "999999";
  }
  EXPECT_TRUE(IsError(server_->Connect()->MfaLogin(mfa_token, wrong),
                      ErrorCode::kInvalidCredentials));
  {
    auto c = server_->Connect();
    auto ok = c->MfaLogin(mfa_token, code(step), "authenticator");
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(ok->user_id, login.user_id);
    EXPECT_EQ(Segments(ok->token), 3u);
    EXPECT_TRUE(c->ListSessions().ok());
  }
  EXPECT_TRUE(IsError(server_->Connect()->MfaLogin(challenge(), code(step)),
                      ErrorCode::kInvalidCredentials))
      << "replayed TOTP code";

  {
    auto c = server_->Connect();
    auto ok = c->MfaLogin(challenge(), (*codes)[3]);
    EXPECT_TRUE(ok.ok()) << ok.error().message;
  }
  EXPECT_TRUE(IsError(server_->Connect()->MfaLogin(challenge(), (*codes)[3]),
                      ErrorCode::kInvalidCredentials))
      << "recovery code used twice";

  ASSERT_TRUE(owner->MfaDisable(code(step + 1)).ok());
  auto plain = server_->Connect()->SignIn(email, kPassword);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_TRUE(plain->ok.has_value());
  EXPECT_TRUE(plain->mfa_token.empty());
}

// --- 7. OpenID Connect -------------------------------------------------------------------------

class OidcTest : public ::testing::Test {
 protected:
  static constexpr const char* kIssuer = "https://idp.example.com";
  static constexpr const char* kAudience = "parley-test-client";

  static void SetUpTestSuite() {
    ec_ = new auth::TestKey(auth::TestKey::EcP256());
    rsa_ = new auth::TestKey(auth::TestKey::Rsa());
    stranger_ = new auth::TestKey(auth::TestKey::EcP256());
    char tmpl[] = "/tmp/parley-jwks-XXXXXX";
    jwks_dir_ = mkdtemp(tmpl);
    std::string jwks = jwks_dir_ + "/jwks.json";
    std::ofstream(jwks) << auth::JwksJson({{"ec1", ec_}, {"rsa1", rsa_}});
    server_ = new TestServer({.extra_flags = {"--oidc_jwks=" + jwks,
                                              std::string("--oidc_issuer=") + kIssuer,
                                              std::string("--oidc_audience=") + kAudience}});
  }
  static void TearDownTestSuite() {
    delete server_;
    std::filesystem::remove_all(jwks_dir_);
    delete ec_;
    delete rsa_;
    delete stranger_;
  }

  struct Claims {
    std::string iss = kIssuer, aud = kAudience, sub, email, name = "Olive Idp",
                nonce = "nonce-1";
    int64_t iat = NowS(), exp = NowS() + 600;
    std::string email_verified = "true";
  };
  static std::string Payload(const Claims& c) {
    return R"({"iss":")" + c.iss + R"(","aud":")" + c.aud + R"(","sub":")" + c.sub +
           R"(","email":")" + c.email + R"(","email_verified":)" + c.email_verified +
           R"(,"name":")" + c.name + R"(","nonce":")" + c.nonce + R"(","iat":)" +
           std::to_string(c.iat) + R"(,"exp":)" + std::to_string(c.exp) + "}";
  }

  static auth::TestKey* ec_;
  static auth::TestKey* rsa_;
  static auth::TestKey* stranger_;
  static TestServer* server_;
  static std::string jwks_dir_;
};
std::string OidcTest::jwks_dir_;
auth::TestKey* OidcTest::ec_ = nullptr;
auth::TestKey* OidcTest::rsa_ = nullptr;
auth::TestKey* OidcTest::stranger_ = nullptr;
TestServer* OidcTest::server_ = nullptr;

TEST_F(OidcTest, AllOidc) {
  // One test so that the server (and its JWKS file) is set up once.
  server_->Start();

  // A new account from an ES256 token.
  Claims fresh;
  fresh.sub = "idp-user-1";
  fresh.email = "olive@example.com";
  {
    auto c = server_->Connect();
    auto ok = c->OidcLogin(ec_->SignJwt("ES256", "ec1", Payload(fresh)), "nonce-1", "sso");
    ASSERT_TRUE(ok.ok()) << ok.error().message << " / " << ok.error().details;
    EXPECT_NE(ok->user_id, 0u);
    EXPECT_EQ(ok->display_name, "Olive Idp");
    EXPECT_EQ(Segments(ok->token), 3u);
    EXPECT_FALSE(ok->refresh_token.empty());
    EXPECT_TRUE(c->ListSessions().ok());
    // The same identity again is the same account.
    auto again = server_->Connect()->OidcLogin(ec_->SignJwt("ES256", "ec1", Payload(fresh)),
                                               "nonce-1");
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(again->user_id, ok->user_id);
  }

  // An existing password account is linked (RS256 this time).
  uint64_t password_user = 0;
  {
    auto c = server_->Connect();
    auto reg = c->Register("pat@example.com", kPassword, "Pat");
    ASSERT_TRUE(reg.ok());
    password_user = reg->user_id;
  }
  Claims link;
  link.sub = "idp-user-2";
  link.email = "pat@example.com";
  {
    auto ok = server_->Connect()->OidcLogin(rsa_->SignJwt("RS256", "rsa1", Payload(link)),
                                            "nonce-1");
    ASSERT_TRUE(ok.ok()) << ok.error().message << " / " << ok.error().details;
    EXPECT_EQ(ok->user_id, password_user);
    EXPECT_TRUE(server_->Connect()->Login("pat@example.com", kPassword).ok());
  }

  auto refused = [&](const std::string& token, const std::string& nonce, const char* what) {
    auto r = server_->Connect()->OidcLogin(token, nonce);
    EXPECT_TRUE(IsError(r, ErrorCode::kInvalidCredentials)) << what;
  };
  Claims base;
  base.sub = "idp-user-3";
  base.email = "quinn@example.com";
  refused(ec_->SignJwt("ES256", "ec1", Payload(base)), "other-nonce", "wrong nonce");
  Claims aud = base;
  aud.aud = "someone-else";
  refused(ec_->SignJwt("ES256", "ec1", Payload(aud)), "nonce-1", "wrong audience");
  Claims expired = base;
  expired.iat = NowS() - 7200;
  expired.exp = NowS() - 3600;
  refused(ec_->SignJwt("ES256", "ec1", Payload(expired)), "nonce-1", "expired");
  refused(stranger_->SignJwt("ES256", "stranger", Payload(base)), "nonce-1", "unknown kid");
  refused(stranger_->SignJwt("ES256", "ec1", Payload(base)), "nonce-1", "key not in JWKS");
  refused(auth::UnsignedJwt(R"({"alg":"none","kid":"ec1","typ":"JWT"})", Payload(base)),
          "nonce-1", "alg none");
  Claims unverified = base;
  unverified.email_verified = "false";
  refused(ec_->SignJwt("ES256", "ec1", Payload(unverified)), "nonce-1", "email not verified");
  // None of the refused tokens created the account.
  EXPECT_TRUE(IsError(server_->Connect()->Login("quinn@example.com", kPassword),
                      ErrorCode::kInvalidCredentials));
}

TEST_F(IdentityTest, OidcWithoutJwksIsUnavailable) {
  auto key = auth::TestKey::EcP256();
  auto r = server_->Connect()->OidcLogin(
      key.SignJwt("ES256", "k", R"({"email":"x@example.com","sub":"1"})"), "n");
  EXPECT_TRUE(IsError(r, ErrorCode::kUnavailable, "oidc"));
}

// --- 8. API keys -------------------------------------------------------------------------------

TEST_F(IdentityTest, ReadOnlyApiKey) {
  const std::string email = Email("bot");
  Registered(*server_, email);
  auto owner = LoggedIn(*server_, email);
  auto ws = owner->CreateWorkspace("Keys");
  ASSERT_TRUE(ws.ok());
  ASSERT_TRUE(owner->Post(ws->general_channel_id, "hello from a human").ok());

  auto created = owner->CreateApiKey("reader", wire::Scope::Read);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->key.rfind("pk_", 0), 0u);
  ASSERT_TRUE(created->info);
  const uint64_t key_id = created->info->id;
  EXPECT_EQ(created->info->scopes, static_cast<uint32_t>(wire::Scope::Read));

  auto keys = owner->ListApiKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].name, "reader");
  EXPECT_FALSE((*keys)[0].revoked);  // ApiKeyInfo has no field for the secret at all

  auto bot = server_->Connect();
  auto login = bot->LoginWithApiKey(created->key);
  ASSERT_TRUE(login.ok()) << login.error().message;
  EXPECT_EQ(login->scopes, static_cast<uint32_t>(wire::Scope::Read));
  EXPECT_TRUE(login->token.empty());
  auto list = bot->ListWorkspaces();
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->size(), 1u);
  auto history = bot->History(ws->general_channel_id);
  ASSERT_TRUE(history.ok()) << history.error().message;
  EXPECT_EQ(history->messages.size(), 1u);
  EXPECT_TRUE(IsError(bot->Post(ws->general_channel_id, "beep"), ErrorCode::kForbidden));
  EXPECT_TRUE(IsError(bot->ListSessions(), ErrorCode::kForbidden));
  EXPECT_TRUE(IsError(bot->CreateApiKey("escalate", wire::Scope::ANY), ErrorCode::kForbidden));

  ASSERT_TRUE(owner->RevokeApiKey(key_id).ok());
  EXPECT_TRUE(EndedWith(*bot, "api_key_revoked"));
  EXPECT_TRUE(IsError(server_->Connect()->LoginWithApiKey(created->key),
                      ErrorCode::kInvalidCredentials));
  keys = owner->ListApiKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_TRUE((*keys)[0].revoked);

  // A wrong secret for a real key id is refused.
  auto other = owner->CreateApiKey("other", wire::Scope::Read);
  ASSERT_TRUE(other.ok());
  std::string bad = other->key;
  bad.back() = bad.back() == 'A' ? 'B' : 'A';
  EXPECT_TRUE(IsError(server_->Connect()->LoginWithApiKey(bad), ErrorCode::kInvalidCredentials));

  EXPECT_TRUE(IsError(owner->CreateApiKey("stale", wire::Scope::Read, NowMs() - 1000),
                      ErrorCode::kInvalidArgument));
}

// --- 9. lockout (recovery after 15 minutes is covered by core/identity_test.cc with a manual
// clock; a real server would need a 15-minute wait) ---------------------------------------------

TEST_F(IdentityTest, FiveFailuresLockTheAccount) {
  const std::string email = Email("lock");
  Registered(*server_, email);
  auto c = server_->Connect();
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(IsError(c->Login(email, "wrong password " + std::to_string(i)),
                        ErrorCode::kInvalidCredentials))
        << "attempt " << i + 1;
  }
  auto locked = c->Login(email, kPassword);
  ASSERT_TRUE(IsError(locked, ErrorCode::kAccountLocked));
  EXPECT_GT(locked.error().retry_after_ms, 0u);
  EXPECT_LE(locked.error().retry_after_ms, 15u * 60 * 1000);
  // Still locked on another connection.
  EXPECT_TRUE(IsError(server_->Connect()->Login(email, kPassword), ErrorCode::kAccountLocked));

  const std::string ghost = Email("ghost");
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(IsError(c->Login(ghost, "wrong password " + std::to_string(i)),
                        ErrorCode::kInvalidCredentials))
        << "attempt " << i + 1;
  }
  auto ghost_locked = c->Login(ghost, kPassword);
  ASSERT_TRUE(IsError(ghost_locked, ErrorCode::kAccountLocked));
  EXPECT_GT(ghost_locked.error().retry_after_ms, 0u);
  EXPECT_EQ(ghost_locked.error().message, locked.error().message);
}

// --- 10. rate limits ---------------------------------------------------------------------------

TEST(IdentityRateLimitTest, PerConnection) {
  TestServer server({.extra_flags = {"--rate_per_connection=5", "--burst_per_connection=5"}});
  server.Start();
  auto c = server.Connect();
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(c->Ping().ok()) << "ping " << i + 1;
  Status limited = OkStatus();
  for (int i = 0; i < 5 && limited.ok(); ++i) limited = c->Ping();
  ASSERT_TRUE(IsError(limited, ErrorCode::kRateLimited));
  EXPECT_GT(limited.error().retry_after_ms, 0u);
  EXPECT_LE(limited.error().retry_after_ms, 1000u);
  // Another connection has its own bucket.
  EXPECT_TRUE(server.Connect()->Ping().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(limited.error().retry_after_ms + 20));
  EXPECT_TRUE(c->Ping().ok());
}

// A connection accepted by shard `shard` (connections are spread over the shards by the kernel).
std::unique_ptr<wire::Client> ConnectOnShard(const TestServer& server, uint16_t shard) {
  for (int i = 0; i < 200; ++i) {
    auto c = server.Connect();
    if (c->welcome().shard == shard) return c;
  }
  ADD_FAILURE() << "no connection landed on shard " << shard;
  return server.Connect();
}

// Each of the 2 shards holds half the address's budget (burst 4 -> 2 each): one shard refuses
// the 3rd attempt, and however the connections spread, the address gets at most 4 in total.
TEST(IdentityRateLimitTest, SignInPerAddress) {
  TestServer server(
      {.extra_flags = {"--rate_signin_per_address=1", "--burst_signin_per_address=4"}});
  server.Start();
  const std::string email = "nobody@example.com";
  EXPECT_TRUE(IsError(ConnectOnShard(server, 0)->Login(email, "wrong password 1"),
                      ErrorCode::kInvalidCredentials));
  EXPECT_TRUE(IsError(ConnectOnShard(server, 0)->Login(email, "wrong password 2"),
                      ErrorCode::kInvalidCredentials));
  auto third = ConnectOnShard(server, 0)->Login(email, "wrong password 3");
  ASSERT_TRUE(IsError(third, ErrorCode::kRateLimited));
  EXPECT_GT(third.error().retry_after_ms, 0u);
  // Pings are not sign-ins: not limited per address.
  EXPECT_TRUE(ConnectOnShard(server, 0)->Ping().ok());
}

// Resuming with an access token guesses nothing a person chose: scripts that sign in once per
// command (the CLI) are not held to the per-address limit.
TEST(IdentityRateLimitTest, TokenResumesAreNotLimitedPerAddress) {
  TestServer server(
      {.extra_flags = {"--rate_signin_per_address=1", "--burst_signin_per_address=4"}});
  server.Start();
  wire::LoginOkT login;
  server.SignedIn("resume@example.com", &login);
  for (int i = 0; i < 12; ++i) {
    auto resumed = server.Connect()->LoginWithToken(login.token);
    ASSERT_TRUE(resumed.ok()) << i << ": " << resumed.error().message;
  }
  // Password attempts from the same address still pay (the budget of 4 is spread over shards).
  bool limited = false;
  for (int i = 0; i < 8 && !limited; ++i) {
    limited = IsError(server.Connect()->Login("resume@example.com", "wrong password"),
                      ErrorCode::kRateLimited);
  }
  EXPECT_TRUE(limited);
}

TEST(IdentityRateLimitTest, SignInPerAddressAcrossShards) {
  TestServer server(
      {.extra_flags = {"--rate_signin_per_address=1", "--burst_signin_per_address=4"}});
  server.Start();
  const std::string email = "nobody@example.com";
  for (int shard : {0, 0, 1, 1}) {
    EXPECT_TRUE(IsError(ConnectOnShard(server, shard)->Login(email, "wrong password"),
                        ErrorCode::kInvalidCredentials));
  }
  for (int shard : {0, 1}) {
    EXPECT_TRUE(IsError(ConnectOnShard(server, shard)->Login(email, "wrong password"),
                        ErrorCode::kRateLimited));
  }
}

// --- 11. password change -----------------------------------------------------------------------

TEST_F(IdentityTest, ChangePassword) {
  const std::string email = Email("chpw");
  Registered(*server_, email);
  wire::LoginOkT la, lb;
  auto a = LoggedIn(*server_, email, &la, "a");
  auto b = LoggedIn(*server_, email, &lb, "b");
  const std::string next = "a brand new passphrase";
  EXPECT_TRUE(IsError(a->ChangePassword("not my password", next), ErrorCode::kInvalidCredentials));
  EXPECT_TRUE(IsError(a->ChangePassword(kPassword, "short"), ErrorCode::kInvalidArgument,
                      "password"));
  ASSERT_TRUE(a->ChangePassword(kPassword, next).ok());
  EXPECT_TRUE(EndedWith(*b, "session_revoked"));
  EXPECT_FALSE(server_->Connect()->Refresh(lb.refresh_token).ok());
  EXPECT_TRUE(a->ListSessions().ok());  // this connection's session lives on
  EXPECT_TRUE(
      IsError(server_->Connect()->Login(email, kPassword), ErrorCode::kInvalidCredentials));
  EXPECT_TRUE(server_->Connect()->Login(email, next).ok());
}

}  // namespace
}  // namespace parley::testing
