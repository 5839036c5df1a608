#include "tools/admin_seed.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "auth/password.h"
#include "persist/codec.h"
#include "persist/data_dir.h"

namespace parley::admin {
namespace {

int Die(const Error& e) {
  std::fprintf(stderr, "parley-admin: %s%s%s\n", e.message.c_str(), e.details.empty() ? "" : ": ",
               e.details.c_str());
  return 1;
}

// Every demo and generated workspace, with its channels, lives on shard 0.
constexpr ShardId kHome = 0;

template <typename E>
Result<E> RunFor(Seeder& seeder, ShardId shard, const Command& command) {
  auto e = seeder.Run(shard, command);
  if (!e.ok()) return e.error();
  if (!*e) return MakeError(ErrorCode::kInternal, "the command changed nothing");
  return std::get<E>(**e);
}

struct DemoUser {
  const char* email;
  const char* name;
};
constexpr DemoUser kDemoUsers[] = {
    {"alice@example.com", "Alice"}, {"bob@example.com", "Bob"}, {"carol@example.com", "Carol"}};

// What the demo puts in #engineering: a thread with two replies, reactions, a pinned message.
Status SeedEngineering(Seeder& seeder, const std::vector<UserId>& u, ChannelId channel) {
  for (size_t i = 1; i < u.size(); ++i) {
    if (auto joined = seeder.Run(kHome, JoinChannel{u[i], channel}); !joined.ok()) {
      return joined.error();
    }
  }
  auto plan = RunFor<MessagePosted>(
      seeder, kHome,
      PostMessage{u[0], channel, "", "Release 1.2 goes out on Thursday. Checklist in the thread."});
  if (!plan.ok()) return plan.error();
  const Seq thread = plan->seq;
  const Command steps[] = {
      PostReply{u[1], channel, thread, "", "I'll take the database migration.", false},
      PostReply{u[2], channel, thread, "", "Release notes are ready for review.", false},
      AddReaction{u[1], channel, thread, "thumbsup"},
      AddReaction{u[2], channel, thread, "rocket"},
      SetPinned{u[0], channel, thread, true},
      PostMessage{u[1], channel, "", "Build is green on main."},
      AddReaction{u[0], channel, thread + 3, "white_check_mark"},
  };
  for (const Command& command : steps) {
    if (auto e = seeder.Run(kHome, command); !e.ok()) return e.error();
  }
  return OkStatus();
}

Result<ChannelId> SeedDirect(Seeder& seeder, WorkspaceId ws, UserId a, UserId b) {
  auto opened = RunFor<ConversationOpened>(seeder, kHome, OpenConversation{a, ws, {b}});
  if (!opened.ok()) return opened.error();
  ChannelId dm = opened->channel_id;
  for (const Command& command : {Command{PostMessage{a, dm, "", "Lunch at noon?"}},
                                 Command{PostMessage{b, dm, "", "Sure, see you there."}}}) {
    if (auto e = seeder.Run(kHome, command); !e.ok()) return e.error();
  }
  return dm;
}

// A message text of about `bytes` bytes from a small vocabulary, so search has words to find.
std::string Words(std::mt19937_64& rng, size_t bytes) {
  static constexpr const char* kWords[] = {
      "deploy", "build",  "release", "review", "meeting", "lunch",  "database", "cache",
      "query",  "shard",  "latency", "backup", "restore", "ticket", "design",   "test",
      "server", "client", "metrics", "alert",  "today",   "later",  "please",   "thanks"};
  constexpr size_t kCount = sizeof(kWords) / sizeof(kWords[0]);
  std::string text;
  while (text.size() < bytes) {
    if (!text.empty()) text += ' ';
    text += kWords[rng() % kCount];
  }
  text.resize(bytes);
  return text;
}

struct Generated {
  std::vector<UserId> users;
  std::vector<ChannelId> channels;
  std::vector<std::vector<Seq>> top_level;  // per channel: its top-level posts' seqs
};

// Registers the users, staged per owner shard. One password hash serves them all: scrypt per
// account would take longer than the rest of a large seed.
Status RegisterGenerated(Seeder& seeder, const GeneratedOptions& o, Generated& g) {
  const std::string password = "bench-password-1";  // parley-bench's adapter signs in with it
  const std::string hash = auth::HashPassword(password, auth::ScryptParams{});
  for (int64_t i = 0; i < o.users; ++i) {
    const std::string email = "p" + std::to_string(i) + "." + o.tag + "@bench.test";
    ShardId owner = ShardOfEmail(email, seeder.count());
    auto e = seeder.Stage(owner, RegisterUser{email, "p" + std::to_string(i), password, {}, hash});
    if (!e.ok()) return e.error();
    g.users.push_back(std::get<UserRegistered>(**e).user_id);
  }
  for (ShardId k = 0; k < seeder.count(); ++k) {
    if (Status s = seeder.CommitStaged(k); !s.ok()) return s;
  }
  return OkStatus();
}

Status CreateGeneratedWorkspace(Seeder& seeder, const GeneratedOptions& o, Generated& g) {
  auto ws = seeder.Stage(kHome, CreateWorkspace{g.users[0], "bench-" + o.tag});
  if (!ws.ok()) return ws.error();
  const auto& created = std::get<WorkspaceCreated>(**ws);
  g.channels.push_back(created.general_id);
  // Open, like the demo workspace: anyone signed in may join (benchmark clients do).
  auto opened = seeder.Stage(
      kHome, UpdateWorkspaceSettings{g.users[0], created.workspace_id, true, true, false});
  if (!opened.ok()) return opened.error();
  for (size_t i = 1; i < g.users.size(); ++i) {
    if (auto e = seeder.Stage(kHome, JoinWorkspace{g.users[i], created.workspace_id}); !e.ok()) {
      return e.error();
    }
  }
  for (int64_t c = 1; c < o.channels; ++c) {
    auto ch = seeder.Stage(kHome, CreateChannel{g.users[0], created.workspace_id,
                                                "bench-" + std::to_string(c), false});
    if (!ch.ok()) return ch.error();
    ChannelId id = std::get<ChannelCreated>(**ch).channel_id;
    for (size_t i = 1; i < g.users.size(); ++i) {
      if (auto e = seeder.Stage(kHome, JoinChannel{g.users[i], id}); !e.ok()) return e.error();
    }
    g.channels.push_back(id);
  }
  g.top_level.resize(g.channels.size());
  return seeder.CommitStaged(kHome);
}

// One message (a post, or a reply to one of the channel's recent posts) and maybe a reaction.
Status StageGeneratedMessage(Seeder& seeder, const GeneratedOptions& o, Generated& g,
                             std::mt19937_64& rng) {
  static constexpr const char* kEmoji[] = {"thumbsup", "tada", "eyes", "heart", "rocket", "fire"};
  constexpr uint64_t kRecent = 32;  // replies and reactions go to the newest posts
  const size_t c = rng() % g.channels.size();
  const UserId author = g.users[rng() % g.users.size()];
  std::vector<Seq>& posts = g.top_level[c];
  const bool reply = !posts.empty() && static_cast<int>(rng() % 100) < o.replies_pct;
  const std::string text = Words(rng, static_cast<size_t>(o.bytes));
  auto recent = [&] { return posts[posts.size() - 1 - rng() % std::min(kRecent, posts.size())]; };
  if (reply) {
    auto e = seeder.Stage(kHome, PostReply{author, g.channels[c], recent(), "", text, false});
    if (!e.ok()) return e.error();
  } else {
    auto e = seeder.Stage(kHome, PostMessage{author, g.channels[c], "", text});
    if (!e.ok()) return e.error();
    posts.push_back(std::get<MessagePosted>(**e).seq);
  }
  if (static_cast<int>(rng() % 100) < o.reactions_pct) {
    const UserId who = g.users[rng() % g.users.size()];
    const char* emoji = kEmoji[rng() % (sizeof(kEmoji) / sizeof(kEmoji[0]))];
    auto e = seeder.Stage(kHome, AddReaction{who, g.channels[c], recent(), emoji});
    if (!e.ok()) return e.error();
  }
  return OkStatus();
}

}  // namespace

Status Seeder::Open(const std::string& dir, uint32_t n, bool writable) {
  for (ShardId k = 0; k < n && writable; ++k) {
    Result<bool> busy = persist::LmdbLogStore::OpenElsewhere(persist::ShardDir(dir, k));
    if (!busy.ok()) return busy.error();
    if (*busy) {
      return MakeError(ErrorCode::kUnavailable, persist::ShardDir(dir, k) +
                                                    " is open in another process (a running "
                                                    "parleyd?); stop it first");
    }
  }
  for (ShardId k = 0; k < n; ++k) {
    persist::LmdbOptions options;
    options.read_only = !writable;
    auto store = persist::LmdbLogStore::Open(persist::ShardDir(dir, k), options);
    if (!store.ok()) return store.error();
    OfflineShard shard{std::move(*store), std::make_unique<ShardState>(k, n), nullptr, {}};
    Status replayed = shard.store->Replay(1, [&](Lsn, std::string_view bytes) -> Status {
      Result<Event> e = persist::DecodeEvent(bytes);
      if (!e.ok()) return e.error();
      shard.state->Apply(*e);
      return OkStatus();
    });
    if (!replayed.ok()) return replayed;
    shard.ids = std::make_unique<IdMinter>(k, n, shard.state->max_minted());
    shards_.push_back(std::move(shard));
  }
  return OkStatus();
}

Result<std::optional<Event>> Seeder::Run(ShardId shard, const Command& command) {
  auto decided = Stage(shard, command);
  if (!decided.ok()) return decided;
  if (Status s = CommitStaged(shard); !s.ok()) return s.error();
  return decided;
}

Result<std::optional<Event>> Seeder::Stage(ShardId shard, const Command& command) {
  OfflineShard& s = shards_[shard];
  auto now = std::chrono::system_clock::now().time_since_epoch();
  Context ctx{std::chrono::duration_cast<std::chrono::milliseconds>(now).count(), s.ids.get()};
  Result<std::optional<Event>> decided = Decide(*s.state, command, ctx);
  if (!decided.ok() || !*decided) return decided;
  s.state->Apply(**decided);
  Lsn lsn = s.store->last_lsn() + 1 + s.staged.size();
  s.staged.push_back(persist::LogRecord{lsn, persist::EncodeEvent(**decided)});
  return decided;
}

Status Seeder::CommitStaged(ShardId shard) {
  OfflineShard& s = shards_[shard];
  if (s.staged.empty()) return OkStatus();
  Status appended = s.store->AppendBatch(s.staged);
  s.staged.clear();
  return appended;
}

int SeedDemo(const std::string& dir, const std::string& password) {
  Result<persist::DataDirInfo> info = persist::CheckDataDir(dir, 0);
  if (!info.ok()) return Die(info.error());
  Seeder seeder;
  if (Status opened = seeder.Open(dir, info->shard_count, true); !opened.ok()) {
    return Die(opened.error());
  }
  if (seeder.state(ShardOfEmail(kDemoUsers[0].email, seeder.count()))
          .FindUserByEmail(kDemoUsers[0].email)) {
    std::printf("already seeded: %s\n", dir.c_str());
    return 0;
  }
  const std::string hash = auth::HashPassword(password, auth::ScryptParams{});
  std::vector<UserId> users;
  for (const DemoUser& u : kDemoUsers) {
    ShardId owner = ShardOfEmail(u.email, seeder.count());
    auto e =
        RunFor<UserRegistered>(seeder, owner, RegisterUser{u.email, u.name, password, {}, hash});
    if (!e.ok()) return Die(e.error());
    users.push_back(e->user_id);
  }
  auto created = RunFor<WorkspaceCreated>(seeder, kHome, CreateWorkspace{users[0], "Demo"});
  if (!created.ok()) return Die(created.error());
  const WorkspaceId ws = created->workspace_id;
  // The demo workspace is open: anyone who registers on the demo server may join it.
  auto opened_up = seeder.Run(kHome, UpdateWorkspaceSettings{users[0], ws, true, true, false});
  if (!opened_up.ok()) return Die(opened_up.error());
  for (size_t i = 1; i < users.size(); ++i) {
    if (auto joined = seeder.Run(kHome, JoinWorkspace{users[i], ws}); !joined.ok()) {
      return Die(joined.error());
    }
  }
  const char* lines[] = {"Welcome to parley!", "Hi all, glad to be here.",
                         "Try `parley tail` on this channel and post from another terminal."};
  for (size_t i = 0; i < 3; ++i) {
    auto posted = seeder.Run(kHome, PostMessage{users[i], created->general_id, "", lines[i]});
    if (!posted.ok()) return Die(posted.error());
  }
  auto eng =
      RunFor<ChannelCreated>(seeder, kHome, CreateChannel{users[0], ws, "engineering", false});
  if (!eng.ok()) return Die(eng.error());
  if (Status s = SeedEngineering(seeder, users, eng->channel_id); !s.ok()) return Die(s.error());
  Result<ChannelId> dm = SeedDirect(seeder, ws, users[0], users[1]);
  if (!dm.ok()) return Die(dm.error());
  std::printf(
      "seeded workspace %llu \"Demo\" (#general = %llu, #engineering = %llu with a thread, "
      "reactions and a pin, a direct conversation %llu) with users",
      static_cast<unsigned long long>(ws), static_cast<unsigned long long>(created->general_id),
      static_cast<unsigned long long>(eng->channel_id), static_cast<unsigned long long>(*dm));
  for (const DemoUser& u : kDemoUsers) std::printf(" %s", u.email);
  std::printf("; password: %s\n", password.c_str());
  return 0;
}

int SeedGenerated(const std::string& dir, const GeneratedOptions& o) {
  if (o.users < 1 || o.channels < 1 || o.messages < 0 || o.replies_pct < 0 || o.replies_pct > 100 ||
      o.reactions_pct < 0 || o.reactions_pct > 100 || o.bytes < 1) {
    return Die(MakeError(ErrorCode::kInvalidArgument,
                         "seed needs --users >= 1, --channels >= 1, --messages >= 0, "
                         "--replies_pct and --reactions_pct in 0..100, --bytes >= 1"));
  }
  Result<persist::DataDirInfo> info = persist::CheckDataDir(dir, 0);
  if (!info.ok()) return Die(info.error());
  Seeder seeder;
  if (Status opened = seeder.Open(dir, info->shard_count, true); !opened.ok()) {
    return Die(opened.error());
  }
  auto t0 = std::chrono::steady_clock::now();
  Generated g;
  if (Status s = RegisterGenerated(seeder, o, g); !s.ok()) return Die(s.error());
  if (Status s = CreateGeneratedWorkspace(seeder, o, g); !s.ok()) return Die(s.error());
  std::mt19937_64 rng(o.rng_seed);
  constexpr size_t kBatch = 8192;
  for (int64_t i = 0; i < o.messages; ++i) {
    if (Status s = StageGeneratedMessage(seeder, o, g, rng); !s.ok()) return Die(s.error());
    if (seeder.staged(kHome) >= kBatch) {
      if (Status s = seeder.CommitStaged(kHome); !s.ok()) return Die(s.error());
    }
  }
  if (Status s = seeder.CommitStaged(kHome); !s.ok()) return Die(s.error());
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "seeded workspace bench-%s with %lld users, %lld channels and %lld messages in "
      "%.1fs\n",
      o.tag.c_str(), static_cast<long long>(o.users), static_cast<long long>(o.channels),
      static_cast<long long>(o.messages), s);
  return 0;
}

}  // namespace parley::admin
