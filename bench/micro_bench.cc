// parley-micro: Google Benchmark micro-benchmarks for the hot paths, one layer at a time:
// frame verify + decode, event encode/decode, decide + apply of a post, mailbox hand-off,
// log append per batch size, replay per event (the bench's own loop, and Shard::Replay).
#include <benchmark/benchmark.h>

#include <thread>

#include "core/decide.h"
#include "persist/codec.h"
#include "persist/data_dir.h"
#include "persist/lmdb_store.h"
#include "persist/test_temp_dir.h"
#include "shard/encode.h"
#include "shard/mailbox.h"
#include "shard/shard.h"
#include "wire/frame.h"

namespace parley {
namespace {

constexpr UserId kAuthor = 1;
const std::string kText(100, 'x');

StoredMessage SampleMessage(Seq seq) {
  return StoredMessage{seq * 2 + 1, seq, kAuthor, MessageText("client-id-123"), MessageText(kText),
                       1'800'000'000'000};
}

MessagePosted SamplePosted(Seq seq) {
  return MessagePosted{7, seq, seq * 2 + 1, kAuthor, "client-id-123", kText, 1'800'000'000'000};
}

// A one-shard state with a workspace whose #general has `kAuthor` as member.
struct PostFixture {
  ShardState state{0, 1};
  IdMinter ids{0, 1, 0};
  ChannelId general = 0;

  PostFixture() {
    Context ctx{1'800'000'000'000, &ids};
    auto created = Decide(state, CreateWorkspace{kAuthor, "bench"}, ctx);
    state.Apply(**created);
    general = std::get<WorkspaceCreated>(**created).general_id;
  }
};

void BM_FrameVerifyDecode(benchmark::State& st) {
  wire::Bytes frame = shard::EncodeMessagePosted(7, SampleMessage(42));
  std::vector<uint64_t> aligned((frame.size() + 7) / 8);
  std::memcpy(aligned.data(), frame.data(), frame.size());
  std::span<const uint8_t> buf(reinterpret_cast<const uint8_t*>(aligned.data()), frame.size());
  for (auto _ : st) {
    wire::Split split = wire::NextFrame(buf, wire::kDefaultMaxFrameBytes);
    auto f = wire::VerifyFrame(buf.subspan(wire::kLengthPrefixBytes, split.payload_bytes));
    benchmark::DoNotOptimize((*f)->body_as_MessagePosted()->message()->seq());
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_FrameVerifyDecode);

void BM_EventFrameEncode(benchmark::State& st) {
  StoredMessage m = SampleMessage(42);
  for (auto _ : st) benchmark::DoNotOptimize(shard::EncodeMessagePosted(7, m));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_EventFrameEncode);

void BM_LogEventEncode(benchmark::State& st) {
  Event e = SamplePosted(42);
  for (auto _ : st) benchmark::DoNotOptimize(persist::EncodeEvent(e));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_LogEventEncode);

void BM_LogEventDecode(benchmark::State& st) {
  std::string bytes = persist::EncodeEvent(SamplePosted(42));
  for (auto _ : st) benchmark::DoNotOptimize(persist::DecodeEvent(bytes));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_LogEventDecode);

void BM_DecideApplyPost(benchmark::State& st) {
  PostFixture fx;
  Context ctx{1'800'000'000'000, &fx.ids};
  for (auto _ : st) {
    auto e = Decide(fx.state, PostMessage{kAuthor, fx.general, "", kText}, ctx);
    fx.state.Apply(**e);
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_DecideApplyPost);

// One producer thread, one consumer (the benchmark thread): messages per second through one
// mailbox pair, batches of 64 per wake as a shard's turn would send them.
void BM_MailboxHandOff(benchmark::State& st) {
  shard::MailboxMatrix m(2, 4096);
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    uint64_t i = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      for (int k = 0; k < 64; ++k) {
        shard::ShardMessage msg = shard::Interest{++i, 0, 1};
        while (!m.TryPush(0, 1, msg) && !stop.load(std::memory_order_relaxed)) {
        }
      }
      m.Wake(1);
    }
  });
  uint64_t received = 0;
  for (auto _ : st) {
    m.ClearNotified(1);
    received += m.Drain(1, [](ShardId, shard::ShardMessage& msg) {
      benchmark::DoNotOptimize(msg);
    });
  }
  stop = true;
  producer.join();
  st.SetItemsProcessed(static_cast<int64_t>(received));
}
BENCHMARK(BM_MailboxHandOff)->UseRealTime();

// Durable appends (fsync per batch, as --durability=sync) per batch size.
void BM_LogAppendBatch(benchmark::State& st) {
  persist::TempDir dir;
  std::string data = dir.Sub("data");
  if (!persist::InitDataDir(data, 1).ok()) return st.SkipWithError("init failed");
  auto store = persist::LmdbLogStore::Open(persist::ShardDir(data, 0), {});
  std::string bytes = persist::EncodeEvent(SamplePosted(1));
  const int batch = static_cast<int>(st.range(0));
  Lsn next = 1;
  for (auto _ : st) {
    std::vector<persist::LogRecord> records;
    for (int i = 0; i < batch; ++i) records.push_back({next++, bytes});
    // A lone durable batch: its commit, then the flush a following commit would have shared.
    if (!(*store)->AppendBatch(records).ok() || !(*store)->Sync().ok()) {
      return st.SkipWithError("append failed");
    }
  }
  st.SetItemsProcessed(st.iterations() * batch);
}
BENCHMARK(BM_LogAppendBatch)->Arg(1)->Arg(64)->Arg(1024)->UseRealTime();

// A one-shard data directory whose log holds a workspace and `posts` posts to its #general.
Status WriteReplayLog(const std::string& data, int posts) {
  if (Status s = persist::InitDataDir(data, 1); !s.ok()) return s;
  auto store = persist::LmdbLogStore::Open(persist::ShardDir(data, 0), {});
  if (!store.ok()) return store.error();
  IdMinter ids{0, 1, 0};
  std::vector<persist::LogRecord> records;
  Context ctx{1'800'000'000'000, &ids};
  auto created = Decide(ShardState(0, 1), CreateWorkspace{kAuthor, "bench"}, ctx);
  records.push_back({1, persist::EncodeEvent(**created)});
  ChannelId general = std::get<WorkspaceCreated>(**created).general_id;
  for (int i = 1; i <= posts; ++i) {
    MessagePosted p = SamplePosted(static_cast<Seq>(i));
    p.channel_id = general;
    p.client_msg_id = "c" + std::to_string(i);
    records.push_back({static_cast<Lsn>(i + 1), persist::EncodeEvent(p)});
  }
  return (*store)->AppendBatch(records);
}

// Replay: read + decode + apply per event, over a log of 100,000 posts.
void BM_ReplayPerEvent(benchmark::State& st) {
  persist::TempDir dir;
  std::string data = dir.Sub("data");
  const int kEvents = 100000;
  if (!WriteReplayLog(data, kEvents).ok()) return st.SkipWithError("writing the log failed");
  for (auto _ : st) {
    auto store = persist::LmdbLogStore::Open(persist::ShardDir(data, 0), {});
    ShardState state(0, 1);
    Status replayed = (*store)->Replay(1, [&](Lsn, std::string_view bytes) -> Status {
      Result<Event> e = persist::DecodeEvent(bytes);
      if (!e.ok()) return e.error();
      state.Apply(*e);
      return OkStatus();
    });
    if (!replayed.ok()) return st.SkipWithError("replay failed");
  }
  st.SetItemsProcessed(st.iterations() * (kEvents + 1));
}
BENCHMARK(BM_ReplayPerEvent)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same log through shard::Shard::Replay, the code parleyd runs at start-up. Each iteration
// gets back from malloc memory the previous one freed (already faulted in), which a restart never
// can, while each new Shard maps fresh arena slabs: page-fault costs, and what
// shard/populated_arena.h saves on them, show only in a real restart (parleyd's replay_ms).
void BM_ShardReplay(benchmark::State& st) {
  persist::TempDir dir;
  std::string data = dir.Sub("data");
  const int kEvents = 100000;
  if (!WriteReplayLog(data, kEvents).ok()) return st.SkipWithError("writing the log failed");
  shard::MailboxMatrix mailboxes(1, 1024);
  for (auto _ : st) {
    auto store = persist::LmdbLogStore::Open(persist::ShardDir(data, 0), {});
    if (!store.ok()) return st.SkipWithError("open failed");
    shard::Shard shard(0, shard::ShardConfig{}, &mailboxes, std::move(*store));
    if (!shard.Replay().ok()) return st.SkipWithError("replay failed");
  }
  st.SetItemsProcessed(st.iterations() * (kEvents + 1));
}
BENCHMARK(BM_ShardReplay)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace parley

BENCHMARK_MAIN();
