// The search query language: what a person types into the search box, split into the free text
// (searched by the full-text engine) and the filters that narrow it. Pure: parsing needs no
// state; the caller resolves channel names and people against what the searcher may see.
//
//   deploy "release notes" roll* -flaky   free text: words, phrases, prefixes, exclusions
//   in:#general  in:general               in a channel (name lower-cased, '#' optional)
//   in:@ann                               in the direct conversation with a person
//   from:@ann  from:ann  from:"Ann Lee"   by a person: me, a user id, an email or a display name
//   before:2024-05-01 after:... on:...    by date (the caller picks the time zone)
//   has:link has:reaction has:pin is:thread
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/ids.h"

namespace parley {

inline constexpr size_t kMaxSearchQueryBytes = 1000;
inline constexpr size_t kMaxSearchFilters = 20;
inline constexpr size_t kMaxRecentSearches = 20;  // per user, newest first

struct CivilDate {
  int32_t year = 0;
  uint32_t month = 0;  // 1..12
  uint32_t day = 0;    // 1..31
  bool operator==(const CivilDate&) const = default;
};

// A person named in a filter: "me", a numeric user id, an email address, or a display name.
// kId sets `id`; kEmail (lower-cased) and kName (as typed, quotes removed) set `text`.
struct PersonRef {
  enum class Kind : uint8_t { kMe, kId, kEmail, kName };
  Kind kind = Kind::kName;
  UserId id = 0;
  std::string text;
  bool operator==(const PersonRef&) const = default;
};

struct SearchQuery {
  // The free-text part with the filters removed, for Xapian's QueryParser as is: the other
  // tokens in their order, one space apart, an unterminated phrase closed.
  std::string text;
  std::vector<std::string> in_channels;  // in:#name (without '#', lower-cased)
  std::vector<PersonRef> in_people;      // in:@person: the direct conversation with them
  std::vector<PersonRef> from_people;    // from:@person
  std::optional<CivilDate> before, after, on;
  bool has_link = false, has_reaction = false, has_pin = false, is_thread = false;

  bool HasFilters() const;
  bool Empty() const;  // no text and no filters
  bool operator==(const SearchQuery&) const = default;
};

// Splits `input` into text and filters. Errors are kInvalidArgument with details "query" and a
// message naming the offending token: longer than kMaxSearchQueryBytes, not valid UTF-8, more
// than kMaxSearchFilters filters, a negated filter, an empty or unknown filter value, a date
// that is not a real YYYY-MM-DD (years 1970..9999), before/after/on given twice, or nothing to
// search for ("query is empty").
Result<SearchQuery> ParseSearchQuery(std::string_view input);

// Whether message text holds a link, for has:link: an http:// or https:// URL, a "www." host,
// or a Slack-style <scheme:...> link; case-insensitive.
bool HasLink(std::string_view text);

}  // namespace parley
