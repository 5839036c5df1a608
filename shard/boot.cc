// Boot and resume: the session's shard asks every shard for its part of the user's first screen
// (all of it, or what changed since the token's version of that shard), joins the parts and
// answers one BootOk. An answer above the frame limit is cut into pages by channel id; the
// token of a page continues the same boot (docs/protocol.md, "Boot").
#include <algorithm>
#include <unordered_map>

#include "core/boot.h"
#include "core/notify.h"
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

// The smallest max_answer_bytes a client may ask for (also parleyd's smallest --max_frame_bytes).
constexpr uint32_t kMinBootAnswerBytes = 1024;
// Conservative sizes of encoded entries, for cutting pages before encoding them.
constexpr size_t kChannelEntryBytes = 128;
constexpr size_t kThreadEntryBytes = 48;

uint32_t Clamp32(uint64_t n) { return static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX)); }

wire::BootChannelT BootChannelOf(const BootChannelView& view) {
  const ChannelState& channel = *view.channel;
  wire::BootChannelT out;
  out.id = channel.id;
  out.workspace_id = channel.workspace_id;
  out.kind = static_cast<wire::ChannelKind>(channel.kind);
  if (channel.kind == ChannelKind::kChannel) {
    out.name = channel.name;
  } else {
    out.members.assign(channel.members.begin(), channel.members.end());
    std::sort(out.members.begin(), out.members.end());
  }
  out.is_private = channel.is_private;
  out.archived = channel.archived;
  out.topic = channel.topic;
  out.last_seq = channel.last_seq();
  if (channel.last_seq() > 0) out.last_at_ms = channel.messages[channel.last_seq() - 1].at;
  out.last_read = view.unread.last_read;
  out.unread = Clamp32(view.unread.unread);
  out.mentions = Clamp32(view.unread.mentions);
  return out;
}

template <class T>
flatbuffers::Offset<flatbuffers::Vector<T>> MaybeVector(flatbuffers::FlatBufferBuilder& fbb,
                                                        const std::vector<T>& v) {
  return v.empty() ? 0 : fbb.CreateVector(v);
}

flatbuffers::Offset<flatbuffers::String> MaybeString(flatbuffers::FlatBufferBuilder& fbb,
                                                     const std::string& s) {
  return s.empty() ? 0 : fbb.CreateString(s);
}

// What leaves out nothing but empties: no empty string, list or default scalar is written.
struct BootPage {
  const BootPart* merged = nullptr;
  const std::vector<std::unique_ptr<wire::PresenceInfoT>>* presences = nullptr;
  bool full = false;
  size_t channel_count = 0;  // the first this many of merged->channels
  std::string token;
  bool has_more = false;
};

wire::Bytes EncodeBootPage(uint64_t request_id, const BootPage& page) {
  const BootPart& m = *page.merged;
  flatbuffers::FlatBufferBuilder fbb(1024 + page.channel_count * kChannelEntryBytes);
  flatbuffers::Offset<wire::BootUser> user;
  if (m.has_user) {
    user = wire::CreateBootUser(fbb, m.user.id, MaybeString(fbb, m.user.display_name),
                                m.user.user_seq, m.user.unread_notifications);
  }
  std::vector<flatbuffers::Offset<wire::BootWorkspace>> workspaces;
  for (const wire::BootWorkspaceT& w : m.workspaces) {
    workspaces.push_back(wire::CreateBootWorkspace(fbb, w.id, MaybeString(fbb, w.name), w.role));
  }
  std::vector<flatbuffers::Offset<wire::BootChannel>> channels;
  channels.reserve(page.channel_count);
  for (size_t i = 0; i < page.channel_count; ++i) {
    const wire::BootChannelT& c = m.channels[i];
    channels.push_back(wire::CreateBootChannel(
        fbb, c.id, c.workspace_id, MaybeString(fbb, c.name), c.kind, c.is_private, c.archived,
        MaybeString(fbb, c.topic), MaybeVector(fbb, c.members), c.last_seq, c.last_at_ms,
        c.last_read, c.unread, c.mentions));
  }
  // Threads of the channels on this page (channels are ascending by id).
  ChannelId last = page.channel_count == 0 ? 0 : m.channels[page.channel_count - 1].id;
  std::vector<flatbuffers::Offset<wire::UnreadThread>> threads;
  for (const wire::UnreadThreadT& t : m.threads) {
    if (page.channel_count == 0 || t.channel_id > last) continue;
    threads.push_back(wire::CreateUnreadThread(fbb, t.channel_id, t.thread_seq, t.unread_replies,
                                               t.last_reply_at_ms));
  }
  std::vector<flatbuffers::Offset<wire::PresenceInfo>> presences;
  if (page.presences != nullptr) {
    for (const auto& p : *page.presences) {
      presences.push_back(wire::PresenceInfo::Pack(fbb, p.get()));
    }
  }
  auto token = fbb.CreateVector(reinterpret_cast<const uint8_t*>(page.token.data()),
                                page.token.size());
  auto body = wire::CreateBootOk(
      fbb, page.full, user, workspaces.empty() ? 0 : fbb.CreateVector(workspaces),
      channels.empty() ? 0 : fbb.CreateVector(channels),
      threads.empty() ? 0 : fbb.CreateVector(threads), MaybeVector(fbb, m.removed_workspaces),
      MaybeVector(fbb, m.removed_channels), token, page.has_more,
      presences.empty() ? 0 : fbb.CreateVector(presences));
  return wire::FinishFrame(fbb, request_id, wire::Body::BootOk, body.Union());
}

size_t PayloadBytes(const wire::Bytes& frame) { return frame.size() - wire::kLengthPrefixBytes; }

// How many of the channels fit in `budget` bytes by a conservative estimate.
size_t ChannelsWithin(const BootPart& m, size_t budget) {
  std::unordered_map<ChannelId, size_t> threads;
  for (const wire::UnreadThreadT& t : m.threads) ++threads[t.channel_id];
  size_t used = 0, n = 0;
  for (const wire::BootChannelT& c : m.channels) {
    size_t bytes = kChannelEntryBytes + c.name.size() + c.topic.size() + 8 * c.members.size();
    if (auto it = threads.find(c.id); it != threads.end()) bytes += kThreadEntryBytes * it->second;
    if (used + bytes > budget) break;
    used += bytes;
    ++n;
  }
  return n;
}

}  // namespace

void Shard::StartBoot(Session& s, const RequestMeta& meta, const wire::Boot* req) {
  BootPending pending;
  pending.max_bytes = config_.max_frame_bytes;
  if (uint32_t asked = req->max_answer_bytes(); asked != 0) {
    if (asked < kMinBootAnswerBytes) {
      return RespondError(meta, MakeError(ErrorCode::kInvalidArgument,
                                          "max_answer_bytes must be 0 or at least " +
                                              std::to_string(kMinBootAnswerBytes),
                                          "max_answer_bytes"));
    }
    pending.max_bytes = std::min(pending.max_bytes, asked);
  }
  auto presence_of = PresenceUsersAsked(req->presence_of());
  if (!presence_of) return RespondError(meta, presence_of.error());
  pending.presence_of = std::move(*presence_of);
  pending.presence_gathered = pending.presence_of.empty();
  const flatbuffers::Vector<uint8_t>* bytes = req->resume_token();
  if (bytes != nullptr && bytes->size() > 0) {
    std::optional<BootToken> token = DecodeBootToken(
        std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
    if (!token) {
      return RespondError(meta, MakeError(ErrorCode::kInvalidArgument,
                                          "resume_token is not a token from BootOk",
                                          "resume_token"));
    }
    // Another user's token, or one from before a change of shard count, resumes nothing: the
    // answer is a full boot.
    if (token->user_id == s.user && token->shard_count == config_.shard_count) {
      pending.token = std::move(*token);
      pending.full = pending.token.kind == BootTokenKind::kFullContinued;
    }
  }
  AskBoot(meta.from, meta.request_id, s.user, std::move(pending), meta.timing);
}

void Shard::AskBoot(const SessionRef& ref, uint64_t request_id, UserId user,
                    BootPending pending, RequestTiming timing) {
  BootAsk ask;
  ask.full = pending.full;
  const BootToken& token = pending.token;
  if (!token.versions.empty() && !pending.full) ask.since = token.versions;
  ask.known = token.kind == BootTokenKind::kResume ? token.versions : token.next;
  ask.after_channel = token.after_channel;
  pending.seen.assign(config_.shard_count, 0);
  uint64_t qid = next_query_id_++;
  PendingQuery& q = queries_[qid];
  q.session = ref;
  q.request_id = request_id;
  q.kind = UserQueryKind::kBoot;
  q.timing = timing;
  q.parts_left = config_.shard_count;
  q.merged.query_id = qid;
  q.boot = std::move(pending);
  for (ShardId to = 0; to < config_.shard_count; ++to) {
    UserQuery query{qid, id_, user, UserQueryKind::kBoot, {}, ask, nullptr};
    if (to == id_) {
      OnUserQuery(query);
    } else {
      Send(to, std::move(query));
    }
  }
}

// On every shard: its part of the user's boot, sent once what it observed is durable.
void Shard::AnswerBootPart(const UserQuery& query, UserQueryPart& part) {
  const BootAsk& ask = query.boot;
  BootPart& out = part.boot;
  out.shard = id_;
  out.version = state_.version();
  if (!ask.known.empty() && ask.known[id_] > state_.version()) {
    out.ahead = true;
    return;
  }
  BootSince since{ask.full, ask.full ? 0 : ask.since[id_], ask.after_channel};
  BootView view = BootViewOf(state_, query.user_id, since);
  out.ahead = view.ahead;
  if (const UserState* user = state_.FindUser(query.user_id)) {
    out.has_user = true;
    out.user.id = user->id;
    out.user.display_name = user->display_name;
    if (const UserNotifyState* notify = FindNotifyState(state_, user->id)) {
      out.user.user_seq = notify->last_user_seq;
      out.user.unread_notifications = Clamp32(UnreadNotifications(*notify, Now()));
    }
  }
  for (const BootWorkspaceView& w : view.workspaces) {
    wire::BootWorkspaceT ws;
    ws.id = w.workspace->id;
    ws.name = w.workspace->name;
    ws.role = static_cast<wire::Role>(w.role);
    out.workspaces.push_back(std::move(ws));
  }
  out.channels.reserve(view.channels.size());
  for (const BootChannelView& c : view.channels) out.channels.push_back(BootChannelOf(c));
  for (const UnreadThread& t : view.threads) {
    wire::UnreadThreadT thread;
    thread.channel_id = t.channel_id;
    thread.thread_seq = t.thread_seq;
    thread.unread_replies = Clamp32(t.unread_replies);
    thread.last_reply_at_ms = t.last_reply_at;
    out.threads.push_back(std::move(thread));
  }
  out.removed_workspaces = std::move(view.removed_workspaces);
  out.removed_channels = std::move(view.removed_channels);
}

void Shard::MergeBootPart(PendingQuery& q, BootPart part) {
  BootPending& b = q.boot;
  BootPart& m = b.merged;
  if (part.shard < b.seen.size()) b.seen[part.shard] = part.version;
  m.ahead = m.ahead || part.ahead;
  if (part.has_user) {
    m.has_user = true;
    m.user = std::move(part.user);
  }
  auto append = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  };
  append(m.workspaces, part.workspaces);
  append(m.channels, part.channels);
  append(m.threads, part.threads);
  append(m.removed_workspaces, part.removed_workspaces);
  append(m.removed_channels, part.removed_channels);
}

void Shard::FinishBoot(Session& s, PendingQuery& done) {
  BootPending& b = done.boot;
  BootPart& m = b.merged;
  uint32_t slot = done.session.slot;
  if (m.ahead && !b.restarted) {
    // A shard never reached the token's version (its log lost a tail in async mode, or a
    // backup was restored): nothing since it can be trusted. Ask again for everything.
    BootPending again;
    again.max_bytes = b.max_bytes;
    again.restarted = true;
    again.presence_of = std::move(b.presence_of);
    again.presence_gathered = b.presence_gathered;
    return AskBoot(done.session, done.request_id, s.user, std::move(again), done.timing);
  }
  if (!b.presence_gathered) {
    // Presence comes last, so that a restarted boot does not subscribe twice; the parts wait
    // for it (the answer is still one frame to the client).
    b.presence_gathered = true;
    auto held = std::make_shared<PendingQuery>(std::move(done));
    std::vector<UserId> users = std::move(held->boot.presence_of);
    return SubscribePresence(s, slot, held->request_id, std::move(users),
                             [this, held](std::vector<std::unique_ptr<wire::PresenceInfoT>> got) {
                               Session* again = Find(held->session);
                               if (again == nullptr) return;
                               held->boot.presences = std::move(got);
                               FinishBoot(*again, *held);
                             });
  }
  Answered(done.timing);  // every path below queues the answer
  auto by_id = [](const auto& a, const auto& c) { return a.id < c.id; };
  std::sort(m.workspaces.begin(), m.workspaces.end(), by_id);
  std::sort(m.channels.begin(), m.channels.end(), by_id);
  std::sort(m.removed_workspaces.begin(), m.removed_workspaces.end());
  std::sort(m.removed_channels.begin(), m.removed_channels.end());
  std::sort(m.threads.begin(), m.threads.end(), [](const auto& a, const auto& c) {
    if (a.last_reply_at_ms != c.last_reply_at_ms) return a.last_reply_at_ms > c.last_reply_at_ms;
    return a.channel_id != c.channel_id ? a.channel_id < c.channel_id
                                        : a.thread_seq < c.thread_seq;
  });
  const BootToken& asked = b.token;
  const bool continued = asked.kind != BootTokenKind::kResume;
  // The token after the whole answer: the versions its first page saw.
  BootToken last{BootTokenKind::kResume, s.user, config_.shard_count,
                 continued ? asked.next : b.seen, {}, 0};
  BootPage page{&m, &b.presences, b.full, m.channels.size(), EncodeBootToken(last), false};
  wire::Bytes frame = EncodeBootPage(done.request_id, page);
  if (PayloadBytes(frame) <= b.max_bytes) return Enqueue(s, slot, std::move(frame));

  // Too large for one frame: pages by channel id, each continuing the same boot.
  BootToken more = last;
  more.kind = b.full ? BootTokenKind::kFullContinued : BootTokenKind::kResumeContinued;
  more.versions = b.full ? std::vector<uint64_t>{} : asked.versions;
  more.next = last.versions;
  more.after_channel = UINT64_MAX;  // the longest varint: a safe size for the estimate
  page.has_more = true;
  page.channel_count = 0;
  page.token = EncodeBootToken(more);
  size_t fixed = PayloadBytes(EncodeBootPage(done.request_id, page));
  size_t fit = fixed < b.max_bytes ? ChannelsWithin(m, b.max_bytes - fixed) : 0;
  fit = m.channels.empty() ? 0 : std::min(fit, m.channels.size() - 1);
  while (fit > 0) {
    more.after_channel = m.channels[fit - 1].id;
    page.channel_count = fit;
    page.token = EncodeBootToken(more);
    frame = EncodeBootPage(done.request_id, page);
    if (PayloadBytes(frame) <= b.max_bytes) return Enqueue(s, slot, std::move(frame));
    fit = fit * 3 / 4;
  }
  Error too_large = MakeError(ErrorCode::kFrameTooLarge,
                              "the boot answer cannot fit one channel per frame",
                              "max_answer_bytes=" + std::to_string(b.max_bytes));
  NoteError(too_large, done.session, done.request_id, wire::Body::Boot, s.session_id);
  Enqueue(s, slot, wire::EncodeError(done.request_id, too_large));
}

}  // namespace parley::shard
