#include "search/searcher.h"

#include <xapian.h>

#include <algorithm>
#include <unordered_set>

#include "search/documents.h"
#include "search/indexer.h"

namespace parley::search {
namespace {

// Up to this many ids an access list is an OR of boolean terms; above, it is checked per
// candidate (a MatchDecider reading a value). The decider is cheaper from a few ids on: over 1M
// messages in 100 channels, single-word queries took a third of the time with it
// (bench/RESULTS.md).
constexpr size_t kMaxTermFilter = 8;
// A prefix* expands to at most this many of the index's most frequent matching terms.
constexpr Xapian::termcount kMaxWildcardTerms = 200;
constexpr size_t kSnippetBytes = 200;
constexpr char kHighlightStart[] = "\x01";
constexpr char kHighlightEnd[] = "\x02";

class IdDecider : public Xapian::MatchDecider {
 public:
  IdDecider(Xapian::valueno slot, const std::vector<uint64_t>& ids)
      : slot_(slot), ids_(ids.begin(), ids.end()) {}
  bool operator()(const Xapian::Document& doc) const override {
    return ids_.count(DecodeId(doc.get_value(slot_))) != 0;
  }

 private:
  Xapian::valueno slot_;
  std::unordered_set<uint64_t> ids_;
};

Xapian::Query AnyOf(const std::vector<uint64_t>& ids, std::string (*term)(uint64_t)) {
  std::vector<Xapian::Query> terms;
  terms.reserve(ids.size());
  for (uint64_t id : ids) terms.emplace_back(term(id));
  return Xapian::Query(Xapian::Query::OP_OR, terms.begin(), terms.end());
}

// The asker's access list, as a filter term set when short, else as a decider.
void Restrict(const std::vector<uint64_t>& ids, Xapian::valueno slot,
              std::string (*term)(uint64_t), std::vector<Xapian::Query>* filters,
              std::unique_ptr<IdDecider>* decider) {
  if (ids.size() <= kMaxTermFilter) {
    filters->push_back(AnyOf(ids, term));
  } else {
    *decider = std::make_unique<IdDecider>(slot, ids);
  }
}

// Whether every token of the text is an exclusion (-word or -"a phrase").
bool OnlyExclusions(std::string_view text) {
  bool quoted = false, token_start = true, any = false;
  for (char c : text) {
    if (!quoted && c == ' ') {
      token_start = true;
      continue;
    }
    if (token_start) {
      if (c != '-') return false;
      any = true;
      token_start = false;
      continue;
    }
    if (c == '"') quoted = !quoted;
  }
  return any;
}

// Lower-cases the text but for the boolean operators (AND, OR, NOT, XOR outside quotes): Xapian
// leaves capitalised words unstemmed, so "Deploys" would not find "deploy" otherwise.
std::string FoldCase(const std::string& text) {
  static constexpr std::string_view kOperators[] = {"AND", "OR", "NOT", "XOR"};
  std::string out;
  bool quoted = false;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find(' ', i);
    if (end == std::string::npos) end = text.size();
    std::string token = text.substr(i, end - i);
    bool op = !quoted && std::find(std::begin(kOperators), std::end(kOperators), token) !=
                             std::end(kOperators);
    out += op ? token : Xapian::Unicode::tolower(token);
    quoted ^= std::count(token.begin(), token.end(), '"') % 2 == 1;
    if (end < text.size()) out += ' ';
    i = end + 1;
  }
  return out;
}

Xapian::Query ParseText(const Xapian::Database& db, const std::string& text,
                        Xapian::Query::op default_op = Xapian::Query::OP_AND) {
  if (text.empty()) return Xapian::Query::MatchAll;
  if (OnlyExclusions(text)) {
    // Xapian's parser drops the sign of a lone "-word": exclude from everything explicitly.
    std::string wanted;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '-' && (i == 0 || text[i - 1] == ' ')) continue;
      wanted.push_back(text[i]);
    }
    Xapian::Query excluded = ParseText(db, wanted, Xapian::Query::OP_OR);  // any of them
    return Xapian::Query(Xapian::Query::OP_AND_NOT, Xapian::Query::MatchAll, excluded);
  }
  Xapian::QueryParser parser;
  parser.set_database(db);
  parser.set_stemmer(Stemmer());
  parser.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
  parser.set_default_op(default_op);
  parser.set_max_expansion(kMaxWildcardTerms, Xapian::Query::WILDCARD_LIMIT_MOST_FREQUENT,
                           Xapian::QueryParser::FLAG_WILDCARD);
  unsigned flags = Xapian::QueryParser::FLAG_PHRASE | Xapian::QueryParser::FLAG_LOVEHATE |
                   Xapian::QueryParser::FLAG_BOOLEAN | Xapian::QueryParser::FLAG_WILDCARD |
                   Xapian::QueryParser::FLAG_PURE_NOT | Xapian::QueryParser::FLAG_CJK_NGRAM;
  return parser.parse_query(FoldCase(text), flags);
}

std::string Plain(std::string text) {
  for (char& c : text) {
    if (c == kHighlightStart[0] || c == kHighlightEnd[0]) c = ' ';
  }
  return text;
}

}  // namespace

struct Searcher::Handle {
  Xapian::Database db;
};

Searcher::Searcher(std::string data_dir, uint32_t shard_count)
    : data_dir_(std::move(data_dir)), shard_count_(shard_count) {}

Searcher::~Searcher() = default;

Result<std::unique_ptr<Searcher::Handle>> Searcher::Borrow() const {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Handle> handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  auto handle = std::make_unique<Handle>();
  try {
    for (ShardId k = 0; k < shard_count_; ++k) {
      handle->db.add_database(Xapian::Database(IndexDir(data_dir_, k)));
    }
  } catch (const Xapian::Error& e) {
    return MakeError(ErrorCode::kUnavailable, "the search index cannot be opened",
                     e.get_type() + std::string(": ") + e.get_msg());
  }
  return handle;
}

void Searcher::Return(std::unique_ptr<Handle> handle) const {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(handle));
}

Result<SearchPage> Searcher::Run(const SearchSpec& spec) const {
  const std::vector<uint64_t>& allowed =
      spec.kind == SearchKind::kPeople ? spec.people : spec.channels;
  if (allowed.empty()) return SearchPage{};
  Error last = MakeError(ErrorCode::kUnavailable, "search failed", "");
  if (spec.offset > kMaxSearchOffset) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "offset is at most " + std::to_string(kMaxSearchOffset), "offset");
  }
  // A search may race commits that recycle the blocks it reads (DatabaseModifiedError; glass
  // keeps a revision readable until the next-but-one commit): reopen at the newest revision and
  // run it again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    Result<std::unique_ptr<Handle>> handle = Borrow();
    if (!handle.ok()) return handle.error();
    try {
      (*handle)->db.reopen();
      SearchPage page = RunOn((*handle)->db, spec);
      Return(std::move(*handle));
      return page;
    } catch (const Xapian::QueryParserError& e) {
      Return(std::move(*handle));
      return MakeError(ErrorCode::kInvalidArgument, "the query cannot be parsed: " + e.get_msg(),
                       "query");
    } catch (const Xapian::DatabaseModifiedError& e) {
      last = MakeError(ErrorCode::kUnavailable, "the search index changed during the search",
                       e.get_msg());
    } catch (const Xapian::Error& e) {
      // Drop the handle: the next attempt opens the indexes afresh.
      last = MakeError(ErrorCode::kUnavailable, "search failed",
                       e.get_type() + std::string(": ") + e.get_msg());
    } catch (const std::exception& e) {  // std::bad_alloc: this search fails, not the server
      return MakeError(ErrorCode::kUnavailable, "search failed", e.what());
    }
  }
  return last;
}

SearchPage Searcher::RunOn(const Xapian::Database& db, const SearchSpec& spec) {
  std::vector<Xapian::Query> filters{Xapian::Query(KindTerm(
      spec.kind == SearchKind::kMessages   ? DocKind::kMessage
      : spec.kind == SearchKind::kChannels ? DocKind::kChannel
                                           : DocKind::kPerson))};
  std::unique_ptr<IdDecider> decider;
  if (spec.kind == SearchKind::kPeople) {
    Restrict(spec.people, kSlotUser, &PersonIdTerm, &filters, &decider);
  } else {
    Restrict(spec.channels, kSlotChannel, &ChannelTerm, &filters, &decider);
  }
  if (spec.kind == SearchKind::kMessages) {
    if (!spec.authors.empty()) filters.push_back(AnyOf(spec.authors, &AuthorTerm));
    if (spec.has_link) filters.emplace_back(std::string(kHasLinkTerm));
    if (spec.has_reaction) filters.emplace_back(std::string(kHasReactionTerm));
    if (spec.has_pin) filters.emplace_back(std::string(kHasPinTerm));
    if (spec.in_thread) filters.emplace_back(std::string(kInThreadTerm));
    auto bound = [](TimeMs ms) { return Xapian::sortable_serialise(static_cast<double>(ms)); };
    if (spec.not_before && spec.before) {
      if (*spec.before <= *spec.not_before) return SearchPage{};
      filters.emplace_back(Xapian::Query::OP_VALUE_RANGE, kSlotTime, bound(*spec.not_before),
                           bound(*spec.before - 1));
    } else if (spec.not_before) {
      filters.emplace_back(Xapian::Query::OP_VALUE_GE, kSlotTime, bound(*spec.not_before));
    } else if (spec.before) {
      filters.emplace_back(Xapian::Query::OP_VALUE_LE, kSlotTime, bound(*spec.before - 1));
    }
  }
  Xapian::Query query(Xapian::Query::OP_FILTER, ParseText(db, spec.text),
                      Xapian::Query(Xapian::Query::OP_AND, filters.begin(), filters.end()));
  Xapian::Enquire enquire(db);
  enquire.set_query(query);
  if (spec.kind == SearchKind::kMessages) {
    if (spec.by_date) {
      enquire.set_sort_by_value_then_relevance(kSlotOrder, true);
    } else {
      // Equal scores: the later indexed first (newest first within a shard). Cheaper than a
      // value as tie-break, which Xapian reads for every candidate.
      enquire.set_docid_order(Xapian::Enquire::DESCENDING);
    }
  }
  uint32_t limit = std::min(spec.limit, kMaxSearchLimit);
  // One more than asked says whether another page follows: Xapian's lower bound on the matches
  // counts only what it checked, which with a decider may be no more than the page.
  Xapian::MSet mset = enquire.get_mset(spec.offset, limit + 1, 0, nullptr, decider.get());
  SearchPage page;
  page.estimated_total = mset.get_matches_estimated();
  page.has_more = mset.size() > limit;
  Xapian::Stem stemmer = Stemmer();
  Xapian::MSetIterator end = page.has_more ? std::prev(mset.end()) : mset.end();
  for (Xapian::MSetIterator it = mset.begin(); it != end; ++it) {
    Result<DocRecord> record = DecodeRecord(it.get_document().get_data());
    if (!record.ok()) continue;  // unreadable: kIndexFormat guards against this
    DocRecord& r = *record;
    switch (spec.kind) {
      case SearchKind::kMessages: {
        MessageHit hit{r.channel_id, r.seq, r.thread_seq, r.author_id, r.at, {}, {}};
        // Without SNIPPET_BACKGROUND_MODEL (which looks up every word's frequency): messages are
        // short, the window with the most matches is the one to show.
        std::string marked = mset.snippet(
            Plain(std::move(r.text)), kSnippetBytes, stemmer,
            Xapian::MSet::SNIPPET_EXHAUSTIVE |
                Xapian::MSet::SNIPPET_CJK_NGRAM,
            kHighlightStart, kHighlightEnd, "…");
        SplitSnippet(marked, &hit.snippet, &hit.highlights);
        page.messages.push_back(std::move(hit));
        break;
      }
      case SearchKind::kChannels:
        page.channels.push_back({r.channel_id, r.workspace_id, std::move(r.name),
                                 std::move(r.topic), std::move(r.purpose), r.is_private});
        break;
      case SearchKind::kPeople:
        page.people.push_back({r.user_id, std::move(r.display_name), std::move(r.title)});
        break;
    }
  }
  return page;
}

void SplitSnippet(std::string_view marked, std::string* text,
                  std::vector<Highlight>* highlights) {
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
  text->clear();
  highlights->clear();
  uint32_t start = 0;
  for (size_t i = 0; i < marked.size();) {
    char c = marked[i];
    if (c == kHighlightStart[0]) {
      start = static_cast<uint32_t>(text->size());
      ++i;
      continue;
    }
    if (c == kHighlightEnd[0]) {
      uint32_t end = static_cast<uint32_t>(text->size());
      // CJK n-grams come highlighted one by one: join ranges that touch.
      if (!highlights->empty() && highlights->back().first + highlights->back().second == start) {
        highlights->back().second += end - start;
      } else if (end > start) {
        highlights->emplace_back(start, end - start);
      }
      ++i;
      continue;
    }
    if (c == '&') {
      bool decoded = false;
      for (auto [entity, ch] : kEntities) {
        if (marked.substr(i, entity.size()) == entity) {
          text->push_back(ch);
          i += entity.size();
          decoded = true;
          break;
        }
      }
      if (decoded) continue;
    }
    text->push_back(c);
    ++i;
  }
}

}  // namespace parley::search
