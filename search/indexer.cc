#include "search/indexer.h"

#include <pthread.h>
#include <sched.h>

#include <filesystem>
#include <type_traits>

#include "core/decide.h"
#include "persist/codec.h"
#include "search/documents.h"

namespace parley::search {
namespace {

Error XapianError(const std::string& what, const Xapian::Error& e) {
  return MakeError(ErrorCode::kInternal, what, e.get_type() + std::string(": ") + e.get_msg());
}

// No fsync on commit: the index is derived from the log, which is the durable copy. A commit
// lost to a power loss is indexed again from the LSN the surviving one recorded, and a torn
// database is rebuilt (Open). Syncing would put Xapian's flushes in the way of the log's.
constexpr int kFlags = Xapian::DB_NO_SYNC;

Lsn ParseLsn(const std::string& text) {
  Lsn lsn = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    lsn = lsn * 10 + static_cast<Lsn>(c - '0');
  }
  return lsn;
}

}  // namespace

std::string IndexDir(const std::string& data_dir, ShardId shard) {
  return data_dir + "/search/shard-" + std::to_string(shard);
}

ShardIndexer::ShardIndexer(std::string dir, const persist::LmdbLogStore* log,
                           IndexerOptions options)
    : dir_(std::move(dir)), log_(log), options_(std::move(options)) {
  generator_.set_stemmer(Stemmer());
  generator_.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
  generator_.set_flags(Xapian::TermGenerator::FLAG_CJK_NGRAM);
}

ShardIndexer::~ShardIndexer() { Stop(); }

Status ShardIndexer::Open() {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir_).parent_path(), ec);
  if (ec) {
    return MakeError(ErrorCode::kUnavailable, "cannot create the search index directory",
                     dir_ + ": " + ec.message());
  }
  bool rebuild = options_.rebuild;
  Lsn lsn = 0;
  try {
    try {
      db_ = std::make_unique<Xapian::WritableDatabase>(
          dir_, (rebuild ? Xapian::DB_CREATE_OR_OVERWRITE : Xapian::DB_CREATE_OR_OPEN) | kFlags);
    } catch (const Xapian::DatabaseCorruptError&) {
      // Without fsync (kFlags) a power loss may leave the files torn: the log has it all.
      db_ = std::make_unique<Xapian::WritableDatabase>(dir_,
                                                       Xapian::DB_CREATE_OR_OVERWRITE | kFlags);
    }
    std::string format = db_->get_metadata(std::string(kMetaFormat));
    lsn = ParseLsn(db_->get_metadata(std::string(kMetaLsn)));
    if (format.empty()) {
      rebuilt_ = true;  // new: built from the start of the log below
      lsn = 0;
    } else if (format != kIndexFormat) {
      rebuild = true;
    } else if (lsn > 0) {
      // The record the index last took must still be in the log, byte for byte.
      std::string want = db_->get_metadata(std::string(kMetaLsnHash));
      uint64_t found = 0;
      bool present = false;
      Status read = log_->Scan(lsn, 1, [&](Lsn at, std::string_view bytes) {
        present = at == lsn;
        found = EmailHash(bytes);
        return OkStatus();
      });
      if (!read.ok()) return read;
      if (!present || want != std::to_string(found)) rebuild = true;
      applied_hash_ = found;  // resuming: a commit with nothing new records the same record
    }
    if (rebuild && !options_.rebuild) {
      db_.reset();  // release the lock before reopening to overwrite
      db_ = std::make_unique<Xapian::WritableDatabase>(dir_,
                                                       Xapian::DB_CREATE_OR_OVERWRITE | kFlags);
    }
    if (rebuild) {
      rebuilt_ = true;
      lsn = 0;
    }
    documents_ = db_->get_doccount();
  } catch (const Xapian::DatabaseLockError& e) {
    return MakeError(ErrorCode::kUnavailable,
                     "the search index is in use by another process (a running parleyd?)",
                     dir_ + ": " + e.get_msg());
  } catch (const Xapian::Error& e) {
    return XapianError("cannot open the search index " + dir_, e);
  }
  applied_lsn_ = lsn;
  indexed_lsn_ = lsn;
  return OkStatus();
}

void ShardIndexer::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), options_.thread_name.substr(0, 15).c_str());
    if (options_.idle_priority) {
      sched_param none{};
      pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);  // best effort
    }
    Run();
  });
}

void ShardIndexer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status ShardIndexer::CatchUp() {
  for (;;) {
    Result<size_t> read = IndexSome();
    if (!read.ok()) return read.error();
    if (*read < options_.records_per_read) break;
    if (uncommitted_ >= options_.changes_per_commit) {
      if (Status s = Commit(); !s.ok()) return s;
    }
  }
  if (Status s = Commit(); !s.ok()) return s;
  caught_up_ = true;
  return OkStatus();
}

void ShardIndexer::Run() {
  auto last_commit = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Result<size_t> read = IndexSome();
    bool behind = read.ok() && *read == options_.records_per_read;
    auto now = std::chrono::steady_clock::now();
    Status committed = OkStatus();
    bool progress = applied_lsn_ != indexed_lsn();
    // Caught up: commit at once, so a new message is searchable within a poll interval.
    // Behind: batch, but commit at least every busy_commit_interval. Records that change no
    // document (sessions, presence) are committed with the next change, or within seconds.
    bool due = uncommitted_ > 0 ? (!behind || uncommitted_ >= options_.changes_per_commit ||
                                   now - last_commit >= options_.busy_commit_interval)
                                : progress && now - last_commit >= std::chrono::seconds(5);
    if (due) {
      committed = Commit();
      last_commit = now;
    }
    if (!read.ok() && options_.on_error) options_.on_error(read.error());
    if (!committed.ok() && options_.on_error) options_.on_error(committed.error());
    if (read.ok() && committed.ok() && !behind && uncommitted_ == 0) caught_up_ = true;
    lock.lock();
    if (!behind) {
      auto pause = read.ok() && committed.ok() ? options_.idle_poll : std::chrono::seconds(1);
      wake_.wait_for(lock, pause, [this] { return stopping_; });
    }
  }
  lock.unlock();
  if (applied_lsn_ != indexed_lsn()) {
    if (Status s = Commit(); !s.ok() && options_.on_error) options_.on_error(s.error());
  }
}

Result<size_t> ShardIndexer::IndexSome() {
  size_t read = 0;
  Event event;
  Status status = OkStatus();
  try {
    status = log_->Scan(applied_lsn_ + 1, options_.records_per_read,
                        [&](Lsn lsn, std::string_view bytes) -> Status {
                          if (Status d = persist::DecodeEventInto(bytes, event); !d.ok()) {
                            Error e = d.error();
                            e.details = dir_ + " lsn " + std::to_string(lsn) + ": " + e.details;
                            return e;
                          }
                          Index(event);
                          applied_lsn_ = lsn;
                          applied_hash_ = EmailHash(bytes);
                          ++read;
                          return OkStatus();
                        });
  } catch (const Xapian::Error& e) {
    status = XapianError("search indexing failed", e);
  }
  // Whatever was applied is described with it, even after a failure: Xapian commits pending
  // changes when the database is closed, and a resume must start right after them.
  if (Status noted = NoteApplied(); !noted.ok() && status.ok()) status = noted;
  if (!status.ok()) return status.error();
  return read;
}

Status ShardIndexer::NoteApplied() {
  try {
    db_->set_metadata(std::string(kMetaFormat), std::string(kIndexFormat));
    db_->set_metadata(std::string(kMetaLsn), std::to_string(applied_lsn_));
    db_->set_metadata(std::string(kMetaLsnHash), std::to_string(applied_hash_));
  } catch (const Xapian::Error& e) {
    return XapianError("search index metadata failed", e);
  }
  return OkStatus();
}

Status ShardIndexer::Commit() {
  if (Status noted = NoteApplied(); !noted.ok()) return noted;
  try {
    db_->commit();
    documents_ = db_->get_doccount();
  } catch (const Xapian::Error& e) {
    return XapianError("search index commit failed", e);
  }
  uncommitted_ = 0;
  indexed_lsn_.store(applied_lsn_, std::memory_order_release);
  return OkStatus();
}

// Messages are new by construction (each is indexed once, from its own log record), so they
// skip the lookup; a channel or a person replaces any copy, so a record applied twice after a
// failed batch stays one document.
void ShardIndexer::Add(const DocRecord& record) {
  if (record.kind == DocKind::kMessage) {
    db_->add_document(BuildDocument(record, generator_));
  } else {
    db_->replace_document(IdTermOf(record), BuildDocument(record, generator_));
  }
  ++uncommitted_;
}

template <class Fn>
void ShardIndexer::Update(const std::string& id_term, Fn&& change) {
  Xapian::PostingIterator it = db_->postlist_begin(id_term);
  if (it == db_->postlist_end(id_term)) return;
  Xapian::docid id = *it;
  Result<DocRecord> record = DecodeRecord(db_->get_document(id).get_data());
  if (!record.ok() || !change(*record)) return;
  db_->replace_document(id, BuildDocument(*record, generator_));
  ++uncommitted_;
}

void ShardIndexer::Index(const Event& event) {
  std::visit(
      [this](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, MessagePosted> || std::is_same_v<T, ThreadReplyPosted>) {
          DocRecord r;
          r.kind = DocKind::kMessage;
          r.channel_id = e.channel_id;
          r.seq = e.seq;
          r.author_id = e.author_id;
          r.at = e.at;
          r.text = e.text;
          if constexpr (std::is_same_v<T, ThreadReplyPosted>) {
            r.thread_seq = e.thread_seq;
            Update(MessageIdTerm(e.channel_id, e.thread_seq), [](DocRecord& root) {
              return !std::exchange(root.has_replies, true);
            });
          }
          Add(r);
        } else if constexpr (std::is_same_v<T, MessageEdited>) {
          Update(MessageIdTerm(e.channel_id, e.seq), [&](DocRecord& r) {
            r.text = e.text;
            return true;
          });
        } else if constexpr (std::is_same_v<T, MessageDeleted>) {
          db_->delete_document(MessageIdTerm(e.channel_id, e.seq));
          ++uncommitted_;
        } else if constexpr (std::is_same_v<T, MessagesExpired>) {
          // At most kMaxExpiredPerSweep seqs (the sweep's bound); deleted ones are absent.
          for (Seq seq = e.from_seq; seq <= e.up_to_seq; ++seq) {
            db_->delete_document(MessageIdTerm(e.channel_id, seq));
            ++uncommitted_;
          }
        } else if constexpr (std::is_same_v<T, ReactionAdded>) {
          Update(MessageIdTerm(e.channel_id, e.seq), [](DocRecord& r) {
            ++r.reactions;
            return true;  // the count is kept, so the record is rewritten either way
          });
        } else if constexpr (std::is_same_v<T, ReactionRemoved>) {
          Update(MessageIdTerm(e.channel_id, e.seq), [](DocRecord& r) {
            if (r.reactions > 0) --r.reactions;
            return true;  // the count is kept, so the record is rewritten either way
          });
        } else if constexpr (std::is_same_v<T, PinChanged>) {
          Update(MessageIdTerm(e.channel_id, e.seq), [&](DocRecord& r) {
            return std::exchange(r.pinned, e.pinned) != e.pinned;
          });
        } else if constexpr (std::is_same_v<T, WorkspaceCreated>) {
          for (auto [id, name] : {std::pair{e.general_id, kGeneralChannel},
                                   std::pair{e.random_id, kRandomChannel}}) {
            DocRecord r;
            r.kind = DocKind::kChannel;
            r.channel_id = id;
            r.workspace_id = e.workspace_id;
            r.name = name;
            Add(r);
          }
        } else if constexpr (std::is_same_v<T, ChannelCreated>) {
          DocRecord r;
          r.kind = DocKind::kChannel;
          r.channel_id = e.channel_id;
          r.workspace_id = e.workspace_id;
          r.name = e.name;
          r.is_private = e.is_private;
          Add(r);
        } else if constexpr (std::is_same_v<T, ChannelDetailsChanged>) {
          Update(ChannelIdTerm(e.channel_id), [&](DocRecord& r) {
            r.name = e.name;
            r.topic = e.topic;
            r.purpose = e.purpose;
            return true;
          });
        } else if constexpr (std::is_same_v<T, UserRegistered>) {
          DocRecord r;
          r.kind = DocKind::kPerson;
          r.user_id = e.user_id;
          r.display_name = e.display_name;
          r.email = e.email;
          Add(r);
        } else if constexpr (std::is_same_v<T, ProfileUpdated>) {
          Update(PersonIdTerm(e.user_id), [&](DocRecord& r) {
            r.display_name = e.display_name;
            r.title = e.title;
            return true;
          });
        }
      },
      event);
}

}  // namespace parley::search
