#include "persist/codec.h"

#include <algorithm>
#include <array>
#include <bit>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <msgpack.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/json.h"

namespace parley::persist {
namespace {

// Stable tags: EventTag (core/events.h) numbers every event type, and the log stores that
// number. A tag is never renumbered or reused (docs/log_format.md lists them). kTagOf is
// generated from PARLEY_EVENT_TYPES, so a new type cannot be left without one.
template <class T>
constexpr EventTag kTagOf = EventTag{0};
#define PARLEY_PERSIST_TAG_OF(Type) \
  template <>                       \
  constexpr EventTag kTagOf<Type> = EventTag::k##Type;
PARLEY_EVENT_TYPES(PARLEY_PERSIST_TAG_OF)
#undef PARLEY_PERSIST_TAG_OF

#define PARLEY_PERSIST_COUNT(Type) +1
static_assert(0 PARLEY_EVENT_TYPES(PARLEY_PERSIST_COUNT) == std::variant_size_v<Event>,
              "PARLEY_EVENT_TYPES and Event must list the same types");
#undef PARLEY_PERSIST_COUNT

template <size_t I>
using Alternative = std::variant_alternative_t<I, Event>;

// Elements before an event's own fields: [tag, schema_version, ...].
constexpr size_t kHeaderElements = 2;

// Bounds for msgpack's unpacker, which allocates an array's slots as soon as it reads the
// header. Without them a 5-byte array32 header claiming 2^32 elements would ask for ~100 GB.
// Depth 2 allows one level of nesting (the list fields); every array, the record's and each
// list's, is then at most kMaxElements long, so decoding any input allocates at most ~100 KB
// beyond its strings.
constexpr size_t kMaxElements = kMaxListElements;
constexpr size_t kMaxDepth = 2;
constexpr size_t kMaxStringBytes = size_t{64} << 20;

// E is T or const T: one field list serves the encoder (const events) and the decoder.
template <class E, class T>
concept Is = std::same_as<std::remove_const_t<E>, T>;

// The unsigned widths a field may have. Each is stored as a msgpack uint; reading a value above
// the field's maximum is a corrupt record.
template <class U>
concept StoredUint =
    std::same_as<U, uint8_t> || std::same_as<U, uint32_t> || std::same_as<U, uint64_t>;

// Each event's fields in declaration order, with the struct's names. This order IS the on-disk
// format (docs/log_format.md): never reorder or reinterpret; add fields only at the end, under
// a new schema version. Visitors: Uint (uint8/32/64), Time, Bool, Text (str), Bytes (bin),
// UintList and BytesList (an array of at most kMaxElements uints or bins).
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

// A message's own fields, first in both MessagePosted and ThreadReplyPosted.
template <class V, class E>
void PostedFields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("seq", e.seq);
  v.Uint("message_id", e.message_id);
  v.Uint("author_id", e.author_id);
  v.Text("client_msg_id", e.client_msg_id);
  v.Text("text", e.text);
  v.Time("at", e.at);
}

template <class V, Is<MessagePosted> E>
void Fields(V& v, E& e) {
  PostedFields(v, e);
}

// ---- Identity. Hashes, secrets and password material are bytes; what people type or read is
// text.

template <class V, Is<ProfileUpdated> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Text("display_name", e.display_name);
  v.Text("title", e.title);
  v.Text("avatar_url", e.avatar_url);
  v.Time("at", e.at);
}

template <class V, Is<PasswordChanged> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Bytes("password_hash", e.password_hash);
  v.Bool("rehash", e.rehash);
  v.Time("at", e.at);
}

template <class V, Is<SessionStarted> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Uint("session_id", e.session_id);
  v.Bytes("refresh_hash", e.refresh_hash);
  v.Text("device", e.device);
  v.Text("address", e.address);
  v.Uint("method", e.method);
  v.Time("at", e.at);
  v.Time("expires_at", e.expires_at);
}

template <class V, Is<SessionRefreshed> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Uint("session_id", e.session_id);
  v.Bytes("refresh_hash", e.refresh_hash);
  v.Time("at", e.at);
  v.Time("expires_at", e.expires_at);
}

template <class V, Is<SessionRevoked> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Uint("session_id", e.session_id);
  v.Uint("reason", e.reason);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<SignInFailed> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Text("address", e.address);
  v.Bool("second_factor", e.second_factor);
  v.Time("at", e.at);
  v.Time("locked_until", e.locked_until);
}

template <class V, Is<MfaEnrollStarted> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Bytes("secret", e.secret);
  v.Time("at", e.at);
}

template <class V, Is<MfaEnabled> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.BytesList("recovery_hashes", e.recovery_hashes);
  v.Uint("totp_step", e.totp_step);
  v.Time("at", e.at);
}

template <class V, Is<MfaDisabled> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Time("at", e.at);
}

template <class V, Is<MfaCodeUsed> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Uint("totp_step", e.totp_step);
  v.Uint("recovery_index", e.recovery_index);
  v.Time("at", e.at);
}

template <class V, Is<ApiKeyCreated> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Uint("key_id", e.key_id);
  v.Text("name", e.name);
  v.Uint("scopes", e.scopes);
  v.Bytes("key_hash", e.key_hash);
  v.Time("expires_at", e.expires_at);
  v.Time("at", e.at);
}

template <class V, Is<ApiKeyRevoked> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Uint("key_id", e.key_id);
  v.Time("at", e.at);
}

template <class V, Is<OidcLinked> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Text("issuer", e.issuer);
  v.Text("subject", e.subject);
  v.Time("at", e.at);
}

// ---- Workspace administration.

template <class V, Is<WorkspaceSettingsChanged> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Bool("join_open", e.join_open);
  v.Bool("members_create_private", e.members_create_private);
  v.Bool("members_post_announcements", e.members_post_announcements);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<InviteCreated> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Uint("invite_id", e.invite_id);
  v.Text("email", e.email);
  v.Uint("role", e.role);
  v.UintList("channel_ids", e.channel_ids);
  v.Bytes("token_hash", e.token_hash);
  v.Uint("by", e.by);
  v.Time("at", e.at);
  v.Time("expires_at", e.expires_at);
}

template <class V, Is<InviteRevoked> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Uint("invite_id", e.invite_id);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<InviteAccepted> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Uint("invite_id", e.invite_id);
  v.Uint("user_id", e.user_id);
  v.Time("at", e.at);
}

template <class V, Is<RoleChanged> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Uint("user_id", e.user_id);
  v.Uint("role", e.role);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<OwnershipTransferred> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Uint("from_user", e.from_user);
  v.Uint("to_user", e.to_user);
  v.Time("at", e.at);
}

template <class V, Is<MemberActiveChanged> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Uint("user_id", e.user_id);
  v.Bool("active", e.active);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<ChannelUpdated> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Bool("archived", e.archived);
  v.Bool("announcement", e.announcement);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<ChannelMemberAdded> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("user_id", e.user_id);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<MessageEdited> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("seq", e.seq);
  v.Text("text", e.text);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<MessageDeleted> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("seq", e.seq);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

// ---- The chat product.

template <class V, Is<ThreadReplyPosted> E>
void Fields(V& v, E& e) {
  PostedFields(v, e);
  v.Uint("thread_seq", e.thread_seq);
  v.Bool("also_to_channel", e.also_to_channel);
}

template <class V, Is<ThreadFollowChanged> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("thread_seq", e.thread_seq);
  v.Uint("user_id", e.user_id);
  v.Bool("following", e.following);
  v.Time("at", e.at);
}

template <class V, Is<ThreadMarkedRead> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("thread_seq", e.thread_seq);
  v.Uint("user_id", e.user_id);
  v.Uint("read_seq", e.read_seq);
  v.Time("at", e.at);
}

template <class V, class E>
  requires Is<E, ReactionAdded> || Is<E, ReactionRemoved>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("seq", e.seq);
  v.Uint("user_id", e.user_id);
  v.Text("emoji", e.emoji);
  v.Time("at", e.at);
}

template <class V, Is<PinChanged> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("seq", e.seq);
  v.Bool("pinned", e.pinned);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<BookmarkAdded> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("bookmark_id", e.bookmark_id);
  v.Text("title", e.title);
  v.Text("url", e.url);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<BookmarkRemoved> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("bookmark_id", e.bookmark_id);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<ChannelDetailsChanged> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Text("name", e.name);
  v.Text("topic", e.topic);
  v.Text("purpose", e.purpose);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<ChannelMemberRemoved> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("user_id", e.user_id);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<ConversationOpened> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Uint("channel_id", e.channel_id);
  v.UintList("members", e.members);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<ReadMarkerSet> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("user_id", e.user_id);
  v.Uint("seq", e.seq);
  v.Time("at", e.at);
}

// ---- Presence (the user's shard) and receipts (the channel's shard).

template <class V, Is<PresenceChoiceSet> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Bool("away", e.away);
  v.Time("at", e.at);
}

template <class V, Is<UserStatusSet> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Text("text", e.text);
  v.Text("emoji", e.emoji);
  v.Time("expires_at", e.expires_at);
  v.Time("at", e.at);
}

template <class V, Is<LastSeenRecorded> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Time("at", e.at);
}

template <class V, Is<ReadReceiptsChanged> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Bool("send_read_receipts", e.send_read_receipts);
  v.Time("at", e.at);
}

template <class V, Is<ReceiptsMaxMembersSet> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Uint("max_members", e.max_members);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<ReceiptsAdvanced> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.UintList("user_ids", e.user_ids);
  v.UintList("delivered", e.delivered);
  v.UintList("read", e.read);
  v.Time("at", e.at);
}

template <class V, Is<NotificationCreated> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Uint("user_seq", e.user_seq);
  v.Uint("reason", e.reason);
  v.Uint("workspace_id", e.workspace_id);
  v.Uint("channel_id", e.channel_id);
  v.Uint("seq", e.seq);
  v.Uint("thread_seq", e.thread_seq);
  v.Uint("actor_id", e.actor_id);
  v.Text("snippet", e.snippet);
  v.Bool("push", e.push);
  v.Time("at", e.at);
}

template <class V, Is<NotificationsRead> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Uint("user_seq", e.user_seq);
  v.Uint("notification_id", e.notification_id);
  v.Uint("up_to", e.up_to);
  v.Time("at", e.at);
}

template <class V, Is<UserFeedNoted> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Uint("user_seq", e.user_seq);
  v.Uint("kind", e.kind);
  v.Uint("channel_id", e.channel_id);
  v.Uint("thread_seq", e.thread_seq);
  v.Uint("value", e.value);
  v.Bool("flag", e.flag);
  v.Time("at", e.at);
}

template <class V, Is<ChannelNotifyPrefSet> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("user_id", e.user_id);
  v.Uint("level", e.level);
  v.Bool("muted", e.muted);
  v.Time("at", e.at);
}

template <class V, Is<KeywordsSet> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Uint("user_seq", e.user_seq);
  v.BytesList("keywords", e.keywords);
  v.Time("at", e.at);
}

template <class V, Is<DndSet> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Uint("user_seq", e.user_seq);
  v.Time("snooze_until", e.snooze_until);
  v.Bool("schedule", e.schedule);
  v.Uint("start_minute", e.start_minute);
  v.Uint("end_minute", e.end_minute);
  v.Text("time_zone", e.time_zone);
  v.Time("at", e.at);
}

// ---- Search (the user's shard).

template <class V, Is<SearchRecorded> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Text("query", e.query);
  v.Time("at", e.at);
}

template <class V, Is<RecentSearchesCleared> E>
void Fields(V& v, E& e) {
  v.Uint("user_id", e.user_id);
  v.Time("at", e.at);
}

// ---- Message retention (the workspace's shard).

template <class V, Is<WorkspaceRetentionSet> E>
void Fields(V& v, E& e) {
  v.Uint("workspace_id", e.workspace_id);
  v.Uint("days", e.days);
  v.Uint("by", e.by);
  v.Time("at", e.at);
}

template <class V, Is<MessagesExpired> E>
void Fields(V& v, E& e) {
  v.Uint("channel_id", e.channel_id);
  v.Uint("from_seq", e.from_seq);
  v.Uint("up_to_seq", e.up_to_seq);
  v.Time("at", e.at);
}

struct FieldCounter {
  size_t count = 0;
  template <StoredUint U>
  void Uint(const char*, const U&) {
    ++count;
  }
  void Time(const char*, const int64_t&) { ++count; }
  void Bool(const char*, const bool&) { ++count; }
  void Text(const char*, const std::string&) { ++count; }
  void Bytes(const char*, const std::string&) { ++count; }
  void UintList(const char*, const std::vector<uint64_t>&) { ++count; }
  void BytesList(const char*, const std::vector<std::string>&) { ++count; }
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
  template <StoredUint U>
  void Uint(const char*, U value) {
    packer_.pack_uint64(value);
  }
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
  void UintList(const char* name, const std::vector<uint64_t>& values) {
    ListHeader(name, values.size());
    for (const uint64_t value : values) packer_.pack_uint64(value);
  }
  void BytesList(const char* name, const std::vector<std::string>& values) {
    ListHeader(name, values.size());
    for (const std::string& value : values) Bytes(name, value);
  }

 private:
  // A longer list would make a record that the decoder refuses, and that would stop every later
  // replay of the shard. It is a broken core invariant (core caps every list well below the
  // bound), so fail loudly now, before the record can become durable, in every build type.
  void ListHeader(const char* name, size_t size) {
    if (size > kMaxElements) {
      std::fprintf(stderr, "parley: EncodeEvent: list %s has %zu elements, more than %zu\n", name,
                   size, kMaxElements);
      std::abort();
    }
    packer_.pack_array(static_cast<uint32_t>(size));
  }

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

  template <StoredUint U>
  void Uint(const char* name, U& out) {
    const msgpack::object* item = Field(name);
    if (item == nullptr || !Expect(*item, msgpack::type::POSITIVE_INTEGER, "uint", name)) return;
    if (item->via.u64 > std::numeric_limits<U>::max()) {
      return Fail(name, "uint" + std::to_string(std::numeric_limits<U>::digits) + " out of range");
    }
    out = static_cast<U>(item->via.u64);
  }
  void Time(const char* name, int64_t& out) {
    const msgpack::object* item = Field(name);
    if (item == nullptr) return;
    if (item->type == msgpack::type::NEGATIVE_INTEGER) {
      out = item->via.i64;
      return;
    }
    if (!Expect(*item, msgpack::type::POSITIVE_INTEGER, "int", name)) return;
    if (item->via.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Fail(name, "int64 out of range");
    }
    out = static_cast<int64_t>(item->via.u64);
  }
  void Bool(const char* name, bool& out) {
    const msgpack::object* item = Field(name);
    if (item != nullptr && Expect(*item, msgpack::type::BOOLEAN, "bool", name)) {
      out = item->via.boolean;
    }
  }
  void Text(const char* name, std::string& out) {
    const msgpack::object* item = Field(name);
    if (item != nullptr && Expect(*item, msgpack::type::STR, "str", name)) {
      out.assign(item->via.str.ptr, item->via.str.size);
    }
  }
  void Bytes(const char* name, std::string& out) {
    const msgpack::object* item = Field(name);
    if (item != nullptr && Expect(*item, msgpack::type::BIN, "bin", name)) {
      out.assign(item->via.bin.ptr, item->via.bin.size);
    }
  }
  // The unpacker refused any array longer than kMaxElements, so resize() allocates little.
  void UintList(const char* name, std::vector<uint64_t>& out) {
    const msgpack::object_array* list = List(name);
    out.resize(list == nullptr ? 0 : list->size);
    for (size_t i = 0; i < out.size() && !failed(); ++i) {
      const msgpack::object& item = list->ptr[i];
      if (Expect(item, msgpack::type::POSITIVE_INTEGER, "uint", name, i)) out[i] = item.via.u64;
    }
  }
  void BytesList(const char* name, std::vector<std::string>& out) {
    const msgpack::object_array* list = List(name);
    out.resize(list == nullptr ? 0 : list->size);
    for (size_t i = 0; i < out.size() && !failed(); ++i) {
      const msgpack::object& item = list->ptr[i];
      if (Expect(item, msgpack::type::BIN, "bin", name, i)) {
        out[i].assign(item.via.bin.ptr, item.via.bin.size);
      }
    }
  }

  bool failed() const { return !problem_.empty(); }
  const std::string& problem() const { return problem_; }

 private:
  static constexpr size_t kWholeField = std::numeric_limits<size_t>::max();

  // The next field's element, or nullptr if there is none or an earlier field failed.
  const msgpack::object* Field(const char* name) {
    if (failed()) return nullptr;
    field_ = index_;
    if (index_ >= array_.size) {
      Fail(name, "missing");
      return nullptr;
    }
    return &array_.ptr[index_++];
  }

  const msgpack::object_array* List(const char* name) {
    const msgpack::object* item = Field(name);
    if (item == nullptr || !Expect(*item, msgpack::type::ARRAY, "array", name)) return nullptr;
    return &item->via.array;
  }

  // True if `item` (the current field, or its element-th list element) has the wanted type;
  // otherwise records the problem.
  bool Expect(const msgpack::object& item, msgpack::type::object_type want, const char* want_name,
              const char* name, size_t element = kWholeField) {
    if (item.type == want) return true;
    Fail(name, std::string("expected ") + want_name + ", got " + TypeName(item.type), element);
    return false;
  }

  // "field 6 channel_ids: what", or "field 6 channel_ids[2]: what" for a list element.
  void Fail(const char* name, const std::string& what, size_t element = kWholeField) {
    problem_ = "field " + std::to_string(field_) + " " + name;
    if (element != kWholeField) problem_ += "[" + std::to_string(element) + "]";
    problem_ += ": " + what;
  }

  const msgpack::object_array& array_;
  size_t index_ = kHeaderElements;
  size_t field_ = kHeaderElements;
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

  // Elements of an array (fixarray, array 16 or array 32): the record, or a list field. Longer
  // than kMaxElements fails, as the unpacker refuses it.
  size_t ArrayHeader() {
    if (!Has(1)) return FailedSize();
    const unsigned char head = *p_++;
    if ((head & 0xf0) == 0x90) return head & 0x0f;  // fixarray
    if (head != 0xdc && head != 0xdd) return FailedSize();
    const size_t width = head == 0xdc ? 2 : 4;  // array 16 / 32
    if (!Has(width)) return FailedSize();
    const auto elements = static_cast<size_t>(LoadBigEndian(width));
    return elements > kMaxElements ? FailedSize() : elements;
  }
  template <StoredUint U>
  void Uint(const char*, U& out) {
    const Int value = ReadInt();
    if (value.negative) Fail();
    if constexpr (!std::same_as<U, uint64_t>) {
      if (value.bits > std::numeric_limits<U>::max()) Fail();
    }
    out = static_cast<U>(value.bits);
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
  // After a failure ArrayHeader gives 0 and every read fails at once, so these stay short.
  void UintList(const char* name, std::vector<uint64_t>& out) {
    out.resize(ArrayHeader());
    for (uint64_t& value : out) Uint(name, value);
  }
  void BytesList(const char* name, std::vector<std::string>& out) {
    out.resize(ArrayHeader());
    for (std::string& value : out) Bytes(name, value);
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
  size_t FailedSize() {
    Fail();
    return 0;
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

// Both decoders of one event type. The table below holds one per tag, built from Event's
// alternatives, so a new alternative only needs a tag (core/events.h) and a Fields.
struct TagDecoder {
  bool (*direct)(DirectReader& reader, size_t elements, Event& out) = nullptr;
  Result<Event> (*unpacked)(const msgpack::object_array& array) = nullptr;
};

template <size_t... I>
constexpr bool TagsAreDistinctAndNonZero(std::index_sequence<I...>) {
  const std::array<EventTag, sizeof...(I)> tags = {kTagOf<Alternative<I>>...};
  for (size_t i = 0; i < tags.size(); ++i) {
    if (tags[i] == EventTag{0}) return false;
    for (size_t j = 0; j < i; ++j) {
      if (tags[i] == tags[j]) return false;
    }
  }
  return true;
}

template <size_t... I>
constexpr auto MakeTagDecoders(std::index_sequence<I...>) {
  constexpr size_t kSlots = 1 + std::max({static_cast<size_t>(kTagOf<Alternative<I>>)...});
  std::array<TagDecoder, kSlots> table{};
  ((table[static_cast<size_t>(kTagOf<Alternative<I>>)] =
        TagDecoder{&ReadDirect<Alternative<I>>, &DecodeAs<Alternative<I>>}),
   ...);
  return table;
}

constexpr auto kEventIndices = std::make_index_sequence<std::variant_size_v<Event>>{};
static_assert(TagsAreDistinctAndNonZero(kEventIndices),
              "every Event alternative needs its own stable tag");
constexpr auto kTagDecoders = MakeTagDecoders(kEventIndices);

// nullptr for a tag this build does not know.
const TagDecoder* DecoderFor(uint64_t tag) {
  if (tag >= kTagDecoders.size() || kTagDecoders[tag].unpacked == nullptr) return nullptr;
  return &kTagDecoders[tag];
}

// True if DirectReader decoded the whole record into `out`; false sends it to the unpacker.
bool TryDecodeDirect(std::string_view bytes, Event& out) {
  DirectReader reader(bytes);
  const size_t elements = reader.ArrayHeader();
  uint64_t tag = 0, version = 0;
  reader.Uint("tag", tag);
  reader.Uint("schema_version", version);
  if (!reader.ok() || version != kEventSchemaVersion) return false;
  const TagDecoder* decoder = DecoderFor(tag);
  return decoder != nullptr && decoder->direct(reader, elements, out);
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
  const TagDecoder* decoder = DecoderFor(tag.via.u64);
  if (decoder == nullptr) return Corrupt("unknown tag " + std::to_string(tag.via.u64));
  // Only version 1 exists. A later build decodes every version up to its own; a record written
  // by a newer build is refused rather than misread.
  if (version.via.u64 != kEventSchemaVersion) {
    return Corrupt("unsupported schema version " + std::to_string(version.via.u64));
  }
  return decoder->unpacked(array);
}

// Builds an EventView's JSON and numbers from the field list.
class FieldDescriber {
 public:
  explicit FieldDescriber(EventView* view) : view_(view) {}

  template <StoredUint U>
  void Uint(const char* name, U value) {
    Key(name);
    view_->json += std::to_string(value);
    view_->numbers.emplace_back(name, value);
  }
  void Time(const char* name, int64_t value) {
    Key(name);
    view_->json += std::to_string(value);
    if (std::string_view(name) == "at") view_->at = value;
  }
  void Bool(const char* name, bool value) {
    Key(name);
    view_->json += value ? "true" : "false";
  }
  void Text(const char* name, const std::string& value) {
    Key(name);
    AppendJsonString(view_->json, value);
  }
  void Bytes(const char* name, const std::string& value) {
    Key(name);
    view_->json += "{\"bytes\":" + std::to_string(value.size()) + "}";
  }
  void UintList(const char* name, const std::vector<uint64_t>& values) {
    Key(name);
    view_->json.push_back('[');
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) view_->json.push_back(',');
      view_->json += std::to_string(values[i]);
      view_->numbers.emplace_back(name, values[i]);
    }
    view_->json.push_back(']');
  }
  void BytesList(const char* name, const std::vector<std::string>& values) {
    Key(name);
    view_->json += "{\"items\":" + std::to_string(values.size()) + "}";
  }

 private:
  void Key(const char* name) {
    view_->json.push_back(',');
    AppendJsonString(view_->json, name);
    view_->json.push_back(':');
  }

  EventView* view_;
};

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

EventView DescribeEvent(const Event& event) {
  EventView view;
  std::visit(
      [&view](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        view.tag = kTagOf<T>;
        view.kind = EventName(view.tag);
        view.json = "{\"kind\":";
        AppendJsonString(view.json, view.kind);
        FieldDescriber describer(&view);
        Fields(describer, e);
        view.json.push_back('}');
      },
      event);
  return view;
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
