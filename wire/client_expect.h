// Internal to wire/client*.cc: how the typed client calls take the answer out of a frame.
#pragma once

#include <string>
#include <utility>

#include "wire/client.h"

namespace parley::wire::internal {

inline std::string BodyName(Body type) {
  const char* name = EnumNameBody(type);
  return *name ? name : std::to_string(static_cast<unsigned>(type));
}

// Takes the answer's body out of `frame` if it is a T: the typed calls' one check.
template <class T>
Result<T> Expect(Result<FrameT> frame) {
  if (!frame.ok()) return frame.error();
  BodyUnion& body = frame->body;
  if (body.type != BodyUnionTraits<T>::enum_value || body.value == nullptr) {
    return MakeError(ErrorCode::kBadRequest, "unexpected response " + BodyName(body.type));
  }
  return std::move(*static_cast<T*>(body.value));
}

inline Status ExpectOk(Result<FrameT> frame) {
  Result<OkT> ok = Expect<OkT>(std::move(frame));
  if (!ok.ok()) return ok.error();
  return OkStatus();
}

}  // namespace parley::wire::internal
