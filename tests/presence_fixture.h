// Test-only: people on distinct shards and event waits, shared by presence_test.cc and
// receipts_test.cc (three-shard parleyd).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/ids.h"
#include "tests/test_server.h"

namespace parley::testing {

inline constexpr uint32_t kPresenceShards = 3;

struct Person {
  std::unique_ptr<wire::Client> client;
  uint64_t id = 0;
  std::string email;
};

inline std::string TestEmail(const std::string& who) {
  return who + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
         "@example.com";
}

// A user whose shard is none of `avoid`, signed in on a connection whose shard is not
// `avoid_connection` (the kernel spreads connections).
inline Person PersonAwayFrom(TestServer& server, const std::string& who,
                             const std::set<uint32_t>& avoid, uint32_t avoid_connection) {
  for (int i = 0; i < 64; ++i) {
    std::string email = TestEmail(who + std::to_string(i));
    wire::LoginOkT login;
    auto c = server.SignedIn(email, &login);
    if (avoid.count(OwnerShard(login.user_id, kPresenceShards))) continue;
    for (int k = 0; k < 32 && c->welcome().shard == avoid_connection; ++k) {
      c = server.SignedIn(email, &login);
    }
    return Person{std::move(c), login.user_id, email};
  }
  ADD_FAILURE() << "no user away from the given shards";
  return {};
}

// Another signed-in connection (a new session) of the same person.
inline std::unique_ptr<wire::Client> SecondSession(TestServer& server, const Person& p) {
  return server.SignedIn(p.email);
}

// The next event of `c` that `match` accepts, skipping others; nullopt after 15 s.
inline std::optional<wire::FrameT> NextMatching(wire::Client& c,
                                                const std::function<bool(wire::FrameT&)>& match,
                                                int timeout_ms = 15000) {
  for (;;) {
    auto e = c.NextEvent(timeout_ms);
    if (!e.ok()) return std::nullopt;
    if (match(*e)) return std::move(*e);
  }
}

// The next PresenceChanged about `user` that `match` accepts.
inline std::optional<wire::PresenceInfoT> NextPresence(
    wire::Client& c, uint64_t user,
    const std::function<bool(const wire::PresenceInfoT&)>& match = [](const wire::PresenceInfoT&) {
      return true;
    }) {
  auto e = NextMatching(c, [&](wire::FrameT& f) {
    auto* changed = f.body.AsPresenceChanged();
    return changed != nullptr && changed->presence->user_id == user && match(*changed->presence);
  });
  if (!e) return std::nullopt;
  return *e->body.AsPresenceChanged()->presence;
}

}  // namespace parley::testing
