// The log's event codec on arbitrary bytes (a damaged or hostile data file). Whatever decodes
// must re-encode, and that record must decode to the same event: same kind, the same encoding
// again and the same description (every field by name). The fast decoder and the msgpack-c
// unpacker must agree on every input.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "persist/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Result<Event> fast = persist::DecodeEvent(bytes);
  Result<Event> reference = persist::DecodeEventWithUnpacker(bytes);
  if (fast.ok() != reference.ok()) abort();
  if (!fast.ok()) {
    if (fast.error().details != reference.error().details) abort();
    return 0;
  }
  const std::string encoded = persist::EncodeEvent(*fast);
  if (persist::EncodeEvent(*reference) != encoded) abort();
  Result<Event> again = persist::DecodeEvent(encoded);
  if (!again.ok() || again->index() != fast->index()) abort();
  if (persist::EncodeEvent(*again) != encoded) abort();
  if (persist::DescribeEvent(*again).json != persist::DescribeEvent(*fast).json) abort();
  return 0;
}
