// The log's event codec: each event is one msgpack array [tag, schema_version, fields...]. The
// storage format evolves separately from the wire format; docs/log_format.md is its spec.
// Pure functions, any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/events.h"

namespace parley::persist {

inline constexpr uint16_t kEventSchemaVersion = 1;

// The most elements any msgpack array in a record may hold: the record itself and each list
// field (MfaEnabled::recovery_hashes, InviteCreated::channel_ids). The decoder refuses longer
// arrays before allocating for them. core caps its lists well below this (core/decide.h:
// kRecoveryCodeCount = 10, kMaxInviteChannels = 32; codec_test checks that they fit).
inline constexpr size_t kMaxListElements = 64;

// REQUIRES: every list field of `event` holds at most kMaxListElements values. A longer list
// would make a record that no build can decode (and so stop every later replay of its shard):
// EncodeEvent aborts the process instead, in every build type, naming the field. Never fails
// otherwise.
std::string EncodeEvent(const Event& event);

// kInternal with details naming the problem ("truncated", "unknown tag 99", "field 3 type")
// for bytes that are not an event this build understands. Never throws.
Result<Event> DecodeEvent(std::string_view bytes);

// The same, decoding into `event` (unspecified after an error). For replay's loop: one Event
// reused for every record, instead of a new one moved out of each Result.
Status DecodeEventInto(std::string_view bytes, Event& event);

// The same decoder through msgpack-c's object unpacker only. DecodeEvent reads records straight
// from their bytes and falls back to this for any it does not take (so it names every problem
// the same way); tests check that the two agree. Slower: use DecodeEvent.
Result<Event> DecodeEventWithUnpacker(std::string_view bytes);

// An event laid out for people and tools (parley-log): its kind, its time, every numeric field
// by name, and the whole event as one JSON object with the field names of docs/log_format.md.
// Byte fields (password hashes and salts, token digests, recovery codes) appear only as their
// length, so a dump never shows a credential's material.
struct EventView {
  EventTag tag{};
  std::string_view kind;  // "MessagePosted"
  TimeMs at = 0;          // the event's `at` field; 0 if it has none
  // Every uint field, and each element of a uint list under the list's name, in field order.
  std::vector<std::pair<std::string_view, uint64_t>> numbers;
  std::string json;  // {"kind":"MessagePosted","channel_id":12,...,"at":1764...}
};

EventView DescribeEvent(const Event& event);

}  // namespace parley::persist
