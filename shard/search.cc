// Search, on the session's shard: parse the query, ask every shard what the asker may read (and
// whom the query's filters name) as of now, turn the parts into a search::SearchSpec, run it on
// the search worker pool, answer SearchResults. The owners' state decides access at query time;
// the index (a derived view, search/) only supplies matches. The user's recent searches live on
// their owner shard.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "core/decide.h"
#include "shard/encode.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

constexpr uint32_t kDefaultSearchLimit = 20;

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A display name names a user when it is their whole display name, its first word, or their
// email's local part, compared without ASCII case.
bool NamesUser(const std::string& lowered, const UserState& user) {
  std::string name = Lower(user.display_name);
  if (name == lowered) return true;
  if (name.substr(0, name.find(' ')) == lowered) return true;
  return Lower(user.email.substr(0, user.email.find('@'))) == lowered;
}

std::string Describe(const PersonRef& ref) {
  return ref.kind == PersonRef::Kind::kId ? std::to_string(ref.id) : ref.text;
}

Error NotFoundIn(const std::string& what) {
  return MakeError(ErrorCode::kNotFound, what, "query");
}

}  // namespace

void Shard::StartSearch(Session& s, const RequestMeta& meta, const wire::Search* req) {
  if (config_.search == nullptr) {
    return RespondError(meta, MakeError(ErrorCode::kUnavailable,
                                        "search is turned off on this server (--search_index)"));
  }
  if (req->kind() > wire::SearchKind::MAX) {
    return RespondError(meta, MakeError(ErrorCode::kInvalidArgument, "unknown kind", "kind"));
  }
  if (req->sort() > wire::SearchSort::MAX) {
    return RespondError(meta, MakeError(ErrorCode::kInvalidArgument, "unknown sort", "sort"));
  }
  Result<SearchQuery> parsed = ParseSearchQuery(Str(req->query()));
  if (!parsed.ok()) return RespondError(meta, parsed.error());
  SearchPending pending;
  pending.kind = static_cast<search::SearchKind>(req->kind());
  if (pending.kind != search::SearchKind::kMessages && parsed->HasFilters()) {
    return RespondError(meta, MakeError(ErrorCode::kInvalidArgument,
                                        "filters apply to message searches only", "query"));
  }
  pending.by_date = req->sort() == wire::SearchSort::Date;
  if (req->offset() > search::kMaxSearchOffset) {
    return RespondError(meta, MakeError(ErrorCode::kInvalidArgument,
                                        "offset is at most " +
                                            std::to_string(search::kMaxSearchOffset) +
                                            ": narrow the query instead",
                                        "offset"));
  }
  pending.offset = req->offset();
  pending.limit = req->limit() == 0 ? kDefaultSearchLimit
                                    : std::min<uint32_t>(req->limit(), search::kMaxSearchLimit);
  std::string zone = req->time_zone() ? req->time_zone()->str() : "UTC";
  if (zone.empty()) zone = "UTC";
  if (!time_zones_.Known(zone)) {
    return RespondError(meta, MakeError(ErrorCode::kInvalidArgument,
                                        "unknown time zone \"" + zone + "\"", "time_zone"));
  }
  // Days in the asker's zone: on: is [start of day, start of next); after: from the next day.
  auto start_of = [&](const CivilDate& day, int add_days) {
    return time_zones_.StartOfDay(zone, day.year, day.month, day.day, add_days);
  };
  if (parsed->on) {
    pending.not_before = start_of(*parsed->on, 0);
    pending.before = start_of(*parsed->on, 1);
  }
  if (parsed->after) {
    pending.not_before =
        std::max(pending.not_before.value_or(INT64_MIN), start_of(*parsed->after, 1));
  }
  if (parsed->before) {
    pending.before = std::min(pending.before.value_or(INT64_MAX), start_of(*parsed->before, 0));
  }
  if (pending.before && pending.not_before && *pending.not_before >= *pending.before) {
    return RespondError(meta, MakeError(ErrorCode::kInvalidArgument,
                                        "the date filters leave no day to search", "query"));
  }
  auto ask = std::make_shared<SearchAsk>();
  ask->kind = static_cast<uint8_t>(pending.kind);
  for (const auto* list : {&parsed->in_people, &parsed->from_people}) {
    for (const PersonRef& ref : *list) {
      if (ref.kind != PersonRef::Kind::kMe) ask->people.push_back(ref);
    }
  }
  pending.query = std::move(*parsed);
  pending.typed = Str(req->query());
  pending.ask = ask;
  pending.merged.named.resize(ask->people.size());

  uint64_t qid = next_query_id_++;
  PendingQuery& q = queries_[qid];
  q.session = meta.from;
  q.request_id = meta.request_id;
  q.kind = UserQueryKind::kSearch;
  q.timing = meta.timing;
  q.parts_left = config_.shard_count;
  q.merged.query_id = qid;
  q.search = std::move(pending);
  for (ShardId to = 0; to < config_.shard_count; ++to) {
    UserQuery query{qid, id_, s.user, UserQueryKind::kSearch, {}, {}, ask};
    if (to == id_) {
      OnUserQuery(query);
    } else {
      Send(to, std::move(query));
    }
  }
}

// On every shard: what the asker may search among what this shard owns, and whom the filters
// name among the users it holds.
void Shard::AnswerSearchPart(const UserQuery& query, UserQueryPart& part) {
  const SearchAsk& ask = *query.search;
  SearchPart& out = part.search;
  const UserId user = query.user_id;
  auto scope_of = [&](const ChannelState& c, bool member) {
    ScopeChannel scope{c.id, c.workspace_id, c.name, c.kind, 0, member, c.is_private};
    if (c.kind == ChannelKind::kDirect) {
      for (UserId m : c.members) {
        if (m != user) scope.other = m;
      }
    }
    return scope;
  };
  const auto kind = static_cast<search::SearchKind>(ask.kind);
  switch (kind) {
    case search::SearchKind::kMessages:
      // Membership is what reading takes (CheckCanRead); ChannelsOf leaves out workspaces
      // that deactivated the user.
      for (ChannelId id : state_.ChannelsOf(user)) {
        out.channels.push_back(scope_of(*state_.FindChannel(id), true));
      }
      break;
    case search::SearchKind::kChannels:
      for (WorkspaceId id : state_.WorkspacesOf(user)) {
        const WorkspaceState& ws = *state_.FindWorkspace(id);
        bool guest = ws.RoleOf(user) == WorkspaceRole::kGuest;
        for (ChannelId cid : ws.channels) {
          const ChannelState* c = state_.FindChannel(cid);
          if (c == nullptr || c->kind != ChannelKind::kChannel) continue;
          bool member = c->IsMember(user);
          if (member || (!c->is_private && !guest)) out.channels.push_back(scope_of(*c, member));
        }
      }
      break;
    case search::SearchKind::kPeople:
      break;
  }
  // Members see their workspaces' active members; guests see the people of their channels.
  // Person filters are resolved among them only, so a query cannot tell whether someone the
  // asker does not share a workspace with exists.
  if (kind == search::SearchKind::kPeople || !ask.people.empty()) {
    for (WorkspaceId id : state_.WorkspacesOf(user)) {
      const WorkspaceState& ws = *state_.FindWorkspace(id);
      if (ws.RoleOf(user) != WorkspaceRole::kGuest) {
        for (const auto& [member, m] : ws.members) {
          if (m.active) out.people.push_back(member);
        }
        continue;
      }
      for (ChannelId cid : state_.ChannelsOf(user)) {
        const ChannelState& c = *state_.FindChannel(cid);
        if (c.workspace_id != id) continue;
        out.people.insert(out.people.end(), c.members.begin(), c.members.end());
      }
    }
  }
  out.named.resize(ask.people.size());
  for (size_t i = 0; i < ask.people.size(); ++i) {
    const PersonRef& ref = ask.people[i];
    std::vector<UserId>& named = out.named[i];
    if (ref.kind == PersonRef::Kind::kId) {
      if (state_.FindUser(ref.id) != nullptr) named.push_back(ref.id);
    } else if (ref.kind == PersonRef::Kind::kEmail) {
      Result<std::string> email = NormaliseEmail(ref.text);
      const UserState* found = email.ok() ? state_.FindUserByEmail(*email) : nullptr;
      if (found != nullptr) named.push_back(found->id);
    } else {
      std::string lowered = Lower(ref.text);
      for (const auto& [id, u] : state_.users()) {
        if (NamesUser(lowered, u)) named.push_back(id);
      }
    }
  }
}

void Shard::MergeSearchPart(PendingQuery& q, SearchPart part) {
  SearchPart& merged = q.search.merged;
  std::move(part.channels.begin(), part.channels.end(), std::back_inserter(merged.channels));
  merged.people.insert(merged.people.end(), part.people.begin(), part.people.end());
  for (size_t i = 0; i < part.named.size() && i < merged.named.size(); ++i) {
    merged.named[i].insert(merged.named[i].end(), part.named[i].begin(), part.named[i].end());
  }
}

// Every part is in: narrow the access lists by the filters and run the search off the loop.
void Shard::FinishSearch(Session& s, PendingQuery& done) {
  SearchPending& p = done.search;
  const SearchQuery& query = p.query;
  RequestMeta meta{done.session, done.request_id, {}, false, done.timing};
  meta.caller.actor = s.user;
  std::vector<UserId>& visible = p.merged.people;
  std::sort(visible.begin(), visible.end());
  visible.erase(std::unique(visible.begin(), visible.end()), visible.end());
  // The users each person filter names, in the order of SearchAsk::people, among those the
  // asker may see.
  size_t next = 0;
  auto named = [&](const PersonRef& ref) -> Result<std::vector<UserId>> {
    if (ref.kind == PersonRef::Kind::kMe) return std::vector<UserId>{s.user};
    std::vector<UserId> users;
    for (UserId u : p.merged.named[next++]) {
      if (std::binary_search(visible.begin(), visible.end(), u)) users.push_back(u);
    }
    if (users.empty()) {
      return NotFoundIn("nobody you can see is called \"" + Describe(ref) + "\"");
    }
    return users;
  };
  search::SearchSpec spec;
  spec.kind = p.kind;
  spec.text = query.text;
  spec.by_date = p.by_date;
  spec.offset = p.offset;
  spec.limit = p.limit;
  spec.not_before = p.not_before;
  spec.before = p.before;
  spec.has_link = query.has_link;
  spec.has_reaction = query.has_reaction;
  spec.has_pin = query.has_pin;
  spec.in_thread = query.is_thread;
  std::vector<ScopeChannel>& scope = p.merged.channels;
  if (p.kind == search::SearchKind::kPeople) {
    spec.people = std::move(visible);
  } else if (query.in_channels.empty() && query.in_people.empty()) {
    for (const ScopeChannel& c : scope) spec.channels.push_back(c.id);
  } else {
    // in: filters: any of the channels and conversations they name, among the readable ones.
    std::unordered_set<ChannelId> chosen;
    for (const std::string& name : query.in_channels) {
      bool found = false;
      for (const ScopeChannel& c : scope) {
        if (c.kind == ChannelKind::kChannel && c.name == name) {
          chosen.insert(c.id);
          found = true;
        }
      }
      if (!found) {
        return RespondError(meta, NotFoundIn("no channel #" + name + " that you can read"));
      }
    }
    for (const PersonRef& ref : query.in_people) {
      Result<std::vector<UserId>> people = named(ref);
      if (!people.ok()) return RespondError(meta, people.error());
      for (const ScopeChannel& c : scope) {
        if (c.kind != ChannelKind::kDirect) continue;
        if (std::find(people->begin(), people->end(), c.other) != people->end()) {
          chosen.insert(c.id);
        }
      }
    }
    spec.channels.assign(chosen.begin(), chosen.end());
  }
  for (const PersonRef& ref : query.from_people) {
    Result<std::vector<UserId>> people = named(ref);
    if (!people.ok()) return RespondError(meta, people.error());
    spec.authors.insert(spec.authors.end(), people->begin(), people->end());
  }
  auto channels = std::make_shared<std::unordered_map<ChannelId, ScopeChannel>>();
  for (ScopeChannel& c : scope) channels->emplace(c.id, std::move(c));
  const search::SearchService* service = config_.search;
  OffLoop<Result<search::SearchPage>>(
      [service, spec = std::move(spec)] { return service->Run(spec); },
      [this, meta, kind = p.kind, offset = p.offset, channels,
       typed = std::move(p.typed)](Result<search::SearchPage> page) {
        if (!page.ok()) return RespondError(meta, page.error());
        Respond(meta, EncodeSearchResults(meta.request_id, kind, offset, *page, *channels));
        if (kind == search::SearchKind::kMessages && offset == 0) RememberSearch(meta, typed);
      },
      config_.search_workers);
}

wire::Bytes Shard::EncodeSearchResults(
    uint64_t request_id, search::SearchKind kind, uint32_t offset, search::SearchPage& page,
    const std::unordered_map<ChannelId, ScopeChannel>& channels) const {
  wire::SearchResultsT out;
  out.kind = static_cast<wire::SearchKind>(kind);
  out.estimated_total = page.estimated_total;
  out.has_more = page.has_more;
  out.indexing = !config_.search->Ready();
  for (search::MessageHit& hit : page.messages) {
    auto m = std::make_unique<wire::MessageHitT>();
    m->channel_id = hit.channel_id;
    if (auto it = channels.find(hit.channel_id); it != channels.end()) {
      m->channel_name = it->second.name;
      m->workspace_id = it->second.workspace_id;
    }
    m->seq = hit.seq;
    m->thread_seq = hit.thread_seq;
    m->author_id = hit.author_id;
    m->at_ms = hit.at;
    m->snippet = std::move(hit.snippet);
    for (auto [at, length] : hit.highlights) m->highlights.emplace_back(at, length);
    out.messages.push_back(std::move(m));
  }
  for (search::ChannelHit& hit : page.channels) {
    auto c = std::make_unique<wire::ChannelHitT>();
    c->channel_id = hit.channel_id;
    c->workspace_id = hit.workspace_id;
    c->name = std::move(hit.name);
    c->topic = std::move(hit.topic);
    c->purpose = std::move(hit.purpose);
    c->is_private = hit.is_private;
    auto it = channels.find(hit.channel_id);
    c->is_member = it != channels.end() && it->second.member;
    out.channels.push_back(std::move(c));
  }
  for (search::PersonHit& hit : page.people) {
    auto person = std::make_unique<wire::PersonHitT>();
    person->user_id = hit.user_id;
    person->display_name = std::move(hit.display_name);
    person->title = std::move(hit.title);
    out.people.push_back(std::move(person));
  }
  size_t count = out.messages.size() + out.channels.size() + out.people.size();
  if (page.has_more) out.next_offset = offset + static_cast<uint32_t>(count);
  return EncodeBody(request_id, std::move(out));
}

// A message search that ran goes to the user's recent searches, on their owner shard.
void Shard::RememberSearch(const RequestMeta& meta, const std::string& typed) {
  SearchNote note{meta.actor(), typed};
  ShardId owner = OwnerShard(meta.actor(), config_.shard_count);
  if (owner == id_) return OnSearchNote(note);
  Send(owner, std::move(note));
}

// On the user's owner: remember a search. A query the core refuses is simply not remembered.
void Shard::OnSearchNote(const SearchNote& note) { (void)Execute(note); }

bool Shard::HandleSearch(const RequestMeta& meta, const wire::Frame* f) {
  switch (f->body_type()) {
    case wire::Body::ListRecentSearches: {
      wire::RecentSearchListT list;
      for (RecentSearch& r : state_.RecentSearchesOf(meta.actor())) {
        auto entry = std::make_unique<wire::RecentSearchT>();
        entry->query = std::move(r.query);
        entry->at_ms = r.at;
        list.searches.push_back(std::move(entry));
      }
      Answer(meta, EncodeBody(meta.request_id, std::move(list)));
      return true;
    }
    case wire::Body::ClearRecentSearches: {
      auto outcome = Execute(ClearRecentSearches{meta.actor()});
      if (!outcome.ok()) {
        AnswerError(meta, outcome.error());
      } else {
        Answer(meta, EncodeOk(meta.request_id));
      }
      return true;
    }
    default:
      return false;
  }
}

}  // namespace parley::shard
