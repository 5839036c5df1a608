#include "core/boot.h"

#include <algorithm>

namespace parley {
namespace {

constexpr uint8_t kTokenFormat = 1;

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Reads one LEB128 varint of at most 10 bytes; false on a truncated or overlong one.
bool GetVarint(std::string_view& in, uint64_t* v) {
  uint64_t value = 0;
  for (int shift = 0, i = 0; i < 10; ++i, shift += 7) {
    if (in.empty()) return false;
    uint8_t byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    if (i == 9 && byte > 1) return false;
    value |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      *v = value;
      return true;
    }
  }
  return false;
}

bool GetList(std::string_view& in, uint32_t n, std::vector<uint64_t>* out) {
  out->resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (!GetVarint(in, &(*out)[i])) return false;
  }
  return true;
}

bool HasVersions(BootTokenKind kind) { return kind != BootTokenKind::kFullContinued; }
bool IsContinuation(BootTokenKind kind) { return kind != BootTokenKind::kResume; }

}  // namespace

BootView BootViewOf(const ShardState& state, UserId user, const BootSince& since) {
  BootView view;
  view.version = state.version();
  if (!since.full && since.version > state.version()) {
    view.ahead = true;
    return view;
  }
  auto changed = [&](uint64_t version) { return since.full || version > since.version; };
  const bool first_page = since.after_channel == 0;
  if (first_page) {
    for (WorkspaceId id : state.AllWorkspacesOf(user)) {
      const WorkspaceState* ws = state.FindWorkspace(id);
      if (ws == nullptr || !changed(ws->version)) continue;
      if (std::optional<WorkspaceRole> role = ws->RoleOf(user)) {
        view.workspaces.push_back({ws, *role});
      } else if (!since.full) {
        view.removed_workspaces.push_back(id);
      }
    }
  }
  std::vector<ChannelId> ids = state.AllChannelsOf(user);
  for (auto it = std::upper_bound(ids.begin(), ids.end(), since.after_channel); it != ids.end();
       ++it) {
    const ChannelState* channel = state.FindChannel(*it);
    if (channel == nullptr || !changed(channel->version)) continue;
    const WorkspaceState* ws = state.FindWorkspace(channel->workspace_id);
    if (ws != nullptr && ws->IsMember(user)) {
      view.channels.push_back({channel, UnreadOf(*channel, user)});
      AppendUnreadThreads(*channel, user, view.threads);
    } else if (!since.full && first_page) {
      view.removed_channels.push_back(*it);  // deactivated in its workspace
    }
  }
  if (!since.full && first_page) {
    std::vector<ChannelId> departed = state.DepartedSince(user, since.version);
    std::vector<ChannelId> removed;
    std::set_union(view.removed_channels.begin(), view.removed_channels.end(), departed.begin(),
                   departed.end(), std::back_inserter(removed));
    view.removed_channels = std::move(removed);
  }
  return view;
}

std::string EncodeBootToken(const BootToken& token) {
  std::string out;
  out.push_back(static_cast<char>(kTokenFormat));
  out.push_back(static_cast<char>(token.kind));
  PutVarint(out, token.user_id);
  PutVarint(out, token.shard_count);
  if (HasVersions(token.kind)) {
    for (uint64_t v : token.versions) PutVarint(out, v);
  }
  if (IsContinuation(token.kind)) {
    for (uint64_t v : token.next) PutVarint(out, v);
    PutVarint(out, token.after_channel);
  }
  return out;
}

std::optional<BootToken> DecodeBootToken(std::string_view in) {
  if (in.size() < 2 || static_cast<uint8_t>(in[0]) != kTokenFormat) return std::nullopt;
  uint8_t kind = static_cast<uint8_t>(in[1]);
  if (kind > static_cast<uint8_t>(BootTokenKind::kResumeContinued)) return std::nullopt;
  in.remove_prefix(2);
  BootToken token;
  token.kind = static_cast<BootTokenKind>(kind);
  uint64_t shards = 0;
  if (!GetVarint(in, &token.user_id) || !GetVarint(in, &shards)) return std::nullopt;
  if (shards == 0 || shards > kMaxBootShards) return std::nullopt;
  token.shard_count = static_cast<uint32_t>(shards);
  if (HasVersions(token.kind) && !GetList(in, token.shard_count, &token.versions)) {
    return std::nullopt;
  }
  if (IsContinuation(token.kind)) {
    if (!GetList(in, token.shard_count, &token.next)) return std::nullopt;
    if (!GetVarint(in, &token.after_channel) || token.after_channel == 0) return std::nullopt;
  }
  if (!in.empty()) return std::nullopt;
  return token;
}

}  // namespace parley
