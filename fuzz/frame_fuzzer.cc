// Frame decoding as a session reads its socket: split the stream into frames (wire::NextFrame),
// verify each payload (wire::VerifyFrame), then read it whole. Whatever verifies must unpack into
// the object API and re-encode to a frame that verifies again with the same body kind.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

#include "wire/frame.h"

namespace {

void CheckFrame(std::span<const uint8_t> payload) {
  parley::Result<const parley::wire::Frame*> frame = parley::wire::VerifyFrame(payload);
  if (!frame.ok()) return;
  const parley::wire::Frame* f = *frame;
  if (f->body_type() == parley::wire::Body::Error) {
    (void)parley::wire::ToError(f->body_as_Error());
  }
  parley::wire::FrameT object;
  f->UnPackTo(&object);
  parley::wire::Bytes again = parley::wire::EncodeFrame(object.request_id, object.body);
  std::span<const uint8_t> again_payload(again.data() + parley::wire::kLengthPrefixBytes,
                                         again.size() - parley::wire::kLengthPrefixBytes);
  parley::Result<const parley::wire::Frame*> reverified = parley::wire::VerifyFrame(again_payload);
  if (!reverified.ok() || (*reverified)->body_type() != f->body_type() ||
      (*reverified)->request_id() != f->request_id()) {
    abort();  // a verified frame that does not survive its own round trip
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> stream(data, size);
  while (!stream.empty()) {
    parley::wire::Split split =
        parley::wire::NextFrame(stream, parley::wire::kDefaultMaxFrameBytes);
    if (split.status != parley::wire::SplitStatus::kFrame) break;
    // The session copies each payload into storage of its own, aligned as the schema needs.
    auto payload = std::make_unique<uint64_t[]>(split.payload_bytes / 8 + 1);
    std::memcpy(payload.get(), stream.data() + parley::wire::kLengthPrefixBytes,
                split.payload_bytes);
    CheckFrame({reinterpret_cast<const uint8_t*>(payload.get()), split.payload_bytes});
    stream = stream.subspan(parley::wire::kLengthPrefixBytes + split.payload_bytes);
  }
  return 0;
}
