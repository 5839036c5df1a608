#include "persist/snapshot.h"

#include <algorithm>
#include <bit>
#include <concepts>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "core/snapshot_fields.h"
#include "persist/codec.h"

namespace parley::persist {
namespace {

// Header: "PSNP", then little-endian u32 format_version, u32 shard, u32 shard_count, u64 lsn,
// u64 record_hash, u64 reserved (0). The body follows: the members of core/snapshot_fields.h in
// order, each as
//   unsigned integer, enum: LEB128 varint; signed integer: zigzag, then varint; bool: one byte
//   0 or 1; string: varint length, then the bytes; sequence, set, map: varint count, then the
//   elements (a map's as key, value), in order, unordered containers sorted by key; pair: first,
//   second; struct: its members; feed entry: the log's event encoding as a string.
constexpr char kMagic[4] = {'P', 'S', 'N', 'P'};
constexpr size_t kHashOffset = 24;
constexpr size_t kReservedOffset = 32;
static_assert(kReservedOffset + 8 == kSnapshotHeaderBytes);

template <class T>
constexpr bool kIsUnorderedMap = false;
template <class K, class V, class H, class E, class A>
constexpr bool kIsUnorderedMap<std::unordered_map<K, V, H, E, A>> = true;
template <class T>
constexpr bool kIsUnorderedSet = false;
template <class K, class H, class E, class A>
constexpr bool kIsUnorderedSet<std::unordered_set<K, H, E, A>> = true;

class Writer;
template <class T>
concept Listed = requires(Writer& w, const T& t) { SnapshotFields(w, t); };

void PutFixed(std::string& out, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t GetFixed(const char* p, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return value;
}

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  template <class... T>
  void operator()(const T&... members) {
    (Put(members), ...);
  }

  void Put(bool b) { out_.push_back(b ? 1 : 0); }
  template <std::unsigned_integral T>
  void Put(T value) {
    char buf[10];
    size_t n = 0;
    uint64_t v = value;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_.append(buf, n);
  }
  template <std::signed_integral T>
  void Put(T value) {
    const int64_t v = value;
    Put((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  template <class T>
    requires std::is_enum_v<T>
  void Put(T value) {
    Put(static_cast<std::underlying_type_t<T>>(value));
  }
  void Put(std::string_view s) {
    Put(uint64_t{s.size()});
    out_.append(s);
  }
  void Put(const std::string& s) { Put(std::string_view(s)); }
  void Put(const MessageText& s) { Put(std::string_view(s)); }
  template <class A, class B>
  void Put(const std::pair<A, B>& p) {
    Put(p.first);
    Put(p.second);
  }
  template <class T>
  void Put(const std::vector<T>& items) {
    PutRange(items);
  }
  template <class T>
  void Put(const std::deque<T>& items) {
    PutRange(items);
  }
  template <class T>
  void Put(const std::set<T>& items) {
    PutRange(items);
  }
  template <class K, class V>
  void Put(const std::map<K, V>& items) {
    PutRange(items);
  }
  template <class T>
    requires kIsUnorderedMap<T> || kIsUnorderedSet<T>
  void Put(const T& items) {
    std::vector<const typename T::value_type*> sorted;
    sorted.reserve(items.size());
    for (const auto& item : items) sorted.push_back(&item);
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
      if constexpr (kIsUnorderedMap<T>) {
        return a->first < b->first;
      } else {
        return *a < *b;
      }
    });
    Put(uint64_t{sorted.size()});
    for (const auto* item : sorted) Put(*item);
  }
  void Put(const ChunkedVector<StoredMessage>& messages) {
    Put(uint64_t{messages.size()});
    for (size_t i = 0; i < messages.size(); ++i) Put(messages[i]);
  }
  void Put(const FeedEvent& entry) {
    Put(std::visit([](const auto& e) { return EncodeEvent(Event(e)); }, entry));
  }
  template <Listed T>
  void Put(const T& s) {
    SnapshotFields(*this, s);
  }

 private:
  template <class R>
  void PutRange(const R& items) {
    Put(uint64_t{items.size()});
    for (const auto& item : items) Put(item);
  }

  std::string& out_;
};

// Reads what Writer wrote. The first problem stops it: every later read yields a default value
// and every count zero, so decoding ends quickly, and error() names the first problem.
class Reader {
 public:
  // Channels' message chunks come from `messages`, their texts from `texts`.
  Reader(std::string_view bytes, std::pmr::memory_resource* messages,
         std::pmr::memory_resource* texts)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()), messages_(messages), texts_(texts) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  void Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    p_ = end_;
  }

  template <class... T>
  void operator()(T&... members) {
    (Get(members), ...);
  }

  void Get(bool& b) {
    if (p_ == end_) return Fail("truncated");
    const unsigned char c = static_cast<unsigned char>(*p_++);
    if (c > 1) return Fail("bool of " + std::to_string(c));
    b = c == 1;
  }
  template <std::unsigned_integral T>
  void Get(T& value) {
    uint64_t v = 0;
    if (p_ != end_ && static_cast<unsigned char>(*p_) < 0x80) {  // most values: one byte
      v = static_cast<unsigned char>(*p_++);
    } else {
      for (unsigned shift = 0;; shift += 7) {
        if (p_ == end_) return Fail("truncated");
        if (shift > 63) return Fail("varint too long");
        const unsigned char c = static_cast<unsigned char>(*p_++);
        v |= uint64_t{c & 0x7fu} << shift;
        if (c < 0x80) break;
      }
    }
    if (v > std::numeric_limits<T>::max()) return Fail("value out of range");
    value = static_cast<T>(v);
  }
  template <std::signed_integral T>
  void Get(T& value) {
    uint64_t v = 0;
    Get(v);
    const int64_t decoded = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
    if (decoded < std::numeric_limits<T>::min() || decoded > std::numeric_limits<T>::max()) {
      return Fail("value out of range");
    }
    value = static_cast<T>(decoded);
  }
  template <class T>
    requires std::is_enum_v<T>
  void Get(T& value) {
    std::underlying_type_t<T> raw{};
    Get(raw);
    value = static_cast<T>(raw);
  }
  void Get(std::string& s) {
    size_t n = Count();
    s.assign(p_, n);
    p_ += n;
  }
  void Get(MessageText& s) {
    size_t n = Count();
    s.assign(p_, n);
    p_ += n;
  }
  template <class A, class B>
  void Get(std::pair<A, B>& p) {
    Get(p.first);
    Get(p.second);
  }
  template <class T>
  void Get(std::vector<T>& items) {
    size_t n = Count();
    items.clear();
    items.reserve(n);
    for (size_t i = 0; i < n && ok(); ++i) Get(items.emplace_back());
  }
  template <class T>
  void Get(std::deque<T>& items) {
    size_t n = Count();
    items.clear();
    for (size_t i = 0; i < n && ok(); ++i) Get(items.emplace_back());
  }
  template <class T>
  void Get(std::set<T>& items) {
    size_t n = Count();
    items.clear();
    for (size_t i = 0; i < n && ok(); ++i) {
      T item{};
      Get(item);
      if (ok() && !items.empty() && !(*items.rbegin() < item)) return Fail("set out of order");
      items.insert(items.end(), std::move(item));
    }
  }
  template <class K, class V>
  void Get(std::map<K, V>& items) {
    size_t n = Count();
    items.clear();
    for (size_t i = 0; i < n && ok(); ++i) {
      std::pair<K, V> item{};
      Get(item.first);
      if (ok() && !items.empty() && !(items.rbegin()->first < item.first)) {
        return Fail("map out of order");
      }
      Get(item.second);
      items.insert(items.end(), std::move(item));
    }
  }
  template <class K, class V, class H, class E, class A>
  void Get(std::unordered_map<K, V, H, E, A>& items) {
    size_t n = Count();
    items.clear();
    items.reserve(n);
    for (size_t i = 0; i < n && ok(); ++i) {
      K key{};
      Get(key);
      V value = Fresh<V>();
      Get(value);
      if (ok() && !items.emplace(std::move(key), std::move(value)).second) {
        return Fail("duplicate key");
      }
    }
  }
  template <class K, class H, class E, class A>
  void Get(std::unordered_set<K, H, E, A>& items) {
    size_t n = Count();
    items.clear();
    items.reserve(n);
    for (size_t i = 0; i < n && ok(); ++i) {
      K key{};
      Get(key);
      if (ok() && !items.insert(std::move(key)).second) return Fail("duplicate key");
    }
  }
  void Get(ChunkedVector<StoredMessage>& messages) {
    size_t n = Count();
    messages = ChunkedVector<StoredMessage>(messages_);
    for (size_t i = 0; i < n && ok(); ++i) {
      // Constructed with its texts' memory, which assigning to them keeps.
      Get(messages.emplace_back(
          StoredMessage{.client_msg_id = MessageText(texts_), .text = MessageText(texts_)}));
    }
  }
  void Get(FeedEvent& entry) {
    std::string bytes;
    Get(bytes);
    if (!ok()) return;
    Result<Event> event = DecodeEvent(bytes);
    if (!event.ok()) return Fail("feed entry: " + event.error().details);
    std::visit(
        [&](auto& e) {
          if constexpr (std::is_constructible_v<FeedEvent, decltype(std::move(e))>) {
            entry = std::move(e);
          } else {
            Fail(std::string("feed entry of kind ") + std::string(EventName(TagOf(*event))));
          }
        },
        *event);
  }
  template <Listed T>
  void Get(T& s) {
    SnapshotFields(*this, s);
  }

 private:
  // An element count or string length: each element takes at least one byte, so a count
  // above the bytes left is corrupt, and nothing is allocated for it.
  size_t Count() {
    uint64_t n = 0;
    Get(n);
    if (n > left()) {
      Fail("count " + std::to_string(n) + " exceeds the " + std::to_string(left()) +
           " bytes left");
      return 0;
    }
    return static_cast<size_t>(n);
  }
  // A value read into a container: channels get the state's message memory.
  template <class V>
  V Fresh() {
    if constexpr (std::is_same_v<V, ChannelState>) {
      ChannelState channel;
      channel.messages = ChunkedVector<StoredMessage>(messages_);
      return channel;
    } else {
      return V{};
    }
  }

  const char* p_;
  const char* end_;
  std::pmr::memory_resource* messages_;
  std::pmr::memory_resource* texts_;
  std::string error_;
};

Error Corrupt(std::string details) {
  return MakeError(ErrorCode::kInternal, "unreadable snapshot", std::move(details));
}

// An upper bound of the bytes messages take, so the output is allocated once.
size_t MessageBytes(const ShardState& state) {
  size_t bytes = 0;
  for (const auto& [id, channel] : state.channels()) {
    for (size_t i = 0; i < channel.messages.size(); ++i) {
      const StoredMessage& m = channel.messages[i];
      bytes += 64 + m.text.size() + m.client_msg_id.size();
    }
  }
  return bytes;
}

}  // namespace

uint64_t RecordHash(std::string_view record) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : record) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string EncodeSnapshot(const ShardState& state, Lsn lsn, uint64_t record_hash) {
  std::string out;
  out.reserve(kSnapshotHeaderBytes + MessageBytes(state) + (size_t{1} << 16));
  out.append(kMagic, sizeof(kMagic));
  PutFixed(out, kSnapshotFormatVersion, 4);
  PutFixed(out, state.shard(), 4);
  PutFixed(out, state.shard_count(), 4);
  PutFixed(out, lsn, 8);
  PutFixed(out, record_hash, 8);
  PutFixed(out, 0, 8);
  Writer writer(out);
  ShardStateSnapshot::Fields(writer, state);
  return out;
}

Result<SnapshotHeader> DecodeSnapshotHeader(std::string_view bytes) {
  if (bytes.size() < kSnapshotHeaderBytes || std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return Corrupt("not a parley snapshot");
  }
  SnapshotHeader h;
  h.format_version = static_cast<uint32_t>(GetFixed(bytes.data() + 4, 4));
  h.shard = static_cast<ShardId>(GetFixed(bytes.data() + 8, 4));
  h.shard_count = static_cast<uint32_t>(GetFixed(bytes.data() + 12, 4));
  h.lsn = GetFixed(bytes.data() + 16, 8);
  h.record_hash = GetFixed(bytes.data() + kHashOffset, 8);
  if (h.format_version != kSnapshotFormatVersion) {
    return Corrupt("snapshot format version " + std::to_string(h.format_version) +
                   "; this build reads " + std::to_string(kSnapshotFormatVersion));
  }
  if (GetFixed(bytes.data() + kReservedOffset, 8) != 0) {
    return Corrupt("reserved header bytes are not 0");
  }
  return h;
}

Status DecodeSnapshot(std::string_view bytes, ShardState& state) {
  Result<SnapshotHeader> header = DecodeSnapshotHeader(bytes);
  if (!header.ok()) return header.error();
  if (header->shard != state.shard() || header->shard_count != state.shard_count()) {
    return Corrupt("snapshot of shard " + std::to_string(header->shard) + " of " +
                   std::to_string(header->shard_count) + ", not of shard " +
                   std::to_string(state.shard()) + " of " + std::to_string(state.shard_count()));
  }
  Reader reader(bytes.substr(kSnapshotHeaderBytes), ShardStateSnapshot::MessageMemory(state),
                ShardStateSnapshot::TextMemory(state));
  ShardStateSnapshot::Fields(reader, state);
  if (!reader.ok()) return Corrupt(reader.error());
  if (reader.left() != 0) return Corrupt(std::to_string(reader.left()) + " trailing bytes");
  if (state.version() != header->lsn) {
    return Corrupt("state version " + std::to_string(state.version()) + " at lsn " +
                   std::to_string(header->lsn));
  }
  return OkStatus();
}

Status StoreSnapshot(LogStore& store, std::string encoded, size_t keep) {
  Result<SnapshotHeader> header = DecodeSnapshotHeader(encoded);
  if (!header.ok()) return header.error();
  uint64_t hash = 0;
  if (header->lsn > 0) {
    Status read = store.ReadRecord(header->lsn, [&](std::string_view record) {
      hash = RecordHash(record);
      return OkStatus();
    });
    if (!read.ok()) return read;
  }
  for (size_t i = 0; i < 8; ++i) encoded[kHashOffset + i] = static_cast<char>(hash >> (8 * i));
  return store.PutSnapshot(header->lsn, encoded, keep);
}

Result<SnapshotLoad> LoadNewestSnapshot(LogStore& store, ShardState& state,
                                        const std::function<void()>& make_fresh) {
  Result<std::vector<Lsn>> lsns = store.SnapshotLsns();
  if (!lsns.ok()) return lsns.error();
  SnapshotLoad load;
  auto skip = [&](Lsn lsn, const std::string& why) {
    if (load.skipped++ == 0) load.skip_reason = "snapshot at lsn " + std::to_string(lsn) + ": " + why;
  };
  for (Lsn lsn : *lsns) {
    uint64_t log_hash = 0;
    bool in_log = false;
    if (lsn > 0) {
      Status read = store.ReadRecord(lsn, [&](std::string_view record) {
        log_hash = RecordHash(record);
        in_log = true;
        return OkStatus();
      });
      if (!read.ok() && read.error().code != ErrorCode::kNotFound) return read.error();
    }
    bool loaded = false;
    Status read = store.ReadSnapshot(lsn, [&](std::string_view bytes) -> Status {
      Result<SnapshotHeader> header = DecodeSnapshotHeader(bytes);
      if (!header.ok()) return header.error();
      if (header->lsn != lsn) return Corrupt("header names lsn " + std::to_string(header->lsn));
      if (lsn > 0 && !in_log) return Corrupt("the log ends before it");
      if (header->record_hash != log_hash) {
        return Corrupt("the log's record at its lsn is not the one it was taken after");
      }
      Status decoded = DecodeSnapshot(bytes, state);
      if (!decoded.ok()) {
        make_fresh();
        return decoded;
      }
      loaded = true;
      return OkStatus();
    });
    if (loaded) {
      load.lsn = lsn;
      return load;
    }
    skip(lsn, read.ok() ? "unread" : read.error().message + ": " + read.error().details);
  }
  return load;
}

}  // namespace parley::persist
