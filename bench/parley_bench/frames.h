// Reading parley frames from a byte stream on the load generator's hot paths.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "wire/frame.h"

namespace parley::bench {

// Frames at the head of a byte buffer, verified; misaligned payloads are copied first so that
// FlatBuffers reads are aligned (kPayloadAlignment).
class FrameReader {
 public:
  // Returns the next frame, nullptr when more bytes are needed; *broken on bad framing.
  const wire::Frame* Next(std::string_view in, size_t* used, bool* broken) {
    auto bytes = std::span(reinterpret_cast<const uint8_t*>(in.data()), in.size());
    wire::Split split = wire::NextFrame(bytes, wire::kDefaultMaxFrameBytes);
    if (split.status == wire::SplitStatus::kNeedMore) return nullptr;
    if (split.status != wire::SplitStatus::kFrame) {
      *broken = true;
      return nullptr;
    }
    auto payload = bytes.subspan(wire::kLengthPrefixBytes, split.payload_bytes);
    if (reinterpret_cast<uintptr_t>(payload.data()) % wire::kPayloadAlignment != 0) {
      aligned_.resize(payload.size() / 8 + 1);
      std::memcpy(aligned_.data(), payload.data(), payload.size());
      payload = std::span(reinterpret_cast<const uint8_t*>(aligned_.data()), payload.size());
    }
    Result<const wire::Frame*> frame = wire::VerifyFrame(payload);
    if (!frame.ok()) {
      *broken = true;
      return nullptr;
    }
    *used = wire::kLengthPrefixBytes + split.payload_bytes;
    return *frame;
  }

 private:
  std::vector<uint64_t> aligned_;
};

}  // namespace parley::bench
