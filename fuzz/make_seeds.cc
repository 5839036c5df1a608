// Writes the fuzzers' seed corpora, built from what parley really sends and stores rather than
// committed as blobs: make_seeds <dir> fills <dir>/{frame,request,codec,jwt}.
//   frame:   a frame of every body kind (empty tables), every request below, an Error frame
//   request: one request of each kind shard::CommandOf takes, with the seeded state's real ids,
//            and all of them in one stream (a session's conversation)
//   codec:   every event kind of core/replay_scenario.h, encoded as the log stores it
//   jwt:     access tokens as parley signs them, ID tokens as a provider signs them (the way
//            auth/jwt_test.cc and auth/oidc_test.cc build theirs), in jwt_fuzzer's three modes
// A crash a fuzzer finds belongs here too, as a named seed beside the unit test of its fix, so
// that every later run starts from it.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "auth/encoding.h"
#include "auth/jwt.h"
#include "auth/testing.h"
#include "fuzz/fuzz_state.h"
#include "persist/codec.h"
#include "wire/frame.h"

namespace {

using namespace parley;
namespace fs = std::filesystem;

void Write(const fs::path& dir, const std::string& name, std::string_view bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string_view View(const wire::Bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// request_id % 4 picks the actor in request_fuzzer: 0 alice (the workspace's owner), 1 bob.
constexpr uint64_t kAsAlice = 4;
constexpr uint64_t kAsBob = 5;

// One frame of body T sent as `as`, its fields set by `fill`.
template <class T, class Fill>
void Add(std::vector<wire::Bytes>& out, uint64_t as, Fill fill) {
  T body;
  fill(body);
  out.push_back(wire::EncodeFrame(as, wire::MakeBody(std::move(body))));
}

std::vector<wire::Bytes> Requests(const fuzz::SeededShard& s) {
  const WorkspaceCreated& ws = s.workspace();
  const WorkspaceId w = ws.workspace_id;
  const ChannelId general = ws.general_id, random = ws.random_id;
  const UserId bob = ReplayScenario::kBob;
  std::vector<wire::Bytes> out;
  Add<wire::CreateWorkspaceT>(out, kAsAlice, [&](auto& b) { b.name = "Fuzz Inc"; });
  Add<wire::JoinWorkspaceT>(out, kAsBob, [&](auto& b) { b.workspace_id = w; });
  Add<wire::CreateChannelT>(out, kAsAlice, [&](auto& b) {
    b.workspace_id = w;
    b.name = "ops-2";
    b.is_private = true;
  });
  Add<wire::JoinChannelT>(out, kAsBob, [&](auto& b) { b.channel_id = random; });
  Add<wire::LeaveChannelT>(out, kAsBob, [&](auto& b) { b.channel_id = random; });
  Add<wire::PostMessageT>(out, kAsAlice, [&](auto& b) {
    b.channel_id = general;
    b.client_msg_id = "c9";
    b.text = "deploy at 5 @bob https://example.com";
  });
  Add<wire::PostMessageT>(out, kAsBob, [&](auto& b) {
    b.channel_id = general;
    b.client_msg_id = "r1";
    b.text = "ok";
    b.thread_seq = 1;
    b.also_to_channel = true;
  });
  Add<wire::AddChannelMemberT>(out, kAsAlice, [&](auto& b) {
    b.channel_id = random;
    b.user_id = bob;
  });
  Add<wire::UpdateChannelT>(out, kAsAlice, [&](auto& b) {
    b.channel_id = random;
    b.archived = true;
  });
  Add<wire::EditMessageT>(out, kAsAlice, [&](auto& b) {
    b.channel_id = general;
    b.seq = 1;
    b.text = "edited";
  });
  Add<wire::DeleteMessageT>(out, kAsAlice, [&](auto& b) {
    b.channel_id = general;
    b.seq = 1;
  });
  Add<wire::SetChannelDetailsT>(out, kAsAlice, [&](auto& b) {
    b.channel_id = general;
    b.topic = "releases";
  });
  Add<wire::RemoveChannelMemberT>(out, kAsAlice, [&](auto& b) {
    b.channel_id = random;
    b.user_id = bob;
  });
  Add<wire::OpenConversationT>(out, kAsAlice, [&](auto& b) {
    b.workspace_id = w;
    b.user_ids = {bob, 1003};
  });
  Add<wire::MarkReadT>(out, kAsBob, [&](auto& b) {
    b.channel_id = general;
    b.seq = 1;
  });
  Add<wire::SetPresenceT>(out, kAsAlice, [&](auto& b) { b.away = true; });
  Add<wire::SetStatusT>(out, kAsAlice, [&](auto& b) {
    b.text = "Lunch";
    b.emoji = ":taco:";
  });
  Add<wire::SetReadReceiptsT>(out, kAsAlice, [&](auto& b) { b.send = false; });
  Add<wire::RevokeInviteT>(out, kAsAlice, [&](auto& b) {
    b.workspace_id = w;
    b.invite_id = 1;
  });
  Add<wire::SetMemberRoleT>(out, kAsAlice, [&](auto& b) {
    b.workspace_id = w;
    b.user_id = bob;
    b.role = wire::Role::Admin;
  });
  Add<wire::TransferOwnershipT>(out, kAsAlice, [&](auto& b) {
    b.workspace_id = w;
    b.user_id = bob;
  });
  Add<wire::SetMemberActiveT>(out, kAsAlice, [&](auto& b) {
    b.workspace_id = w;
    b.user_id = bob;
  });
  Add<wire::FollowThreadT>(out, kAsBob, [&](auto& b) {
    b.channel_id = general;
    b.thread_seq = 1;
    b.follow = true;
  });
  Add<wire::MarkThreadReadT>(out, kAsBob, [&](auto& b) {
    b.channel_id = general;
    b.thread_seq = 1;
  });
  Add<wire::AddReactionT>(out, kAsBob, [&](auto& b) {
    b.channel_id = general;
    b.seq = 1;
    b.emoji = ":+1:";
  });
  Add<wire::RemoveReactionT>(out, kAsBob, [&](auto& b) {
    b.channel_id = general;
    b.seq = 1;
    b.emoji = ":+1:";
  });
  Add<wire::PinMessageT>(out, kAsAlice, [&](auto& b) {
    b.channel_id = general;
    b.seq = 1;
    b.pinned = true;
  });
  Add<wire::AddBookmarkT>(out, kAsAlice, [&](auto& b) {
    b.channel_id = general;
    b.title = "Runbook";
    b.url = "https://example.com/runbook";
  });
  Add<wire::RemoveBookmarkT>(out, kAsAlice, [&](auto& b) {
    b.channel_id = general;
    b.bookmark_id = 1;
  });
  return out;
}

void FrameSeeds(const fs::path& dir, const std::vector<wire::Bytes>& requests) {
  for (auto kind = static_cast<int>(wire::Body::MIN) + 1;
       kind <= static_cast<int>(wire::Body::MAX); ++kind) {
    flatbuffers::FlatBufferBuilder fbb;
    flatbuffers::uoffset_t table = fbb.EndTable(fbb.StartTable());
    wire::Bytes frame = wire::FinishFrame(fbb, 7, static_cast<wire::Body>(kind),
                                          flatbuffers::Offset<void>(table));
    Write(dir, "empty-" + std::string(wire::EnumNameBody(static_cast<wire::Body>(kind))),
          View(frame));
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    Write(dir, "request-" + std::to_string(i), View(requests[i]));
  }
  Write(dir, "error", View(wire::EncodeError(9, MakeError(ErrorCode::kNotFound, "no such channel",
                                                          "channel_id"))));
}

void RequestSeeds(const fs::path& dir, const std::vector<wire::Bytes>& requests) {
  std::string all;
  for (size_t i = 0; i < requests.size(); ++i) {
    Write(dir, "request-" + std::to_string(i), View(requests[i]));
    all += View(requests[i]);
  }
  Write(dir, "conversation", all);
}

void CodecSeeds(const fs::path& dir, const fuzz::SeededShard& s) {
  for (size_t i = 0; i < s.log_.size(); ++i) {
    Write(dir, "event-" + std::to_string(i) + "-" +
                   std::string(persist::DescribeEvent(s.log_[i]).kind),
          persist::EncodeEvent(s.log_[i]));
  }
}

void JwtSeeds(const fs::path& dir) {
  // jwt_fuzzer's key, issuer and clock (kNow = 1'700'000'000'000 ms).
  const std::string key = "fuzzing-key-of-at-least-32-bytes!!";
  auth::TokenClaims claims;
  claims.iss = "parley";
  claims.sub = 1001;
  claims.sid = 42;
  claims.iat = 1'700'000'000 - 10;
  claims.exp = 1'700'000'000 + 900;
  claims.jti = "j1";
  const std::string access = auth::SignHs256(key, claims);
  Write(dir, "hs256-raw", std::string(1, '\0') + access);
  // Mode 1 gets the token's own header and payload JSON, which the fuzzer signs again.
  const size_t dot1 = access.find('.'), dot2 = access.rfind('.');
  Write(dir, "hs256-signed",
        std::string(1, '\1') + *auth::Base64UrlDecode(access.substr(0, dot1)) + "\n" +
            *auth::Base64UrlDecode(access.substr(dot1 + 1, dot2 - dot1 - 1)));
  Write(dir, "alg-none",
        std::string(1, '\0') +
            auth::UnsignedJwt(R"({"alg":"none","typ":"JWT"})",
                              R"({"iss":"parley","sub":"1001","sid":"42","iat":1699999990,)"
                              R"("exp":1700000900,"use":"access"})"));
  const std::string id_claims =
      R"({"iss":"https://idp.example.com","aud":["parley-client","other"],"sub":"u-17",)"
      R"("email":"ann@example.com","email_verified":true,"name":"Ann","nonce":"n0nce",)"
      R"("iat":1699999990,"exp":1700000900,"nbf":1699999990})";
  Write(dir, "id-token-signed", std::string(1, '\2') + id_claims);
  auth::TestKey other = auth::TestKey::EcP256();
  Write(dir, "id-token-raw", std::string(1, '\0') + other.SignJwt("ES256", "ec1", id_claims));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  fuzz::SeededShard seeded;
  std::vector<wire::Bytes> requests = Requests(seeded);
  FrameSeeds(root / "frame", requests);
  RequestSeeds(root / "request", requests);
  CodecSeeds(root / "codec", seeded);
  JwtSeeds(root / "jwt");
  return 0;
}
