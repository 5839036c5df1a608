#include "persist/codec.h"

#include <bit>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <msgpack.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace parley::persist {
namespace {

// Stable tags (core/events.h). Kept here instead of calling core's TagOf so that the storage
// format is readable in one file, next to the field lists below.
template <class T>
constexpr EventTag kTagOf = EventTag{0};
template <>
constexpr EventTag kTagOf<UserRegistered> = EventTag::kUserRegistered;
template <>
constexpr EventTag kTagOf<WorkspaceCreated> = EventTag::kWorkspaceCreated;
template <>
constexpr EventTag kTagOf<WorkspaceJoined> = EventTag::kWorkspaceJoined;
template <>
constexpr EventTag kTagOf<ChannelCreated> = EventTag::kChannelCreated;
template <>
constexpr EventTag kTagOf<ChannelJoined> = EventTag::kChannelJoined;
template <>
constexpr EventTag kTagOf<ChannelLeft> = EventTag::kChannelLeft;
template <>
constexpr EventTag kTagOf<MessagePosted> = EventTag::kMessagePosted;

// Elements before an event's own fields: [tag, schema_version, ...].
constexpr size_t kHeaderElements = 2;

// Bounds for msgpack's unpacker, which allocates an array's slots as soon as it reads the
// header. Without them a 5-byte array32 header claiming 2^32 elements would ask for ~100 GB.
// Depth 2 allows one level of nesting (none is used yet); every array is then at most
// kMaxElements long, so decoding any input allocates at most ~100 KB beyond its strings.
constexpr size_t kMaxElements = 64;
constexpr size_t kMaxDepth = 2;
constexpr size_t kMaxStringBytes = size_t{64} << 20;

// E is T or const T: one field list serves the encoder (const events) and the decoder.
template <class E, class T>
concept Is = std::same_as<std::remove_const_t<E>, T>;

// Each event's fields in declaration order. This order IS the on-disk format
// (docs/log_format.md): never reorder or reinterpret; add fields only at the end, under a new
// schema version.
template <class V, Is<UserRegistered> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Text("email", e.email);
  v.Text("display_name", e.display_name);
  v.Bytes("password_salt", e.password_salt);
  v.Bytes("password_hash", e.password_hash);
  v.Time("at", e.at);
}

template <class V, Is<WorkspaceCreated> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Text("name", e.name);
  v.Uint("owner_id", e.owner_id);
  v.Uint("general_id", e.general_id);
  v.Uint("random_id", e.random_id);
  v.Time("at", e.at);
}

template <class V, Is<WorkspaceJoined> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Uint("user_id", e.user_id);
  v.Time("at", e.at);
}

template <class V, Is<ChannelCreated> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Uint("channel_id", e.channel_id);
  v.Text("name", e.name);
  v.Bool("is_private", e.is_private);
  v.Uint("creator_id", e.creator_id);
  v.Time("at", e.at);
}

template <class V, Is<ChannelJoined> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("user_id", e.user_id);
  v.Time("at", e.at);
}

template <class V, Is<ChannelLeft> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("user_id", e.user_id);
  v.Time("at", e.at);
}

template <class V, Is<MessagePosted> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("seq", e.seq);
  v.Uint("message_id", e.message_id);
  v.Uint("author_id", e.author_id);
  v.Text("client_msg_id", e.client_msg_id);
  v.Text("text", e.text);
  v.Time("at", e.at);
}

struct FieldCounter {
  size_t count = 0;
  void Uint(const char*, const uint64_t&) { ++count; }
  void Time(const char*, const int64_t&) { ++count; }
  void Bool(const char*, const bool&) { ++count; }
  void Text(const char*, const std::string&) { ++count; }
  void Bytes(const char*, const std::string&) { ++count; }
};

template <class T>
size_t FieldCount() {
  static const size_t count = [] {
    FieldCounter counter;
    const T event{};
    Fields(counter, event);
    return counter.count;
  }();
  return count;
}

// msgpack's packer appends to any stream with write(); this one appends to the result string
// directly, saving the copy out of an sbuffer.
struct StringSink {
  std::string* out;
  void write(const char* data, size_t size) { out->append(data, size); }
};

class FieldWriter {
 public:
  explicit FieldWriter(std::string* out) : sink_{out}, packer_(sink_) {}

  void Header(EventTag tag, size_t field_count) {
    packer_.pack_array(static_cast<uint32_t>(kHeaderElements + field_count));
    packer_.pack_uint64(static_cast<uint64_t>(tag));
    packer_.pack_uint64(kEventSchemaVersion);
  }
  void Uint(const char*, uint64_t value) { packer_.pack_uint64(value); }
  void Time(const char*, int64_t value) { packer_.pack_int64(value); }
  void Bool(const char*, bool value) { value ? packer_.pack_true() : packer_.pack_false(); }
  void Text(const char*, const std::string& value) {
    const auto size = static_cast<uint32_t>(value.size());
    packer_.pack_str(size);
    packer_.pack_str_body(value.data(), size);
  }
  void Bytes(const char*, const std::string& value) {
    const auto size = static_cast<uint32_t>(value.size());
    packer_.pack_bin(size);
    packer_.pack_bin_body(value.data(), size);
  }

 private:
  StringSink sink_;
  msgpack::packer<StringSink> packer_;
};

const char* TypeName(msgpack::type::object_type type) {
  switch (type) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return "bool";
    case msgpack::type::POSITIVE_INTEGER:
      return "uint";
    case msgpack::type::NEGATIVE_INTEGER:
      return "negative int";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return "float";
    case msgpack::type::STR:
      return "str";
    case msgpack::type::BIN:
      return "bin";
    case msgpack::type::ARRAY:
      return "array";
    case msgpack::type::MAP:
      return "map";
    case msgpack::type::EXT:
      return "ext";
  }
  return "unknown type";
}

Error Corrupt(std::string details) {
  return MakeError(ErrorCode::kInternal, "corrupt event", std::move(details));
}

// Reads an event's fields from the elements of its array, checking each element's type. After
// the first mismatch it stops reading and remembers the problem.
class FieldReader {
 public:
  explicit FieldReader(const msgpack::object_array& array) : array_(array) {}

  void Uint(const char* name, uint64_t& out) {
    const msgpack::object* item = Next(name, msgpack::type::POSITIVE_INTEGER, "uint");
    if (item != nullptr) out = item->via.u64;
  }
  void Time(const char* name, int64_t& out) {
    const msgpack::object* item = Peek();
    if (item != nullptr && item->type == msgpack::type::POSITIVE_INTEGER &&
        item->via.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      Fail(name, "int64 out of range");
      return;
    }
    if (item != nullptr && item->type == msgpack::type::NEGATIVE_INTEGER) {
      out = item->via.i64;
      ++index_;
      return;
    }
    item = Next(name, msgpack::type::POSITIVE_INTEGER, "int");
    if (item != nullptr) out = static_cast<int64_t>(item->via.u64);
  }
  void Bool(const char* name, bool& out) {
    const msgpack::object* item = Next(name, msgpack::type::BOOLEAN, "bool");
    if (item != nullptr) out = item->via.boolean;
  }
  void Text(const char* name, std::string& out) {
    const msgpack::object* item = Next(name, msgpack::type::STR, "str");
    if (item != nullptr) out.assign(item->via.str.ptr, item->via.str.size);
  }
  void Bytes(const char* name, std::string& out) {
    const msgpack::object* item = Next(name, msgpack::type::BIN, "bin");
    if (item != nullptr) out.assign(item->via.bin.ptr, item->via.bin.size);
  }

  bool failed() const { return !problem_.empty(); }
  const std::string& problem() const { return problem_; }

 private:
  const msgpack::object* Peek() const {
    return failed() || index_ >= array_.size ? nullptr : &array_.ptr[index_];
  }

  // The next element if it has the wanted type; otherwise records the problem.
  const msgpack::object* Next(const char* name, msgpack::type::object_type want,
                              const char* want_name) {
    const msgpack::object* item = Peek();
    if (item == nullptr) {
      if (!failed()) Fail(name, "missing");
      return nullptr;
    }
    if (item->type != want) {
      Fail(name, std::string("expected ") + want_name + ", got " + TypeName(item->type));
      return nullptr;
    }
    ++index_;
    return item;
  }

  void Fail(const char* name, const std::string& what) {
    problem_ = "field " + std::to_string(index_) + " " + name + ": " + what;
  }

  const msgpack::object_array& array_;
  size_t index_ = kHeaderElements;
  std::string problem_;
};

// Reads a record straight from its bytes, without msgpack's object tree: no zone to allocate,
// and each string is copied once, into the event. It takes any encoding of a field's value, not
// only the shortest one EncodeEvent writes, but gives up (ok() turns false) at the first thing it
// does not expect, and never says why: the record then goes to the unpacker, which decodes it or
// names the problem. So it must never accept what the unpacker rejects, nor read a value
// differently; codec_test compares the two.
class DirectReader {
 public:
  explicit DirectReader(std::string_view bytes)
      : p_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(p_ + bytes.size()) {}

  // Elements of the fixarray (at most 15 elements) that must open the record.
  size_t ArrayHeader() {
    if (!Has(1) || (*p_ & 0xf0) != 0x90) {
      Fail();
      return 0;
    }
    return *p_++ & 0x0f;
  }
  void Uint(const char*, uint64_t& out) {
    const Int value = ReadInt();
    if (value.negative) Fail();
    out = value.bits;
  }
  void Time(const char*, int64_t& out) {
    const Int value = ReadInt();
    if (!value.negative && value.bits > uint64_t{std::numeric_limits<int64_t>::max()}) Fail();
    out = static_cast<int64_t>(value.bits);
  }
  void Bool(const char*, bool& out) {
    if (!Has(1) || (*p_ != 0xc2 && *p_ != 0xc3)) return Fail();
    out = *p_++ == 0xc3;
  }
  void Text(const char*, std::string& out) {
    if (!Has(1)) return Fail();
    const unsigned char head = *p_++;
    if ((head & 0xe0) == 0xa0) return ReadBody(head & 0x1f, out);  // fixstr
    if (head < 0xd9 || head > 0xdb) return Fail();
    ReadSizedBody(size_t{1} << (head - 0xd9), out);  // str 8 / 16 / 32
  }
  void Bytes(const char*, std::string& out) {
    if (!Has(1)) return Fail();
    const unsigned char head = *p_++;
    if (head < 0xc4 || head > 0xc6) return Fail();
    ReadSizedBody(size_t{1} << (head - 0xc4), out);  // bin 8 / 16 / 32
  }

  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }

 private:
  // An integer as the unpacker types it: negative only if its value is below zero, whichever
  // encoding carries it (int 8..64 may hold non-negative values). `bits` holds it as uint64.
  struct Int {
    uint64_t bits = 0;
    bool negative = false;
  };
  static Int Signed(int64_t value) { return Int{static_cast<uint64_t>(value), value < 0}; }

  // Every later read fails too.
  void Fail() {
    ok_ = false;
    p_ = end_;
  }
  Int Failed() {
    Fail();
    return Int{};
  }
  bool Has(size_t n) const { return static_cast<size_t>(end_ - p_) >= n; }

  // REQUIRES: Has(width); width is 1, 2, 4 or 8.
  uint64_t LoadBigEndian(size_t width) {
    uint64_t value = 0;
    switch (width) {
      case 1:
        value = p_[0];
        break;
      case 2:
        value = FromBigEndian<uint16_t>(p_);
        break;
      case 4:
        value = FromBigEndian<uint32_t>(p_);
        break;
      default:
        value = FromBigEndian<uint64_t>(p_);
        break;
    }
    p_ += width;
    return value;
  }

  // One unaligned load (and a byte swap on little-endian hosts) instead of a byte-by-byte loop.
  template <class U>
  static U FromBigEndian(const unsigned char* bytes) {
    U value;
    std::memcpy(&value, bytes, sizeof(U));
    if constexpr (std::endian::native == std::endian::little) {
      if constexpr (sizeof(U) == 2) value = __builtin_bswap16(value);
      if constexpr (sizeof(U) == 4) value = __builtin_bswap32(value);
      if constexpr (sizeof(U) == 8) value = __builtin_bswap64(value);
    }
    return value;
  }

  Int ReadInt() {
    if (!Has(1)) return Failed();
    const unsigned char head = *p_++;
    if (head <= 0x7f) return Int{head, false};                   // positive fixint
    if (head >= 0xe0) return Signed(static_cast<int8_t>(head));  // negative fixint
    if (head < 0xcc || head > 0xd3) return Failed();
    // 0xcc..0xcf: uint 8, 16, 32, 64; 0xd0..0xd3: int 8, 16, 32, 64.
    const size_t width = size_t{1} << ((head - 0xcc) & 3);
    if (!Has(width)) return Failed();
    const uint64_t bits = LoadBigEndian(width);
    if (head <= 0xcf) return Int{bits, false};
    const auto shift = static_cast<unsigned>(64 - 8 * width);  // sign-extends the value
    return Signed(static_cast<int64_t>(bits << shift) >> shift);
  }

  // A str or bin body preceded by its size in `width` big-endian bytes.
  void ReadSizedBody(size_t width, std::string& out) {
    if (!Has(width)) return Fail();
    ReadBody(static_cast<size_t>(LoadBigEndian(width)), out);
  }
  void ReadBody(size_t size, std::string& out) {
    if (size > kMaxStringBytes || !Has(size)) return Fail();
    out = std::string(reinterpret_cast<const char*>(p_), size);  // cheaper than assign()
    p_ += size;
  }

  const unsigned char* p_;
  const unsigned char* end_;
  bool ok_ = true;
};

// Fills `out` with the record's event of type T if DirectReader takes all of it.
template <class T>
bool ReadDirect(DirectReader& reader, size_t elements, Event& out) {
  if (elements != kHeaderElements + FieldCount<T>()) return false;
  T& event = out.emplace<T>();
  Fields(reader, event);
  return reader.ok() && reader.at_end();
}

// Walks Event's alternatives like DecoderFor below.
template <size_t I = 0>
bool ReadDirectAs(uint64_t tag, DirectReader& reader, size_t elements, Event& out) {
  if constexpr (I == std::variant_size_v<Event>) {
    return false;
  } else {
    using T = std::variant_alternative_t<I, Event>;
    if (static_cast<uint64_t>(kTagOf<T>) == tag) return ReadDirect<T>(reader, elements, out);
    return ReadDirectAs<I + 1>(tag, reader, elements, out);
  }
}

// True if DirectReader decoded the whole record into `out`; false sends it to the unpacker.
bool TryDecodeDirect(std::string_view bytes, Event& out) {
  DirectReader reader(bytes);
  const size_t elements = reader.ArrayHeader();
  uint64_t tag = 0, version = 0;
  reader.Uint("tag", tag);
  reader.Uint("schema_version", version);
  if (!reader.ok() || version != kEventSchemaVersion) return false;
  return ReadDirectAs(tag, reader, elements, out);
}

template <class T>
Result<Event> DecodeAs(const msgpack::object_array& array) {
  const size_t want = kHeaderElements + FieldCount<T>();
  if (array.size != want) {
    return Corrupt("tag " + std::to_string(static_cast<unsigned>(kTagOf<T>)) + ": expected " +
                   std::to_string(want) + " elements, got " + std::to_string(array.size));
  }
  T event{};
  FieldReader reader(array);
  Fields(reader, event);
  if (reader.failed()) return Corrupt(reader.problem());
  return Event{std::move(event)};
}

using DecodeFn = Result<Event> (*)(const msgpack::object_array&);

// Walks Event's alternatives, so a new alternative only needs a kTagOf and a Fields.
template <size_t I = 0>
DecodeFn DecoderFor(uint64_t tag) {
  if constexpr (I == std::variant_size_v<Event>) {
    return nullptr;
  } else {
    using T = std::variant_alternative_t<I, Event>;
    static_assert(kTagOf<T> != EventTag{0}, "every Event alternative needs a stable tag");
    if (static_cast<uint64_t>(kTagOf<T>) == tag) return &DecodeAs<T>;
    return DecoderFor<I + 1>(tag);
  }
}

Result<Event> DecodeObject(const msgpack::object& root) {
  if (root.type != msgpack::type::ARRAY) {
    return Corrupt(std::string("expected array, got ") + TypeName(root.type));
  }
  const msgpack::object_array& array = root.via.array;
  if (array.size < kHeaderElements) return Corrupt("missing tag or schema version");
  const msgpack::object& tag = array.ptr[0];
  const msgpack::object& version = array.ptr[1];
  if (tag.type != msgpack::type::POSITIVE_INTEGER) {
    return Corrupt(std::string("field 0 tag: expected uint, got ") + TypeName(tag.type));
  }
  if (version.type != msgpack::type::POSITIVE_INTEGER) {
    return Corrupt(std::string("field 1 schema_version: expected uint, got ") +
                   TypeName(version.type));
  }
  const DecodeFn decode = DecoderFor(tag.via.u64);
  if (decode == nullptr) return Corrupt("unknown tag " + std::to_string(tag.via.u64));
  // Only version 1 exists. A later build decodes every version up to its own; a record written
  // by a newer build is refused rather than misread.
  if (version.via.u64 != kEventSchemaVersion) {
    return Corrupt("unsupported schema version " + std::to_string(version.via.u64));
  }
  return decode(array);
}

}  // namespace

std::string EncodeEvent(const Event& event) {
  std::string out;
  std::visit(
      [&out](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        FieldWriter writer(&out);
        writer.Header(kTagOf<T>, FieldCount<T>());
        Fields(writer, e);
      },
      event);
  return out;
}

Result<Event> DecodeEvent(std::string_view bytes) {
  Event event;
  if (Status decoded = DecodeEventInto(bytes, event); !decoded.ok()) return decoded.error();
  return event;
}

Status DecodeEventInto(std::string_view bytes, Event& event) {
  // Nearly every record takes the direct path; anything it does not take, the unpacker decodes
  // or diagnoses, so both paths give the same answer.
  if (TryDecodeDirect(bytes, event)) return OkStatus();
  Result<Event> decoded = DecodeEventWithUnpacker(bytes);
  if (!decoded.ok()) return decoded.error();
  event = std::move(decoded).value();
  return OkStatus();
}

Result<Event> DecodeEventWithUnpacker(std::string_view bytes) {
  if (bytes.empty()) return Corrupt("truncated");
  const msgpack::unpack_limit limit(kMaxElements, kMaxElements, kMaxStringBytes, kMaxStringBytes,
                                    kMaxStringBytes, kMaxDepth);
  try {
    size_t offset = 0;
    msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, limit);
    if (offset != bytes.size()) {
      return Corrupt("trailing bytes: " + std::to_string(bytes.size() - offset));
    }
    return DecodeObject(handle.get());
  } catch (const msgpack::insufficient_bytes&) {
    return Corrupt("truncated");
  } catch (const msgpack::size_overflow& e) {
    return Corrupt(std::string("limit exceeded: ") + e.what());
  } catch (const msgpack::parse_error&) {
    return Corrupt("malformed msgpack");
  } catch (const std::exception& e) {
    // bad_alloc or anything else the unpacker may throw: still just a corrupt record.
    return Corrupt(std::string("undecodable: ") + e.what());
  }
}

}  // namespace parley::persist
