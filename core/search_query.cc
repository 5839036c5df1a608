#include "core/search_query.h"

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <utility>

#include "core/decide.h"

namespace parley {
namespace {

Error Bad(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message), "query");
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool EqualsLowered(std::string_view s, std::string_view lower) {
  auto same = [](char a, char b) { return Lower(a) == b; };
  return s.size() == lower.size() && std::equal(s.begin(), s.end(), lower.begin(), same);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// A run of non-whitespace, in which a double quote opens a phrase that runs, whitespace and
// all, to the next quote. `open`: the input ended inside a phrase.
struct Token {
  std::string_view raw;
  bool open = false;
};

std::vector<Token> Tokenize(std::string_view input) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < input.size()) {
    if (IsSpace(input[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    bool quoted = false;
    for (; i < input.size() && (quoted || !IsSpace(input[i])); ++i) {
      if (input[i] == '"') quoted = !quoted;
    }
    // An open phrase ran to the end of the input: its trailing whitespace is not part of it.
    std::string_view raw = input.substr(start, i - start);
    tokens.push_back({quoted ? Trim(raw) : raw, quoted});
  }
  return tokens;
}

// A filter value without its surrounding quotes (the closing one may be missing) and spaces.
std::string_view Unquote(std::string_view value) {
  if (!value.empty() && value.front() == '"') {
    value.remove_prefix(1);
    if (!value.empty() && value.back() == '"') value.remove_suffix(1);
  }
  return Trim(value);
}

enum class Filter { kIn, kFrom, kBefore, kAfter, kOn, kHas, kIs };

std::optional<Filter> FilterNamed(std::string_view name) {
  static constexpr std::pair<std::string_view, Filter> kNames[] = {
      {"in", Filter::kIn},       {"from", Filter::kFrom}, {"before", Filter::kBefore},
      {"after", Filter::kAfter}, {"on", Filter::kOn},     {"has", Filter::kHas},
      {"is", Filter::kIs},
  };
  for (const auto& [known, filter] : kNames) {
    if (EqualsLowered(name, known)) return filter;
  }
  return std::nullopt;
}

// REQUIRES: `digits` is all ASCII digits. nullopt for 0 (kNoId) and above 2^64 - 1.
std::optional<UserId> ParseUserId(std::string_view digits) {
  UserId id = 0;
  for (char c : digits) {
    UserId digit = static_cast<UserId>(c - '0');
    if (id > (std::numeric_limits<UserId>::max() - digit) / 10) return std::nullopt;
    id = id * 10 + digit;
  }
  if (id == kNoId) return std::nullopt;
  return id;
}

Result<PersonRef> ParsePerson(std::string_view value, std::string_view token) {
  if (!value.empty() && value.front() == '@') value.remove_prefix(1);
  value = Unquote(value);
  if (value.empty()) return Bad("filter has no person: " + std::string(token));
  if (EqualsLowered(value, "me")) return PersonRef{PersonRef::Kind::kMe, 0, ""};
  if (std::all_of(value.begin(), value.end(), IsDigit)) {
    std::optional<UserId> id = ParseUserId(value);
    if (!id) return Bad("not a user id: " + std::string(token));
    return PersonRef{PersonRef::Kind::kId, *id, ""};
  }
  if (value.find('@') != std::string_view::npos) {
    return PersonRef{PersonRef::Kind::kEmail, 0, Lowered(value)};
  }
  return PersonRef{PersonRef::Kind::kName, 0, std::string(value)};
}

int DaysInMonth(int32_t year, uint32_t month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

std::optional<CivilDate> ParseDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto number = [&](size_t from, size_t len) -> std::optional<uint32_t> {
    uint32_t n = 0;
    for (char c : s.substr(from, len)) {
      if (!IsDigit(c)) return std::nullopt;
      n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    return n;
  };
  auto year = number(0, 4), month = number(5, 2), day = number(8, 2);
  if (!year || !month || !day || *year < 1970 || *month < 1 || *month > 12 || *day < 1) {
    return std::nullopt;
  }
  CivilDate date{static_cast<int32_t>(*year), *month, *day};
  if (static_cast<int>(*day) > DaysInMonth(date.year, date.month)) return std::nullopt;
  return date;
}

Status SetDate(std::optional<CivilDate>& slot, std::string_view value, std::string_view token) {
  if (slot) return Bad("date filter given twice: " + std::string(token));
  std::optional<CivilDate> date = ParseDate(value);
  if (!date) {
    return Bad("not a date (use YYYY-MM-DD, years 1970 to 9999): " + std::string(token));
  }
  slot = date;
  return OkStatus();
}

Status SetFlag(SearchQuery& q, Filter filter, std::string_view value, std::string_view token) {
  auto is = [&](std::initializer_list<std::string_view> names) {
    return std::any_of(names.begin(), names.end(),
                       [&](std::string_view name) { return EqualsLowered(value, name); });
  };
  if (filter == Filter::kIs) {
    if (!is({"thread"})) return Bad("unknown value, use is:thread: " + std::string(token));
    q.is_thread = true;
  } else if (is({"link"})) {
    q.has_link = true;
  } else if (is({"reaction", "reactions"})) {
    q.has_reaction = true;
  } else if (is({"pin", "pins"})) {
    q.has_pin = true;
  } else {
    return Bad("unknown value, use has:link, has:reaction or has:pin: " + std::string(token));
  }
  return OkStatus();
}

Status AddPerson(std::vector<PersonRef>& people, std::string_view value, std::string_view token) {
  Result<PersonRef> person = ParsePerson(value, token);
  if (!person.ok()) return person.error();
  people.push_back(std::move(*person));
  return OkStatus();
}

// REQUIRES: `value` is not empty.
Status ApplyFilter(SearchQuery& q, Filter filter, std::string_view value, std::string_view token) {
  switch (filter) {
    case Filter::kIn: {
      if (value.front() == '@') return AddPerson(q.in_people, value, token);
      if (value.front() == '#') value.remove_prefix(1);
      std::string_view name = Unquote(value);
      if (name.empty()) return Bad("filter has no channel: " + std::string(token));
      q.in_channels.push_back(Lowered(name));
      return OkStatus();
    }
    case Filter::kFrom:
      return AddPerson(q.from_people, value, token);
    case Filter::kBefore:
      return SetDate(q.before, value, token);
    case Filter::kAfter:
      return SetDate(q.after, value, token);
    case Filter::kOn:
      return SetDate(q.on, value, token);
    case Filter::kHas:
    case Filter::kIs:
      return SetFlag(q, filter, value, token);
  }
  return OkStatus();
}

// ---- HasLink. Each REQUIRES lower-cased text.

// The first byte of a host name or address, including IPv6's '[' and IDNs' UTF-8.
bool StartsHost(std::string_view lower, size_t at) {
  if (at >= lower.size()) return false;
  char c = lower[at];
  return IsAlpha(c) || IsDigit(c) || c == '[' || static_cast<unsigned char>(c) >= 0x80;
}

bool HasUrl(std::string_view lower) {
  for (std::string_view scheme : {"http://", "https://"}) {
    for (size_t at = lower.find(scheme); at != std::string_view::npos;
         at = lower.find(scheme, at + 1)) {
      if (StartsHost(lower, at + scheme.size())) return true;
    }
  }
  return false;
}

// "www." starting a host name, not ending a word ("awww.") or inside a longer name. CJK text
// has no spaces, so a non-ASCII character may come right before it.
bool HasWwwHost(std::string_view lower) {
  for (size_t at = lower.find("www."); at != std::string_view::npos;
       at = lower.find("www.", at + 1)) {
    char before = at == 0 ? ' ' : lower[at - 1];
    bool starts = !IsAlpha(before) && !IsDigit(before) && before != '.' && before != '-';
    if (starts && StartsHost(lower, at + 4)) return true;
  }
  return false;
}

bool IsSchemeByte(char c) { return IsAlpha(c) || IsDigit(c) || c == '+' || c == '.' || c == '-'; }

// Slack's markup for a link: <scheme://target> or <mailto:address>, optionally "|label" before
// the '>'. Mentions (<@1>, <!here>) and other text in angle brackets ("<k:v>") are not links.
bool HasMarkupLink(std::string_view lower) {
  for (size_t open = lower.find('<'); open != std::string_view::npos;
       open = lower.find('<', open + 1)) {
    std::string_view rest = lower.substr(open + 1);
    if (rest.empty() || !IsAlpha(rest.front())) continue;
    size_t scheme_end = 0;
    while (scheme_end < rest.size() && IsSchemeByte(rest[scheme_end])) ++scheme_end;
    rest.remove_prefix(scheme_end);
    if (rest.starts_with("://")) {
      rest.remove_prefix(3);
    } else if (scheme_end == 6 && lower.substr(open + 1, 6) == "mailto" && rest.starts_with(":")) {
      rest.remove_prefix(1);
    } else {
      continue;
    }
    size_t target_end = rest.find_first_of(" \t\n\r\f\v<>|");
    if (target_end == 0 || target_end == std::string_view::npos) continue;
    if (rest[target_end] == '>') return true;
    if (rest[target_end] == '|' && rest.find('>', target_end) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool SearchQuery::HasFilters() const {
  return !in_channels.empty() || !in_people.empty() || !from_people.empty() || before || after ||
         on || has_link || has_reaction || has_pin || is_thread;
}

bool SearchQuery::Empty() const { return text.empty() && !HasFilters(); }

Result<SearchQuery> ParseSearchQuery(std::string_view input) {
  if (input.size() > kMaxSearchQueryBytes) {
    return Bad("query is longer than " + std::to_string(kMaxSearchQueryBytes) + " bytes");
  }
  if (!IsValidUtf8(input)) return Bad("query is not valid UTF-8");
  SearchQuery q;
  size_t filters = 0;
  for (const Token& token : Tokenize(input)) {
    std::string_view raw = token.raw;
    // Only a name the language knows makes a filter: "10:30" and "http://x" are text.
    size_t colon = raw.find(':');
    std::string_view name = raw.substr(0, colon);
    bool negated = !name.empty() && name.front() == '-';
    if (negated) name.remove_prefix(1);
    std::optional<Filter> filter =
        colon == std::string_view::npos ? std::nullopt : FilterNamed(name);
    if (!filter) {
      if (!q.text.empty()) q.text += ' ';
      q.text += raw;
      if (token.open) q.text += '"';
      continue;
    }
    if (negated) return Bad("negated filters are not supported: " + std::string(raw));
    if (++filters > kMaxSearchFilters) {
      return Bad("at most " + std::to_string(kMaxSearchFilters) +
                 " filters; one too many: " + std::string(raw));
    }
    std::string_view value = raw.substr(colon + 1);
    if (value.empty()) return Bad("filter has no value: " + std::string(raw));
    if (Status applied = ApplyFilter(q, *filter, value, raw); !applied.ok()) {
      return applied.error();
    }
  }
  if (q.Empty()) return Bad("query is empty");
  return q;
}

bool HasLink(std::string_view text) {
  const std::string lower = Lowered(text);
  return HasUrl(lower) || HasWwwHost(lower) || HasMarkupLink(lower);
}

}  // namespace parley
