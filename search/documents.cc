#include "search/documents.h"

#include <msgpack.hpp>

#include "core/search_query.h"

namespace parley::search {
namespace {

// Field order of a stored record. Any change to it changes kIndexFormat: indexes of the old
// format are then rebuilt from the log, never read with the new layout.
using RecordTuple =
    std::tuple<uint8_t, uint64_t, uint64_t, uint64_t, uint64_t, int64_t, std::string, uint32_t,
               bool, bool, uint64_t, std::string, std::string, std::string, bool, uint64_t,
               std::string, std::string, std::string>;

// Channel names join words with '-' and '_': index them as separate words too.
std::string NameWords(std::string_view name) {
  std::string words(name);
  for (char& c : words) {
    if (c == '-' || c == '_' || c == '.') c = ' ';
  }
  return words;
}

}  // namespace

std::string KindTerm(DocKind kind) { return "K" + std::to_string(static_cast<int>(kind)); }
std::string MessageIdTerm(ChannelId channel, Seq seq) {
  return "Qm" + std::to_string(channel) + "." + std::to_string(seq);
}
std::string ChannelIdTerm(ChannelId channel) { return "Qc" + std::to_string(channel); }
std::string PersonIdTerm(UserId user) { return "Qp" + std::to_string(user); }
std::string ChannelTerm(ChannelId channel) { return "C" + std::to_string(channel); }
std::string AuthorTerm(UserId user) { return "A" + std::to_string(user); }

std::string EncodeId(uint64_t id) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, id >>= 8) out[i] = static_cast<char>(id & 0xff);
  return out;
}

uint64_t DecodeId(std::string_view bytes) {
  if (bytes.size() != 8) return 0;
  uint64_t id = 0;
  for (unsigned char c : bytes) id = (id << 8) | c;
  return id;
}

std::string EncodeRecord(const DocRecord& r) {
  RecordTuple t{static_cast<uint8_t>(r.kind), r.channel_id, r.seq, r.thread_seq, r.author_id,
                r.at, r.text, r.reactions, r.pinned, r.has_replies, r.workspace_id, r.name,
                r.topic, r.purpose, r.is_private, r.user_id, r.display_name, r.title, r.email};
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, t);
  return std::string(buffer.data(), buffer.size());
}

Result<DocRecord> DecodeRecord(std::string_view bytes) {
  RecordTuple t;
  try {
    msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
    handle.get().convert(t);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal, "search index record unreadable", e.what());
  }
  DocRecord r;
  uint8_t kind = 0;
  std::tie(kind, r.channel_id, r.seq, r.thread_seq, r.author_id, r.at, r.text, r.reactions,
           r.pinned, r.has_replies, r.workspace_id, r.name, r.topic, r.purpose, r.is_private,
           r.user_id, r.display_name, r.title, r.email) = std::move(t);
  r.kind = static_cast<DocKind>(kind);
  return r;
}

Xapian::Stem Stemmer() { return Xapian::Stem("english"); }

std::string IdTermOf(const DocRecord& r) {
  switch (r.kind) {
    case DocKind::kMessage: return MessageIdTerm(r.channel_id, r.seq);
    case DocKind::kChannel: return ChannelIdTerm(r.channel_id);
    case DocKind::kPerson: return PersonIdTerm(r.user_id);
  }
  return {};
}

Xapian::Document BuildDocument(const DocRecord& r, Xapian::TermGenerator& generator) {
  Xapian::Document doc;
  generator.set_document(doc);
  doc.add_boolean_term(KindTerm(r.kind));
  doc.add_boolean_term(IdTermOf(r));
  switch (r.kind) {
    case DocKind::kMessage:
      generator.index_text(r.text);
      doc.add_boolean_term(ChannelTerm(r.channel_id));
      doc.add_boolean_term(AuthorTerm(r.author_id));
      if (HasLink(r.text)) doc.add_boolean_term(std::string(kHasLinkTerm));
      if (r.reactions > 0) doc.add_boolean_term(std::string(kHasReactionTerm));
      if (r.pinned) doc.add_boolean_term(std::string(kHasPinTerm));
      if (r.thread_seq != 0 || r.has_replies) doc.add_boolean_term(std::string(kInThreadTerm));
      doc.add_value(kSlotTime, Xapian::sortable_serialise(static_cast<double>(r.at)));
      doc.add_value(kSlotChannel, EncodeId(r.channel_id));
      doc.add_value(kSlotOrder, EncodeId(static_cast<uint64_t>(r.at)) + EncodeId(r.seq));
      break;
    case DocKind::kChannel:
      // The name weighs most: "deploys" should find #deploys before a channel that only
      // mentions deploys in its purpose.
      generator.index_text(NameWords(r.name), 3);
      generator.increase_termpos();
      generator.index_text(r.topic);
      generator.increase_termpos();
      generator.index_text(r.purpose);
      doc.add_boolean_term(ChannelTerm(r.channel_id));
      doc.add_value(kSlotChannel, EncodeId(r.channel_id));
      break;
    case DocKind::kPerson:
      generator.index_text(r.display_name, 3);
      generator.increase_termpos();
      generator.index_text(r.title);
      generator.increase_termpos();
      generator.index_text(NameWords(r.email.substr(0, r.email.find('@'))));
      doc.add_value(kSlotUser, EncodeId(r.user_id));
      break;
  }
  doc.set_data(EncodeRecord(r));
  return doc;
}

}  // namespace parley::search
