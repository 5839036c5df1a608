// Framing and verification. A frame on the stream is a 4-byte little-endian payload length N
// followed by N bytes holding one FlatBuffers `Frame` (parley.fbs). Nothing reads a payload before
// VerifyFrame() has accepted it. Pure functions: safe on any thread, never block.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "parley_generated.h"

namespace parley::wire {

inline constexpr uint16_t kMinProtocolVersion = 1;
inline constexpr uint16_t kMaxProtocolVersion = 1;
inline constexpr uint32_t kDefaultMaxFrameBytes = 1u << 20;
inline constexpr size_t kLengthPrefixBytes = 4;
inline constexpr uint32_t kMaxVerifierDepth = 64;
inline constexpr uint32_t kMaxVerifierTables = 100000;

// An encoded frame, length prefix included, ready to write to a socket. Shared (read-only) across
// shards for fan-out: encoded once, written by every shard that has subscribers.
using Bytes = std::vector<uint8_t>;
using SharedBytes = std::shared_ptr<const Bytes>;

enum class SplitStatus { kFrame, kNeedMore, kTooLarge, kEmpty };

struct Split {
  SplitStatus status = SplitStatus::kNeedMore;
  uint32_t payload_bytes = 0;  // with kFrame: the payload is buf[4, 4 + payload_bytes)
};

// Looks at the head of `buf`. kTooLarge when the declared length exceeds max_frame_bytes;
// kEmpty for a declared length of 0 (never valid). Both mean broken framing: close the stream.
Split NextFrame(std::span<const uint8_t> buf, uint32_t max_frame_bytes);

// Largest scalar alignment in the schema. The verifier checks alignment relative to the payload's
// first byte, but both it and the accessors dereference pointers that are aligned only when that
// byte's address is a multiple of this: misaligned, that is undefined behaviour (UBSan reports it;
// x86-64 and ARMv8 happen to tolerate it). Receivers copy a misaligned payload into aligned
// storage before VerifyFrame, as the shard and the Client do.
inline constexpr size_t kPayloadAlignment = 8;

// Runs the FlatBuffers verifier (depth and table limits above) over a payload and checks the
// body is a known union member. Error code kMalformedFrame with a reason in details. On success
// body() is non-null and body_type() is a known member, so body_as_X() needs no further checks.
// The returned pointer points into `payload` and lives as long as it does.
Result<const Frame*> VerifyFrame(std::span<const uint8_t> payload);

// Finishes `fbb` with a Frame{request_id, body} and returns it with its length prefix.
Bytes FinishFrame(flatbuffers::FlatBufferBuilder& fbb, uint64_t request_id, Body type,
                  flatbuffers::Offset<void> body);

// The request id of a frame FinishFrame built (a trusted one: nothing is checked), read without
// assuming the payload is aligned (it sits after the 4-byte prefix).
uint64_t RequestIdOf(const Bytes& frame);

// A copy of `frame` (built by FinishFrame with a non-zero request id, so that the field is
// present) answering `request_id` instead: one encoded answer shared by many requests.
Bytes WithRequestId(const Bytes& frame, uint64_t request_id);

// Packs an object-API body (FrameT-style union) into a prefixed frame.
Bytes EncodeFrame(uint64_t request_id, const BodyUnion& body);

// An object-API body as the union that EncodeFrame and Client::Call take: MakeBody(PingT{...}).
template <class T>
BodyUnion MakeBody(T value) {
  BodyUnion body;
  body.Set(std::move(value));
  return body;
}

Bytes EncodeError(uint64_t request_id, const parley::Error& error);

// Converts an Error body back into a domain error.
parley::Error ToError(const wire::Error* error);

}  // namespace parley::wire
