#include "wire/frame.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <string>
#include <utility>

#include "flatbuffers/flatbuffers.h"

namespace parley::wire {
namespace {

uint32_t ReadLittleEndian32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

void WriteLittleEndian32(uint32_t v, uint8_t* p) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

// FLATBUFFERS_MIN_BUFFER_SIZE names its types unqualified: root offset, vtable offset, and the
// two vtable header fields. Nothing shorter can hold a table.
constexpr size_t kMinPayloadBytes =
    sizeof(flatbuffers::uoffset_t) + sizeof(flatbuffers::soffset_t) + 2 * sizeof(uint16_t);

parley::Error Malformed(std::string message, std::string details) {
  return MakeError(ErrorCode::kMalformedFrame, std::move(message), std::move(details));
}

// A union member the schema knows for the type tag; anything else (NONE, or a member added by a
// newer peer) has no accessor here and must not reach a handler.
bool IsKnownBody(Body type) {
  return type != Body::NONE && static_cast<uint8_t>(type) <= static_cast<uint8_t>(Body::MAX);
}

// The verifier accepts a set type tag with an absent body (the union table is optional), but every
// handler reads body_as_X() and expects a table; reject it here so nobody needs a null check.
Result<const Frame*> CheckBody(const Frame* frame) {
  const Body type = frame->body_type();
  if (!IsKnownBody(type)) {
    return Malformed(type == Body::NONE ? "frame has no body" : "unknown body type",
                     "unknown body type " + std::to_string(static_cast<unsigned>(type)));
  }
  if (frame->body() == nullptr) {
    return Malformed("frame body is missing",
                     "missing body for type " + std::string(EnumNameBody(type)));
  }
  return frame;
}

}  // namespace

Split NextFrame(std::span<const uint8_t> buf, uint32_t max_frame_bytes) {
  if (buf.size() < kLengthPrefixBytes) return Split{SplitStatus::kNeedMore, 0};
  const uint32_t length = ReadLittleEndian32(buf.data());
  // Decided on the header alone: a peer announcing a huge frame is cut off before we buffer it.
  if (length == 0) return Split{SplitStatus::kEmpty, 0};
  if (length > max_frame_bytes) return Split{SplitStatus::kTooLarge, length};
  if (buf.size() - kLengthPrefixBytes < length) return Split{SplitStatus::kNeedMore, length};
  return Split{SplitStatus::kFrame, length};
}

Result<const Frame*> VerifyFrame(std::span<const uint8_t> payload) {
  if (payload.size() < kMinPayloadBytes) {
    return Malformed("frame too short", "payload of " + std::to_string(payload.size()) + " bytes");
  }
  // The verifier asserts on buffers of 2 GiB and more; say no politely instead.
  if (payload.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return Malformed("frame too large to verify", std::to_string(payload.size()));
  }
  flatbuffers::Verifier::Options opts;
  opts.max_depth = kMaxVerifierDepth;
  opts.max_tables = kMaxVerifierTables;
  // Alignment is checked relative to the payload start, not as absolute addresses, so a payload
  // at any offset of a receive buffer verifies; only a buffer that was built misaligned fails.
  opts.check_alignment = true;
  flatbuffers::Verifier verifier(payload.data(), payload.size(), opts);
  if (!VerifyFrameBuffer(verifier)) {
    return Malformed("frame failed verification", "flatbuffers verifier rejected the payload");
  }
  return CheckBody(GetFrame(payload.data()));
}

Bytes FinishFrame(flatbuffers::FlatBufferBuilder& fbb, uint64_t request_id, Body type,
                  flatbuffers::Offset<void> body) {
  FrameBuilder frame(fbb);
  frame.add_request_id(request_id);
  frame.add_body_type(type);
  frame.add_body(body);
  // Not FinishSizePrefixed: that aligns offsets relative to the prefix, so the bare payload the
  // receiver verifies would be misaligned. We prefix by hand; the payload's own alignment holds.
  fbb.Finish(frame.Finish());
  const uint32_t size = fbb.GetSize();
  Bytes out(kLengthPrefixBytes + size);
  WriteLittleEndian32(size, out.data());
  std::copy_n(fbb.GetBufferPointer(), size, out.data() + kLengthPrefixBytes);
  return out;
}

namespace {

template <class T>
T ReadUnaligned(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(value));
  return flatbuffers::EndianScalar(value);
}

// Where a trusted frame's request id sits in it, or npos when the field is absent (0).
// FlatBuffers layout: the root offset, then the table, which starts with the signed offset back
// to its vtable; the vtable holds each field's offset inside the table (0: absent).
size_t RequestIdOffset(const Bytes& frame) {
  const uint8_t* payload = frame.data() + kLengthPrefixBytes;
  const uint8_t* table = payload + ReadUnaligned<flatbuffers::uoffset_t>(payload);
  const uint8_t* vtable = table - ReadUnaligned<flatbuffers::soffset_t>(table);
  const auto vtable_bytes = ReadUnaligned<flatbuffers::voffset_t>(vtable);
  if (Frame::VT_REQUEST_ID >= vtable_bytes) return std::string::npos;
  const auto field = ReadUnaligned<flatbuffers::voffset_t>(vtable + Frame::VT_REQUEST_ID);
  if (field == 0) return std::string::npos;
  return static_cast<size_t>(table + field - frame.data());
}

}  // namespace

uint64_t RequestIdOf(const Bytes& frame) {
  const size_t at = RequestIdOffset(frame);
  return at == std::string::npos ? 0 : ReadUnaligned<uint64_t>(frame.data() + at);
}

Bytes WithRequestId(const Bytes& frame, uint64_t request_id) {
  const size_t at = RequestIdOffset(frame);
  assert(at != std::string::npos && "built with a request id of 0: the field is absent");
  Bytes out = frame;
  const uint64_t little = flatbuffers::EndianScalar(request_id);
  std::memcpy(out.data() + at, &little, sizeof(little));
  return out;
}

Bytes EncodeFrame(uint64_t request_id, const BodyUnion& body) {
  flatbuffers::FlatBufferBuilder fbb;
  const flatbuffers::Offset<void> packed = body.Pack(fbb);
  return FinishFrame(fbb, request_id, body.type, packed);
}

Bytes EncodeError(uint64_t request_id, const parley::Error& error) {
  flatbuffers::FlatBufferBuilder fbb;
  const auto message = fbb.CreateString(error.message);
  const auto details = fbb.CreateString(error.details);
  const auto body =
      CreateError(fbb, static_cast<uint16_t>(error.code), message, details, error.retry_after_ms);
  return FinishFrame(fbb, request_id, Body::Error, body.Union());
}

parley::Error ToError(const wire::Error* error) {
  if (error == nullptr) return MakeError(ErrorCode::kInternal, "error frame without a body");
  // Codes this build does not know (from a newer server) keep their number: they are stable.
  parley::Error e = MakeError(static_cast<ErrorCode>(error->code()),
                              error->message() ? error->message()->str() : std::string(),
                              error->details() ? error->details()->str() : std::string());
  e.retry_after_ms = error->retry_after_ms();
  return e;
}

}  // namespace parley::wire
