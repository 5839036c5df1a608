// Presence, on two sides. Session shards count each user's signed-in sessions and activity and
// report them (throttled) to the user's owner; the owner combines every shard's reports into
// online / away / offline (core/presence.h), logs a manual away, the custom status and the last
// time the user was seen, and announces each change on the user's presence topic. Sessions
// follow a topic through SubscribePresence (the users a client shows) or, for their own user,
// from sign-in. A housekeeping tick (about once a second) sends delayed activity reports, turns
// idle users away and announces expired statuses.
#include <algorithm>
#include <numeric>
#include <unordered_set>

#include "shard/command_of.h"
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

wire::SharedBytes Share(wire::Bytes bytes) {
  return std::make_shared<const wire::Bytes>(std::move(bytes));
}

uint32_t TotalSessions(const std::vector<uint32_t>& per_shard) {
  return std::accumulate(per_shard.begin(), per_shard.end(), uint32_t{0});
}

// Requests that say nothing about whether the person is at their device.
bool CountsAsActivity(wire::Body type) {
  return type != wire::Body::Ping && type != wire::Body::SubscribePresence &&
         type != wire::Body::SetPresence && type != wire::Body::SetStatus;
}

}  // namespace

bool Shard::HandlePresence(const RequestMeta& meta, const wire::Frame* f) {
  UserId actor = meta.actor();
  Result<std::optional<Event>> outcome = std::optional<Event>();
  switch (f->body_type()) {
    case wire::Body::SetPresence:
      outcome = Execute(CommandOf(actor, *f->body_as_SetPresence()));
      break;
    case wire::Body::SetStatus: {
      const wire::SetStatus* req = f->body_as_SetStatus();
      outcome = Execute(CommandOf(actor, *req));
      break;
    }
    case wire::Body::SetReadReceipts: {
      const wire::SetReadReceipts* req = f->body_as_SetReadReceipts();
      bool send = req->send();
      outcome = Execute(CommandOf(actor, *req));
      if (!outcome.ok()) break;
      // Every session of the user, on every shard, carries the setting into its requests.
      AfterDurable([this, meta, actor, send] {
        for (ShardId to = 0; to < config_.shard_count; ++to) {
          ReadReceiptsSetting setting{actor, send};
          if (to == id_) {
            PresenceMessage m = setting;
            OnPresenceMessage(m);
          } else {
            Send(to, PresenceMessage{setting});
          }
        }
        Respond(meta, EncodeOk(meta.request_id));
      });
      return true;
    }
    case wire::Body::ListReceipts: {
      const wire::ListReceipts* req = f->body_as_ListReceipts();
      auto receipts = ListMessageReceipts(state_, actor, req->channel_id(), req->seq());
      if (!receipts.ok()) {
        AnswerError(meta, receipts.error());
        return true;
      }
      wire::ReceiptListT list;
      list.channel_id = req->channel_id();
      list.seq = req->seq();
      list.tracked = receipts->tracked;
      list.author_id = receipts->author_id;
      list.delivered_to = std::move(receipts->delivered_to);
      list.read_by = std::move(receipts->read_by);
      Answer(meta, EncodeBody(meta.request_id, std::move(list)));
      return true;
    }
    default:
      return false;
  }
  if (!outcome.ok()) {
    AnswerError(meta, outcome.error());
    return true;
  }
  if (*outcome) RecomputePresence(actor, true);
  Answer(meta, EncodeBody(meta.request_id, PresenceInfoOf(actor)));
  return true;
}

void Shard::OnPresenceMessage(PresenceMessage& message) {
  std::visit(
      [this](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, PresenceReport>) {
          OnPresenceReport(m);
        } else if constexpr (std::is_same_v<T, PresenceQuery>) {
          OnPresenceQuery(m);
        } else if constexpr (std::is_same_v<T, PresenceQueryPart>) {
          OnPresenceQueryPart(std::move(m));
        } else if constexpr (std::is_same_v<T, ReceiptReport>) {
          OnReceiptReport(m);
        } else if constexpr (std::is_same_v<T, ReadReceiptsSetting>) {
          auto it = user_sessions_.find(m.user_id);
          if (it == user_sessions_.end()) return;
          for (uint32_t slot : it->second) sessions_[slot].send_read_receipts = m.send;
        }
      },
      message);
}

// ---- Session side ------------------------------------------------------------------------------

// A signed-in session counts at once and is active; it follows its own user's presence topic
// (the Interest travels ahead of the report, so the owner counts it before announcing).
void Shard::NoteSignedIn(Session& s, uint32_t slot) {
  uint64_t own = PresenceTopic(s.user, config_.shard_count);
  if (SubscribeLocal(s, slot, own)) AddInterest(own, id_, +1);
  PresenceRuntime::LocalUser& local = presence_.local[s.user];
  local.sessions++;
  TimeMs now = Now();
  local.last_active = now;
  SendPresenceReport(s.user, local, now);
}

void Shard::NoteSignedOut(UserId user) {
  auto it = presence_.local.find(user);
  if (it == presence_.local.end()) return;
  if (it->second.sessions > 0) it->second.sessions--;
  SendPresenceReport(user, it->second, Now());
  if (it->second.sessions == 0) presence_.local.erase(it);
}

// Leading and trailing throttle: the first activity after a quiet interval is reported at once
// (so a user who went away comes back promptly), later ones by the tick once the interval ends.
void Shard::NoteActivity(const Session& s, wire::Body type) {
  if (!CountsAsActivity(type)) return;
  auto it = presence_.local.find(s.user);
  if (it == presence_.local.end()) return;
  PresenceRuntime::LocalUser& local = it->second;
  TimeMs now = Now();
  local.last_active = now;
  if (now - local.reported_at >= PresenceReportInterval()) {
    SendPresenceReport(s.user, local, now);
  } else if (!local.dirty) {
    local.dirty = true;
    presence_.dirty.push_back(s.user);
  }
}

void Shard::SendPresenceReport(UserId user, PresenceRuntime::LocalUser& local, TimeMs now) {
  local.reported_at = now;
  local.dirty = false;
  PresenceReport report{user, id_, local.sessions, local.last_active};
  ShardId owner = OwnerShard(user, config_.shard_count);
  if (owner == id_) return OnPresenceReport(report);
  Send(owner, PresenceMessage{report});
}

// At most once a minute per user and shard; more often when auto-away comes sooner (tests).
TimeMs Shard::PresenceReportInterval() const {
  return std::clamp<TimeMs>(config_.identity->away_after_ms / 2, 1, kMinuteMs);
}

// Replaces the session's presence subscription: the old topics go at once, the new ones are
// gathered in two rounds (see PresenceQuery).
void Shard::StartPresenceSubscription(Session& s, uint32_t slot, const RequestMeta& meta,
                                      const wire::SubscribePresence* req) {
  auto asked = PresenceUsersAsked(req->user_ids());
  if (!asked) return RespondError(meta, asked.error());
  SubscribePresence(s, slot, meta.request_id, std::move(*asked), nullptr);
}

// The distinct, non-zero ids of a SubscribePresence (or Boot's presence_of), in order.
Result<std::vector<UserId>> Shard::PresenceUsersAsked(
    const flatbuffers::Vector<uint64_t>* user_ids) {
  if (user_ids != nullptr && user_ids->size() > kMaxPresenceSubscriptions) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a presence subscription names at most " +
                         std::to_string(kMaxPresenceSubscriptions) + " users",
                     "user_ids");
  }
  std::vector<UserId> asked;
  std::unordered_set<UserId> seen;
  if (user_ids != nullptr) {
    for (uint64_t user : *user_ids) {
      if (user != 0 && seen.insert(user).second) asked.push_back(user);
    }
  }
  return asked;
}

void Shard::SubscribePresence(Session& s, uint32_t slot, uint64_t request_id,
                              std::vector<UserId> asked, PresenceThen then) {
  const uint32_t n = config_.shard_count;
  const uint64_t own = PresenceTopic(s.user, n);
  std::vector<uint64_t> old;
  for (uint64_t topic : s.subscriptions) {
    if (topic != own && IsPresenceTopic(topic, n)) old.push_back(topic);
  }
  for (uint64_t topic : old) {
    UnsubscribeLocal(s, slot, topic);
    AddInterest(topic, id_, -1);
  }
  presence_.latest_query.erase(slot);
  if (asked.empty()) {
    if (then) return then({});
    return Enqueue(s, slot, EncodeBody(request_id, wire::PresenceListT{}));
  }
  uint64_t qid = presence_.next_query_id++;
  presence_.latest_query[slot] = qid;
  PresenceRuntime::PendingQuery& q = presence_.queries[qid];
  q.session = RefOf(slot);
  q.request_id = request_id;
  q.viewer = s.user;
  q.then = std::move(then);
  q.asked = asked;
  q.parts_left = n;
  auto users = std::make_shared<const std::vector<UserId>>(std::move(asked));
  for (ShardId to = 0; to < n; ++to) {
    PresenceQuery query{qid, id_, PresenceQueryKind::kVisibility, s.user, users};
    if (to == id_) {
      OnPresenceQuery(query);
    } else {
      Send(to, PresenceMessage{query});
    }
  }
}

// Computed on arrival and sent once what it observed is durable, in order with announcements:
// the interest counted here sees every change after the value answered.
void Shard::OnPresenceQuery(const PresenceQuery& query) {
  PresenceQueryPart part;
  part.query_id = query.query_id;
  if (query.kind == PresenceQueryKind::kVisibility) {
    part.visible = UsersSharingWorkspace(state_, query.viewer, *query.users);
  } else {
    for (UserId user : *query.users) {
      if (OwnerShard(user, config_.shard_count) != id_ || state_.FindUser(user) == nullptr) {
        continue;
      }
      OnInterest(Interest{PresenceTopic(user, config_.shard_count), query.from, +1});
      part.infos.push_back(PresenceInfoOf(user));
    }
  }
  AfterDurable([this, from = query.from, part = std::move(part)]() mutable {
    if (from == id_) return OnPresenceQueryPart(std::move(part));
    Send(from, PresenceMessage{std::move(part)});
  });
}

void Shard::OnPresenceQueryPart(PresenceQueryPart part) {
  const uint32_t n = config_.shard_count;
  auto it = presence_.queries.find(part.query_id);
  if (it == presence_.queries.end()) {
    for (const auto& info : part.infos) AddInterest(PresenceTopic(info.user_id, n), id_, -1);
    return;
  }
  PresenceRuntime::PendingQuery& q = it->second;
  Session* s = Find(q.session);
  auto latest = presence_.latest_query.find(q.session.slot);
  bool current =
      s != nullptr && latest != presence_.latest_query.end() && latest->second == part.query_id;
  if (!q.watching) {
    q.visible.insert(q.visible.end(), part.visible.begin(), part.visible.end());
  }
  for (auto& info : part.infos) {
    uint64_t topic = PresenceTopic(info.user_id, n);
    if (!current || !SubscribeLocal(*s, q.session.slot, topic)) {
      AddInterest(topic, id_, -1);  // superseded, gone, following or at the limit: give it back
    }
    q.infos[info.user_id] = std::move(info);
  }
  if (--q.parts_left > 0) return;
  if (q.watching) return FinishPresenceQuery(part.query_id);
  // Second round: the owners of the users the viewer may watch (themselves included).
  std::unordered_set<UserId> visible(q.visible.begin(), q.visible.end());
  visible.insert(q.viewer);
  std::vector<std::vector<UserId>> by_owner(n);
  for (UserId user : q.asked) {
    if (visible.count(user)) by_owner[OwnerShard(user, n)].push_back(user);
  }
  q.watching = true;
  q.parts_left = 0;
  for (const auto& users : by_owner) q.parts_left += users.empty() ? 0 : 1;
  if (q.parts_left == 0) return FinishPresenceQuery(part.query_id);
  UserId viewer = q.viewer;
  for (ShardId to = 0; to < n; ++to) {
    if (by_owner[to].empty()) continue;
    PresenceQuery query{part.query_id, id_, PresenceQueryKind::kWatch, viewer,
                        std::make_shared<const std::vector<UserId>>(std::move(by_owner[to]))};
    if (to == id_) {
      OnPresenceQuery(query);
    } else {
      Send(to, PresenceMessage{query});
    }
  }
}

// In the order asked; users the viewer may not watch, or that do not exist, are unavailable.
void Shard::FinishPresenceQuery(uint64_t query_id) {
  auto it = presence_.queries.find(query_id);
  PresenceRuntime::PendingQuery q = std::move(it->second);
  presence_.queries.erase(it);
  auto latest = presence_.latest_query.find(q.session.slot);
  if (latest != presence_.latest_query.end() && latest->second == query_id) {
    presence_.latest_query.erase(latest);
  }
  Session* s = Find(q.session);
  if (s == nullptr) return;
  wire::PresenceListT list;
  for (UserId user : q.asked) {
    auto info = std::make_unique<wire::PresenceInfoT>();
    if (auto found = q.infos.find(user); found != q.infos.end()) {
      *info = std::move(found->second);
    } else {
      info->user_id = user;
      info->presence = wire::Presence::Unavailable;
    }
    list.presences.push_back(std::move(info));
  }
  if (q.then) return q.then(std::move(list.presences));
  Enqueue(*s, q.session.slot, EncodeBody(q.request_id, std::move(list)));
}

// ---- Owner side ---------------------------------------------------------------------------------

void Shard::OnPresenceReport(const PresenceReport& report) {
  if (state_.FindUser(report.user_id) == nullptr) return;
  PresenceRuntime::LiveUser& live = presence_.live[report.user_id];
  if (live.sessions.empty()) live.sessions.assign(config_.shard_count, 0);
  live.sessions[report.shard] = report.sessions;
  if (report.active_at > live.last_active) {
    live.last_active = report.active_at;
    presence_.away_at.emplace(live.last_active + config_.identity->away_after_ms, report.user_id);
  }
  RecomputePresence(report.user_id, false);
}

// Going offline logs the last time the user was seen.
void Shard::RecomputePresence(UserId user, bool changed) {
  const UserState* u = state_.FindUser(user);
  if (u == nullptr) return;
  auto it = presence_.live.find(user);
  if (it != presence_.live.end()) {
    PresenceRuntime::LiveUser& live = it->second;
    LivePresence inputs{TotalSessions(live.sessions), live.last_active};
    Presence now = PresenceOf(*u, inputs, Now(), config_.identity->away_after_ms);
    if (now == Presence::kOffline) {
      bool was_online = live.shown != Presence::kOffline;
      presence_.live.erase(it);
      if (was_online) {
        Execute(RecordLastSeen{user});
        changed = true;
      }
    } else if (now != live.shown) {
      live.shown = now;
      changed = true;
    }
  }
  if (changed) AnnouncePresence(user);
}

wire::PresenceInfoT Shard::PresenceInfoOf(UserId user) const {
  wire::PresenceInfoT info;
  info.user_id = user;
  const UserState* u = state_.FindUser(user);
  if (u == nullptr) {
    info.presence = wire::Presence::Unavailable;
    return info;
  }
  auto it = presence_.live.find(user);
  info.presence = static_cast<wire::Presence>(it == presence_.live.end() ? Presence::kOffline
                                                                         : it->second.shown);
  info.manual_away = u->manual_away;
  info.last_seen_ms = u->last_seen;
  ShownStatus status = StatusAt(*u, Now());
  info.status_text = std::string(status.text);
  info.status_emoji = std::string(status.emoji);
  info.status_expires_at_ms = status.expires_at;
  return info;
}

// To the sessions following the user's presence topic (theirs included), once what it shows is
// durable.
void Shard::AnnouncePresence(UserId user) {
  wire::PresenceChangedT changed;
  changed.presence = std::make_unique<wire::PresenceInfoT>(PresenceInfoOf(user));
  AfterDurable([this, topic = PresenceTopic(user, config_.shard_count),
                frame = Share(EncodeBody(0, std::move(changed)))]() mutable {
    FanOut(topic, std::move(frame), 0, CoalesceKey{topic, 0});
  });
}

void Shard::Housekeeping() {
  TimeMs now = Now();
  // Session side: activity held back by the report interval.
  TimeMs interval = PresenceReportInterval();
  std::vector<UserId> waiting;
  for (UserId user : presence_.dirty) {
    auto it = presence_.local.find(user);
    if (it == presence_.local.end() || !it->second.dirty) continue;
    if (now - it->second.reported_at >= interval) {
      SendPresenceReport(user, it->second, now);
    } else {
      waiting.push_back(user);
    }
  }
  presence_.dirty.swap(waiting);
  // Owner side: auto-away (an entry older than its user's last activity is stale).
  const TimeMs away_after = config_.identity->away_after_ms;
  while (!presence_.away_at.empty() && presence_.away_at.begin()->first <= now) {
    auto [due, user] = *presence_.away_at.begin();
    presence_.away_at.erase(presence_.away_at.begin());
    auto it = presence_.live.find(user);
    if (it != presence_.live.end() && it->second.last_active + away_after == due) {
      RecomputePresence(user, false);
    }
  }
  // Owner side: statuses that expired since the last tick.
  const auto& expiries = state_.status_expiries();
  for (auto it = expiries.upper_bound({presence_.expiries_checked_at, UINT64_MAX});
       it != expiries.end() && it->first <= now; ++it) {
    const UserState* u = state_.FindUser(it->second);
    if (u != nullptr && u->status_expires_at == it->first) AnnouncePresence(it->second);
  }
  presence_.expiries_checked_at = now;
  typing_.Prune(now);
  SweepRetention();
  EnforceTimeouts();
}

}  // namespace parley::shard
