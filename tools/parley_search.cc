// parley's search commands: search (messages, channels, people) and recent-searches.
#include <cstdio>
#include <limits>

#include "tools/cli.h"

DECLARE_int32(limit);

DEFINE_string(kind, "messages", "search: messages, channels or people");
DEFINE_string(sort, "relevance", "search: relevance or date (newest first)");
DEFINE_uint32(offset, 0, "search: results to skip (the next_offset a page printed)");
DEFINE_string(zone, "", "search: IANA time zone of before:/after:/on: dates (default: UTC)");

namespace parley_cli {
namespace {

// The snippet with each highlighted range between ** and **.
std::string Marked(const wire::MessageHitT& hit) {
  std::string out;
  size_t at = 0;
  for (const wire::Highlight& h : hit.highlights) {
    size_t start = std::min<size_t>(h.offset(), hit.snippet.size());
    size_t end = std::min<size_t>(start + h.length(), hit.snippet.size());
    if (start < at) continue;
    out += hit.snippet.substr(at, start - at);
    out += "**" + hit.snippet.substr(start, end - start) + "**";
    at = end;
  }
  return out + hit.snippet.substr(std::min(at, hit.snippet.size()));
}

}  // namespace

// search QUERY... [--kind K] [--sort relevance|date] [--offset N] [--limit N] [--zone Z]
int Search(Ctx& ctx, const Args& args) {
  if (args.size() < 2) return Usage();
  std::string query;
  for (size_t i = 1; i < args.size(); ++i) query += (i > 1 ? " " : "") + args[i];
  wire::Client::SearchOptions options;
  if (FLAGS_kind == "channels") {
    options.kind = wire::SearchKind::Channels;
  } else if (FLAGS_kind == "people") {
    options.kind = wire::SearchKind::People;
  } else if (FLAGS_kind != "messages") {
    return Die(BadArgument("--kind must be messages, channels or people", FLAGS_kind));
  }
  if (FLAGS_sort == "date") {
    options.sort = wire::SearchSort::Date;
  } else if (FLAGS_sort != "relevance") {
    return Die(BadArgument("--sort must be relevance or date", FLAGS_sort));
  }
  if (FLAGS_limit < 0 || FLAGS_limit > std::numeric_limits<uint16_t>::max()) {
    return Die(BadArgument("out of range", "limit"));
  }
  options.limit = static_cast<uint16_t>(FLAGS_limit);
  options.offset = FLAGS_offset;
  options.time_zone = FLAGS_zone;
  auto results = ctx.c.Search(query, options);
  if (!results.ok()) return Die(results.error());
  for (const auto& m : results->messages) {
    std::string where = m->channel_name.empty() ? "(conversation)" : "#" + m->channel_name;
    std::printf("[%llu] %s #%llu", U(m->channel_id), where.c_str(), U(m->seq));
    if (m->thread_seq != 0) std::printf(" in thread #%llu", U(m->thread_seq));
    std::printf("\t%s\tuser:%llu\t%s\n", Time(m->at_ms).c_str(), U(m->author_id),
                Marked(*m).c_str());
  }
  for (const auto& c : results->channels) {
    std::printf("[%llu] #%s%s%s\t%s\t%s\n", U(c->channel_id), c->name.c_str(),
                c->is_private ? " (private)" : "", c->is_member ? " (member)" : "",
                Or(c->topic, "-").c_str(), Or(c->purpose, "-").c_str());
  }
  for (const auto& p : results->people) {
    std::printf("%llu\t%s\t%s\n", U(p->user_id), p->display_name.c_str(),
                Or(p->title, "-").c_str());
  }
  size_t shown = results->messages.size() + results->channels.size() + results->people.size();
  Note("%zu shown of about %llu%s%s", shown, U(results->estimated_total),
       results->has_more ? ("; more with --offset " + std::to_string(results->next_offset)).c_str()
                         : "",
       results->indexing ? "; the index is still being built: older messages may be missing"
                         : "");
  return 0;
}

// recent-searches | recent-searches clear
int RecentSearches(Ctx& ctx, const Args& args) {
  if (args.size() == 2 && args[1] == "clear") {
    return Report(ctx.c.ClearRecentSearches(), "recent searches cleared");
  }
  if (args.size() != 1) return Usage();
  auto list = ctx.c.ListRecentSearches();
  if (!list.ok()) return Die(list.error());
  for (const auto& s : list->searches) {
    std::printf("%s\t%s\n", Time(s->at_ms).c_str(), s->query.c_str());
  }
  return 0;
}

}  // namespace parley_cli
