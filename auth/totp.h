// Second factor: time-based one-time passwords (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits, the
// parameters every authenticator app supports) and single-use recovery codes.
//
// Secrets are raw bytes (20 random bytes is the norm); they appear in base32 only inside the
// otpauth:// URI shown as a QR code. Recovery codes are stored as Sha256(NormaliseRecoveryCode(c)).
//
// Thread contract: pure functions of their arguments (NewRecoveryCodes reads the CSPRNG), callable
// from any thread concurrently, cheap, never read a clock, never throw. Replay protection is the
// caller's: store the step MatchTotp returns and refuse a step at or below it next time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"

namespace parley::auth {

inline constexpr int kTotpDigits = 6;
inline constexpr int64_t kTotpPeriodS = 30;

// The RFC 6238 time step containing `now`: floor(now / 1000 / 30). Negative times give 0.
uint64_t TotpStep(TimeMs now);

// The HOTP value (RFC 4226) of `secret` at counter `step`: HMAC-SHA1, dynamic truncation,
// modulo 10^digits, zero-padded to `digits` characters. `digits` is clamped to 1..10.
std::string TotpCode(std::string_view secret, uint64_t step, int digits = kTotpDigits);

// The step (one of TotpStep(now) - 1, TotpStep(now), TotpStep(now) + 1) whose 6-digit code equals
// `code`, or nullopt. Spaces in `code` are ignored; anything else but exactly 6 ASCII digits, or
// an empty secret, gives nullopt. Each candidate is compared in constant time.
std::optional<uint64_t> MatchTotp(std::string_view secret, std::string_view code, TimeMs now);

// The key URI authenticator apps read from a QR code:
//   otpauth://totp/<issuer>:<account>?secret=<BASE32>&issuer=<issuer>
//       &algorithm=SHA1&digits=6&period=30
// (one line) with issuer and account percent-encoded (RFC 3986 unreserved characters kept).
std::string OtpauthUri(std::string_view issuer, std::string_view account, std::string_view secret);

// `n` fresh, distinct recovery codes like "abcd-efgh-ijkl": 12 random characters (60 bits) from a
// 32-letter lower-case alphabet without the look-alikes 'l', 'o', '0' and '1'.
std::vector<std::string> NewRecoveryCodes(size_t n = 10);

// The canonical form of a recovery code as typed: lower case, '-' and ' ' removed. Store and look
// up Sha256(NormaliseRecoveryCode(code)).
std::string NormaliseRecoveryCode(std::string_view code);

}  // namespace parley::auth
