// Test-only: a three-shard parleyd and people placed on chosen shards, so that requests and
// events cross shards; shared by the whole-server tests of features that span shards.
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

// Enough for a user, their connection and a workspace each to be on a shard of their own.
inline constexpr uint32_t kShards = 3;

// `flags` come after the test defaults, so they win.
inline TestServerOptions ThreeShards(std::vector<std::string> flags = {}) {
  TestServerOptions options;
  options.shards = kShards;
  options.extra_flags = std::move(flags);
  return options;
}

// A user and the connection the test speaks for them through (`->` reaches the client).
struct Person {
  std::unique_ptr<wire::Client> client;
  uint64_t id = 0;
  std::string email;
  wire::Client* operator->() const { return client.get(); }
};

// `who` signed in as Email(who), on whichever connection the kernel gives.
inline Person SignIn(const TestServer& server, const std::string& who) {
  Person p;
  p.email = Email(who);
  wire::LoginOkT login;
  p.client = server.SignedIn(p.email, &login);
  p.id = login.user_id;
  return p;
}

// A new workspace of `owner`'s that anyone may join, on the shard of the owner's connection;
// a failure and an info with id 0 if it could not be made.
inline wire::WorkspaceInfoT OpenNewWorkspace(Person& owner, const std::string& name) {
  auto ws = owner->CreateWorkspace(name);
  if (!ws.ok()) {
    ADD_FAILURE() << "CreateWorkspace: " << ws.error().message;
    return {};
  }
  OpenWorkspace(*owner.client, ws->id);
  return std::move(*ws);
}

// A user whose id no shard in `avoid` owns, signed in on a connection that `avoid_connection`
// does not serve (kShards: any). The kernel spreads connections, so we sign in again until one
// lands elsewhere, and take the next user if none does: the guarantee holds or the test fails.
inline Person AwayFrom(const TestServer& server, const std::string& who,
                       const std::set<uint32_t>& avoid, uint32_t avoid_connection = kShards) {
  for (int i = 0; i < 64; ++i) {
    std::string email = Email(who + std::to_string(i));
    wire::LoginOkT login;
    auto c = server.SignedIn(email, &login);
    if (avoid.count(OwnerShard(login.user_id, kShards))) continue;
    for (int k = 0; k < 32 && c->welcome().shard == avoid_connection; ++k) {
      c = server.SignedIn(email, &login);
    }
    if (c->welcome().shard == avoid_connection) continue;
    return Person{std::move(c), login.user_id, email};
  }
  ADD_FAILURE() << "no user away from the given shards";
  return {};
}

// A user whose id `shard` owns, on any connection.
inline Person UserOnShard(const TestServer& server, const std::string& who, uint32_t shard) {
  std::set<uint32_t> others;
  for (uint32_t s = 0; s < kShards; ++s) {
    if (s != shard) others.insert(s);
  }
  return AwayFrom(server, who, others);
}

// Another signed-in connection (a new session) of the same person.
inline std::unique_ptr<wire::Client> SecondSession(const TestServer& server, const Person& p) {
  return server.SignedIn(p.email);
}

// The next event of `c` that `match` accepts, skipping others; nullopt after `timeout_ms`
// without an event.
inline std::optional<wire::FrameT> NextMatching(wire::Client& c,
                                                const std::function<bool(wire::FrameT&)>& match,
                                                int timeout_ms = 10000) {
  for (;;) {
    auto e = c.NextEvent(timeout_ms);
    if (!e.ok()) return std::nullopt;
    if (match(*e)) return std::move(*e);
  }
}

// The next PresenceChanged about `user` that `match` accepts; nullopt after 15 s without an
// event.
inline std::optional<wire::PresenceInfoT> NextPresence(
    wire::Client& c, uint64_t user,
    const std::function<bool(const wire::PresenceInfoT&)>& match = [](const wire::PresenceInfoT&) {
      return true;
    }) {
  auto e = NextMatching(
      c,
      [&](wire::FrameT& f) {
        auto* changed = f.body.AsPresenceChanged();
        return changed != nullptr && changed->presence->user_id == user &&
               match(*changed->presence);
      },
      15000);
  if (!e) return std::nullopt;
  return *e->body.AsPresenceChanged()->presence;
}

// A suite whose tests share one three-shard parleyd, started before its first test and killed
// after its last; tests keep apart by their per-test Email addresses. Tests that restart the
// server start one of their own.
class MultiShardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer(ThreeShards());
    server_->Start();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static inline TestServer* server_ = nullptr;
};

}  // namespace parley::testing
