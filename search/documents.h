// What the search index holds: one Xapian document per message, per channel and per person,
// each with a unique id term, boolean filter terms, values for sorting and access checks, and
// its record (the fields a result shows) as the document's data. Shared by the indexer, which
// writes documents, and the searcher, which reads them. Internal to search/.
#pragma once

#include <xapian.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/ids.h"

namespace parley::search {

// Bumped when documents change shape: an index of another format is rebuilt from the log.
inline constexpr std::string_view kIndexFormat = "1";

// Metadata keys written with every commit.
inline constexpr std::string_view kMetaFormat = "parley.format";
inline constexpr std::string_view kMetaLsn = "parley.lsn";  // the last log record indexed
// FNV-1a of that record's bytes: an index built from another log (a restored data directory)
// does not match it.
inline constexpr std::string_view kMetaLsnHash = "parley.lsn_hash";

enum class DocKind : uint8_t { kMessage = 1, kChannel = 2, kPerson = 3 };

// Value slots.
inline constexpr Xapian::valueno kSlotTime = 0;     // sortable_serialise(at), messages
inline constexpr Xapian::valueno kSlotChannel = 1;  // 8-byte big-endian channel id
inline constexpr Xapian::valueno kSlotUser = 2;     // 8-byte big-endian user id, people
// Messages: time then seq, big-endian, so that messages of one millisecond sort by seq too.
inline constexpr Xapian::valueno kSlotOrder = 3;

// Boolean terms (upper-case prefixes, as Xapian's conventions ask; text terms are lower-case).
std::string KindTerm(DocKind kind);            // "K1"
std::string MessageIdTerm(ChannelId channel, Seq seq);  // "Qm<channel>.<seq>"
std::string ChannelIdTerm(ChannelId channel);  // "Qc<channel>"
std::string PersonIdTerm(UserId user);         // "Qp<user>"
std::string ChannelTerm(ChannelId channel);    // "C<channel>": a channel, or a message's
std::string AuthorTerm(UserId user);           // "A<user>"
inline constexpr std::string_view kHasLinkTerm = "XHL";
inline constexpr std::string_view kHasReactionTerm = "XHR";
inline constexpr std::string_view kHasPinTerm = "XHP";
inline constexpr std::string_view kInThreadTerm = "XIT";  // a reply, or a message with replies

std::string EncodeId(uint64_t id);  // 8 bytes, big-endian: values compare like the ids
uint64_t DecodeId(std::string_view bytes);  // 0 for anything but 8 bytes

// Everything a result shows, stored as the document's data. One shape for the three kinds;
// the fields of the other kinds stay empty.
struct DocRecord {
  DocKind kind = DocKind::kMessage;
  // Messages
  ChannelId channel_id = 0;  // also channels
  Seq seq = 0;
  Seq thread_seq = 0;  // a reply's thread; 0 for top-level messages
  UserId author_id = 0;
  TimeMs at = 0;
  std::string text;
  uint32_t reactions = 0;  // (user, emoji) pairs
  bool pinned = false;
  bool has_replies = false;
  // Channels
  WorkspaceId workspace_id = 0;
  std::string name;
  std::string topic;
  std::string purpose;
  bool is_private = false;
  // People
  UserId user_id = 0;
  std::string display_name;
  std::string title;
  std::string email;
};

std::string EncodeRecord(const DocRecord& record);
// kInternal for bytes that are not a record.
Result<DocRecord> DecodeRecord(std::string_view bytes);

// Text analysis shared by indexing and querying: English stemming where it applies, and CJK
// text split into n-grams (no spaces between its words).
Xapian::Stem Stemmer();

// The document for `record`, text terms and all. `generator` is reused between calls (it keeps
// no state across documents beyond its settings).
Xapian::Document BuildDocument(const DocRecord& record, Xapian::TermGenerator& generator);
// The unique id term of a record's document.
std::string IdTermOf(const DocRecord& record);

}  // namespace parley::search
