// The pre-seeded shard state the request fuzzer runs against and the seed generator writes
// requests for: core/replay_scenario.h's history (every event kind), so that requests meet real
// workspaces, channels, messages, threads and members.
#pragma once

#include <array>
#include <vector>

#include "core/replay_scenario.h"

namespace parley::fuzz {

struct SeededShard : ReplayScenario {
  SeededShard() {
    RunScenario();
    RunIdentityAndAdminScenario();
  }
  const WorkspaceCreated& workspace() const { return std::get<WorkspaceCreated>(log_[1]); }
  UserId registered() const { return std::get<UserRegistered>(log_.front()).user_id; }
  // Who sends a request: chosen by its request_id, so that the fuzzer varies the actor too.
  std::array<UserId, 4> actors() const { return {kAlice, kBob, 1003, registered()}; }
};

}  // namespace parley::fuzz
