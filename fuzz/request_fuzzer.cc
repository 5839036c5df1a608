// The whole request path of an owner shard, without sockets: split the input into frames, verify
// each, turn it into its core Command as the shard does (shard/command_of.h), Decide it against
// the seeded state and, when it yields an event, Apply it and encode it for the log, as
// Shard::Execute does. After the input, the log so far must replay, through the codec, into a
// state equal to the live one: what a restart would rebuild.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/decide.h"
#include "fuzz/fuzz_state.h"
#include "persist/codec.h"
#include "shard/command_of.h"
#include "wire/frame.h"

namespace {

using namespace parley;

const fuzz::SeededShard& Seeded() {
  static const fuzz::SeededShard* seeded = new fuzz::SeededShard();
  return *seeded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::SeededShard& seeded = Seeded();
  ShardState state = ReplayScenario::Replay(seeded.log_);
  IdMinter ids = seeded.ids_;
  Context ctx = seeded.ctx_;
  ctx.ids = &ids;
  std::vector<std::string> appended;  // the log records this input added

  std::span<const uint8_t> stream(data, size);
  while (!stream.empty()) {
    wire::Split split = wire::NextFrame(stream, wire::kDefaultMaxFrameBytes);
    if (split.status != wire::SplitStatus::kFrame) break;
    auto payload = std::make_unique<uint64_t[]>(split.payload_bytes / 8 + 1);
    std::memcpy(payload.get(), stream.data() + wire::kLengthPrefixBytes, split.payload_bytes);
    stream = stream.subspan(wire::kLengthPrefixBytes + split.payload_bytes);
    Result<const wire::Frame*> frame =
        wire::VerifyFrame({reinterpret_cast<const uint8_t*>(payload.get()), split.payload_bytes});
    if (!frame.ok()) continue;
    UserId actor = seeded.actors()[(*frame)->request_id() % seeded.actors().size()];
    std::optional<Command> command = shard::CommandOf(actor, **frame);
    if (!command) continue;
    Result<std::optional<Event>> decided = Decide(state, *command, ctx);
    ctx.now += 1000;  // requests a second apart: edit windows and expiries move
    if (!decided.ok() || !*decided) continue;
    state.Apply(**decided);
    appended.push_back(persist::EncodeEvent(**decided));
  }

  if (appended.empty()) return 0;
  ShardState replayed = ReplayScenario::Replay(seeded.log_);
  for (const std::string& record : appended) {
    Result<Event> event = persist::DecodeEvent(record);
    if (!event.ok()) abort();  // the log holds a record no build can read back
    replayed.Apply(*event);
  }
  if (!(replayed == state)) abort();  // a restart would rebuild a different state
  return 0;
}
