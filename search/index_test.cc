// The search library against real storage: events appended to an LMDB log, indexed by a
// ShardIndexer, queried with a Searcher. Access lists are given by the caller (the server
// computes them); these tests check that the searcher applies them and the query features.
#include <gtest/gtest.h>

#include <algorithm>

#include "persist/codec.h"
#include "persist/test_temp_dir.h"
#include "search/documents.h"
#include "search/indexer.h"
#include "search/searcher.h"

namespace parley::search {
namespace {

constexpr ChannelId kDev = 101;
constexpr ChannelId kOps = 102;
constexpr ChannelId kSecret = 103;
constexpr UserId kAnn = 11;
constexpr UserId kBob = 12;
constexpr TimeMs kDay = 86'400'000;
constexpr TimeMs kT0 = 1'760'000'000'000;  // 2025-10-09

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(persist::LmdbLogStore::Create(Log(), {{"format_version", "1"}}, 1 << 26).ok());
    OpenLog();
  }

  std::string Log() const { return dir_.Sub("shard-0"); }
  std::string Data() const { return dir_.path(); }
  void OpenLog() {
    auto log = persist::LmdbLogStore::Open(Log(), persist::LmdbOptions{});
    ASSERT_TRUE(log.ok()) << log.error().message;
    log_ = std::move(*log);
  }

  void Append(const Event& event) {
    ASSERT_TRUE(log_->AppendBatch({{log_->last_lsn() + 1, persist::EncodeEvent(event)}}).ok());
  }
  Seq Post(ChannelId channel, UserId author, std::string text, TimeMs at = kT0) {
    Seq seq = ++seqs_[channel];
    Append(MessagePosted{channel, seq, seq, author, "", std::move(text), at});
    return seq;
  }

  // Indexes what the log holds, as a fresh indexer would after a restart.
  void Index(IndexerOptions options = {}) {
    ShardIndexer indexer(IndexDir(Data(), 0), log_.get(), options);
    ASSERT_TRUE(indexer.Open().ok());
    ASSERT_TRUE(indexer.CatchUp().ok());
    rebuilt_ = indexer.rebuilt();
    EXPECT_EQ(indexer.indexed_lsn(), log_->last_lsn());
  }

  SearchPage Find(SearchSpec spec) {
    if (spec.kind == SearchKind::kMessages && spec.channels.empty()) {
      spec.channels = {kDev, kOps};
    }
    Searcher searcher(Data(), 1);
    Result<SearchPage> page = searcher.Run(spec);
    EXPECT_TRUE(page.ok()) << page.error().message;
    return page.ok() ? *page : SearchPage{};
  }
  SearchPage Find(std::string text) {
    SearchSpec spec;
    spec.text = std::move(text);
    return Find(spec);
  }
  std::vector<Seq> Seqs(const SearchPage& page) {
    std::vector<Seq> out;
    for (const MessageHit& hit : page.messages) out.push_back(hit.seq);
    return out;
  }

  persist::TempDir dir_;
  std::unique_ptr<persist::LmdbLogStore> log_;
  std::map<ChannelId, Seq> seqs_;
  bool rebuilt_ = false;
};

TEST_F(SearchTest, RanksTheBetterMatchFirst) {
  Post(kDev, kAnn, "the deploy of the billing service failed last night, see the logs");
  Seq strong = Post(kDev, kAnn, "deploy deploy: the deploy is stuck");
  Post(kDev, kAnn, "lunch at noon?");
  Index();
  SearchPage page = Find("deploy");
  ASSERT_EQ(page.messages.size(), 2u);
  EXPECT_EQ(page.messages[0].seq, strong);
  EXPECT_EQ(page.estimated_total, 2u);
  EXPECT_FALSE(page.has_more);
}

TEST_F(SearchTest, WordsAreStemmedAndCaseFolded) {
  Seq a = Post(kDev, kAnn, "Deploying the new Release");
  Index();
  EXPECT_EQ(Seqs(Find("deploys")), (std::vector<Seq>{a}));
  EXPECT_EQ(Seqs(Find("RELEASE")), (std::vector<Seq>{a}));
  EXPECT_EQ(Seqs(Find("Deploys")), (std::vector<Seq>{a}));  // capitalised, still stemmed
  EXPECT_EQ(Seqs(Find("deploys OR nothing")), (std::vector<Seq>{a}));  // an operator
  EXPECT_TRUE(Find("deploys AND nothing").messages.empty());
}

TEST_F(SearchTest, AllWordsMustMatch) {
  Seq both = Post(kDev, kAnn, "database migration tonight");
  Post(kDev, kAnn, "database backup");
  Index();
  EXPECT_EQ(Seqs(Find("database migration")), (std::vector<Seq>{both}));
}

TEST_F(SearchTest, PhrasePrefixAndExclusion) {
  Seq phrase = Post(kDev, kAnn, "the build is green again");
  Seq other = Post(kDev, kAnn, "green is the build");
  Seq prefix = Post(kDev, kAnn, "kubernetes upgrade done");
  Index();
  EXPECT_EQ(Seqs(Find("\"build is green\"")), (std::vector<Seq>{phrase}));
  EXPECT_EQ(Seqs(Find("kube*")), (std::vector<Seq>{prefix}));
  EXPECT_EQ(Seqs(Find("build -again")), (std::vector<Seq>{other}));
  EXPECT_EQ(Seqs(Find("-build")), (std::vector<Seq>{prefix}));  // only exclusions
  EXPECT_TRUE(Find("-build -upgrade").messages.empty());
}

TEST_F(SearchTest, NonEnglishAndCjkText) {
  Seq german = Post(kDev, kAnn, "Größere Änderungen am Straßenbahn-Fahrplan");
  Seq japanese = Post(kDev, kAnn, "東京で会議があります");
  Seq chinese = Post(kDev, kAnn, "我们明天发布新版本");
  Index();
  EXPECT_EQ(Seqs(Find("größere")), (std::vector<Seq>{german}));
  EXPECT_EQ(Seqs(Find("ÄNDERUNGEN")), (std::vector<Seq>{german}));
  EXPECT_EQ(Seqs(Find("会議")), (std::vector<Seq>{japanese}));  // a word inside a sentence
  EXPECT_EQ(Seqs(Find("发布")), (std::vector<Seq>{chinese}));
  SearchPage page = Find("会議");
  ASSERT_EQ(page.messages.size(), 1u);
  const MessageHit& hit = page.messages[0];
  ASSERT_FALSE(hit.highlights.empty());
  EXPECT_EQ(hit.snippet.substr(hit.highlights[0].first, hit.highlights[0].second), "会議");
}

TEST_F(SearchTest, SnippetIsPlainTextWithHighlights) {
  Post(kDev, kAnn, "a <b>bold</b> & risky deploy to prod");
  Index();
  SearchPage page = Find("deploy");
  ASSERT_EQ(page.messages.size(), 1u);
  const MessageHit& hit = page.messages[0];
  EXPECT_EQ(hit.snippet, "a <b>bold</b> & risky deploy to prod");
  ASSERT_EQ(hit.highlights.size(), 1u);
  EXPECT_EQ(hit.snippet.substr(hit.highlights[0].first, hit.highlights[0].second), "deploy");
  EXPECT_EQ(hit.author_id, kAnn);
  EXPECT_EQ(hit.channel_id, kDev);
  EXPECT_EQ(hit.at, kT0);
}

TEST_F(SearchTest, OnlyTheGivenChannels) {
  Post(kDev, kAnn, "quarterly numbers");
  Seq secret = Post(kSecret, kAnn, "quarterly numbers, do not share");
  Index();
  EXPECT_EQ(Find("quarterly").messages.size(), 1u);  // kSecret is not in the list
  SearchSpec spec;
  spec.text = "quarterly";
  spec.channels = {kSecret};
  EXPECT_EQ(Seqs(Find(spec)), (std::vector<Seq>{secret}));
  spec.channels.clear();
  spec.people = {kAnn};  // an empty channel list finds nothing, whatever else is set
  Searcher searcher(Data(), 1);
  EXPECT_TRUE(searcher.Run(spec)->messages.empty());
}

TEST_F(SearchTest, LongAccessListsAreCheckedPerDocument) {
  Seq mine = Post(kDev, kAnn, "release notes");
  Post(kSecret, kAnn, "release plan");
  Index();
  SearchSpec spec;
  spec.text = "release";
  for (ChannelId c = 1000; c < 1400; ++c) spec.channels.push_back(c);
  spec.channels.push_back(kDev);
  EXPECT_EQ(Seqs(Find(spec)), (std::vector<Seq>{mine}));
  // Pages under a decider, by relevance: has_more holds until the last page.
  for (int i = 0; i < 30; ++i) Post(kDev, kAnn, "release candidate " + std::to_string(i));
  Index();
  spec.limit = 10;
  SearchPage first = Find(spec);
  EXPECT_EQ(first.messages.size(), 10u);
  EXPECT_TRUE(first.has_more);
  spec.offset = 30;
  SearchPage last = Find(spec);
  EXPECT_EQ(last.messages.size(), 1u);
  EXPECT_FALSE(last.has_more);
}

TEST_F(SearchTest, Filters) {
  Seq link = Post(kDev, kAnn, "docs at https://example.com/runbook", kT0);
  Seq by_bob = Post(kDev, kBob, "runbook updated", kT0 + kDay);
  Seq later = Post(kOps, kAnn, "runbook reviewed", kT0 + 2 * kDay);
  Append(ReactionAdded{kDev, by_bob, kAnn, "thumbsup", kT0 + kDay});
  Append(ReactionAdded{kDev, by_bob, kBob, "thumbsup", kT0 + kDay});
  Append(ReactionAdded{kDev, link, kBob, "eyes", kT0 + kDay});
  Append(ReactionRemoved{kDev, by_bob, kAnn, "thumbsup", kT0 + kDay});  // one of two
  Append(ReactionRemoved{kDev, link, kBob, "eyes", kT0 + kDay});        // the only one
  Append(PinChanged{kOps, later, true, kAnn, kT0 + 2 * kDay});
  Append(ThreadReplyPosted{kDev, 3, 3, kBob, "", "runbook question", kT0 + 3 * kDay, link, false});
  seqs_[kDev] = 3;
  Index();
  auto with = [](auto set) {
    SearchSpec spec;
    spec.text = "runbook";
    set(spec);
    return spec;
  };
  EXPECT_EQ(Seqs(Find(with([](SearchSpec& s) { s.has_link = true; }))),
            (std::vector<Seq>{link}));
  EXPECT_EQ(Seqs(Find(with([](SearchSpec& s) { s.authors = {kBob}; s.by_date = true; }))),
            (std::vector<Seq>{3, by_bob}));
  EXPECT_EQ(Seqs(Find(with([](SearchSpec& s) { s.has_reaction = true; }))),
            (std::vector<Seq>{by_bob}));
  EXPECT_EQ(Seqs(Find(with([](SearchSpec& s) { s.has_pin = true; }))), (std::vector<Seq>{later}));
  // A reply and the message it replies to.
  EXPECT_EQ(Seqs(Find(with([](SearchSpec& s) { s.in_thread = true; s.by_date = true; }))),
            (std::vector<Seq>{3, link}));
  EXPECT_EQ(Seqs(Find(with([](SearchSpec& s) { s.channels = {kOps}; }))),
            (std::vector<Seq>{later}));
  EXPECT_EQ(Seqs(Find(with([](SearchSpec& s) {
              s.not_before = kT0 + kDay;
              s.before = kT0 + 2 * kDay;
            }))),
            (std::vector<Seq>{by_bob}));
  EXPECT_EQ(Seqs(Find(with([](SearchSpec& s) { s.before = kT0 + 1; }))), (std::vector<Seq>{link}));
  EXPECT_TRUE(Find(with([](SearchSpec& s) { s.before = 0; })).messages.empty());  // 1970
  EXPECT_TRUE(Find(with([](SearchSpec& s) {
                s.not_before = kT0 + kDay;
                s.before = kT0 + kDay;
              })).messages.empty());
  // Filters alone, no words.
  EXPECT_EQ(Seqs(Find(with([](SearchSpec& s) { s.text.clear(); s.has_pin = true; }))),
            (std::vector<Seq>{later}));
}

TEST_F(SearchTest, SortByDateAndPages) {
  for (int i = 0; i < 5; ++i) Post(kDev, kAnn, "standup notes", kT0 + i * kDay);
  Index();
  SearchSpec spec;
  spec.text = "standup";
  spec.by_date = true;
  spec.limit = 2;
  EXPECT_EQ(Seqs(Find(spec)), (std::vector<Seq>{5, 4}));
  EXPECT_TRUE(Find(spec).has_more);
  spec.offset = 4;
  EXPECT_EQ(Seqs(Find(spec)), (std::vector<Seq>{1}));
  EXPECT_FALSE(Find(spec).has_more);
}

TEST_F(SearchTest, MessagesOfOneMillisecondSortBySeq) {
  for (int i = 0; i < 4; ++i) Post(kDev, kAnn, "report " + std::string(i, 'x'), kT0);
  Index();
  SearchSpec spec;
  spec.text = "report";
  spec.by_date = true;
  EXPECT_EQ(Seqs(Find(spec)), (std::vector<Seq>{4, 3, 2, 1}));
}

TEST_F(SearchTest, EditsAndDeletesTakeEffect) {
  Seq edited = Post(kDev, kAnn, "meeting at three");
  Seq deleted = Post(kDev, kAnn, "meeting cancelled");
  Append(MessageEdited{kDev, edited, "sync at four", kAnn, kT0 + 1});
  Append(MessageDeleted{kDev, deleted, kAnn, kT0 + 2});
  Index();
  EXPECT_TRUE(Find("meeting").messages.empty());
  EXPECT_EQ(Seqs(Find("sync")), (std::vector<Seq>{edited}));
}

TEST_F(SearchTest, ExpiredMessagesLeaveTheIndex) {
  Post(kDev, kAnn, "standup notes one");
  Post(kDev, kAnn, "standup notes two");
  Seq kept = Post(kDev, kAnn, "standup notes three");
  Post(kOps, kAnn, "standup in ops");
  Append(MessagesExpired{kDev, 1, 2, kT0 + 5});
  Index();
  SearchSpec spec;
  spec.text = "standup";
  spec.channels = {kDev};
  EXPECT_EQ(Seqs(Find(spec)), (std::vector<Seq>{kept}));
  spec.channels = {kOps};  // another channel's same seqs stay
  EXPECT_EQ(Find(spec).messages.size(), 1u);
}

TEST_F(SearchTest, ChannelsAndPeople) {
  Append(WorkspaceCreated{7, "acme", kAnn, 1, 2, kT0});
  Append(ChannelCreated{7, kDev, "backend-deploys", false, kAnn, kT0});
  Append(ChannelCreated{7, kOps, "ops", false, kAnn, kT0});
  Append(ChannelDetailsChanged{kOps, "ops", "on call rota", "who deploys this week", kAnn, kT0});
  Append(UserRegistered{kAnn, "ann@example.com", "Ann Lee", "", "", kT0});
  Append(UserRegistered{kBob, "bob@example.com", "Bob Stone", "", "", kT0});
  Append(ProfileUpdated{kBob, "Bob Stone", "Deploy engineer", "", kT0});
  Index();
  SearchSpec spec;
  spec.kind = SearchKind::kChannels;
  spec.text = "deploys";
  spec.channels = {1, 2, kDev, kOps};
  SearchPage channels = Find(spec);
  ASSERT_EQ(channels.channels.size(), 2u);
  EXPECT_EQ(channels.channels[0].name, "backend-deploys");  // the name weighs most
  EXPECT_EQ(channels.channels[1].topic, "on call rota");
  spec.text = "general";
  EXPECT_EQ(Find(spec).channels.size(), 1u);
  spec.channels = {kOps};  // visible ones only
  spec.text = "deploys";
  EXPECT_EQ(Find(spec).channels.size(), 1u);

  SearchSpec people;
  people.kind = SearchKind::kPeople;
  people.text = "ann";
  people.people = {kAnn, kBob};
  ASSERT_EQ(Find(people).people.size(), 1u);
  EXPECT_EQ(Find(people).people[0].display_name, "Ann Lee");
  people.text = "deploy";  // the title
  ASSERT_EQ(Find(people).people.size(), 1u);
  EXPECT_EQ(Find(people).people[0].user_id, kBob);
  people.people = {kAnn};
  EXPECT_TRUE(Find(people).people.empty());
  // A message search finds no channel or person documents.
  EXPECT_TRUE(Find("deploy").messages.empty());
}

TEST_F(SearchTest, ResumesWhereItStoppedAndRebuildsWhatDoesNotMatch) {
  Post(kDev, kAnn, "first message");
  Index();
  EXPECT_TRUE(rebuilt_);  // built new
  Post(kDev, kAnn, "second message");
  Index();
  EXPECT_FALSE(rebuilt_);
  EXPECT_EQ(Find("message").messages.size(), 2u);

  // A data directory restored from an older copy: the log is behind the index.
  log_.reset();
  std::filesystem::remove_all(Log());
  ASSERT_TRUE(persist::LmdbLogStore::Create(Log(), {{"format_version", "1"}}, 1 << 26).ok());
  OpenLog();
  seqs_.clear();
  Post(kDev, kAnn, "another message");
  Index();
  EXPECT_TRUE(rebuilt_);
  EXPECT_EQ(Seqs(Find("message")), (std::vector<Seq>{1}));
  EXPECT_EQ(Find("message").messages[0].snippet, "another message");

  // An index of another format.
  {
    Xapian::WritableDatabase db(IndexDir(Data(), 0), Xapian::DB_OPEN);
    db.set_metadata(std::string(kMetaFormat), "0");
    db.commit();
  }
  Index();
  EXPECT_TRUE(rebuilt_);
  EXPECT_EQ(Find("message").messages.size(), 1u);

  // Forced, as parley-admin reindex does.
  IndexerOptions rebuild;
  rebuild.rebuild = true;
  Index(rebuild);
  EXPECT_TRUE(rebuilt_);
  EXPECT_EQ(Find("message").messages.size(), 1u);
}

TEST_F(SearchTest, TheThreadFollowsTheLog) {
  IndexerOptions options;
  options.idle_poll = std::chrono::milliseconds(10);
  ShardIndexer indexer(IndexDir(Data(), 0), log_.get(), options);
  ASSERT_TRUE(indexer.Open().ok());
  indexer.Start();
  Post(kDev, kAnn, "live one");
  for (int i = 0; i < 1500 && indexer.indexed_lsn() < log_->last_lsn(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(indexer.indexed_lsn(), log_->last_lsn());
  EXPECT_EQ(Find("live").messages.size(), 1u);
  indexer.Stop();
}

TEST_F(SearchTest, PagesAreCappedAtTheLimit) {
  for (uint32_t i = 0; i < kMaxSearchLimit + 20; ++i) {
    Post(kDev, kAnn, "status " + std::to_string(i));
  }
  Index();
  SearchSpec spec;
  spec.text = "status";
  spec.limit = 5000;
  SearchPage page = Find(spec);
  EXPECT_EQ(page.messages.size(), kMaxSearchLimit);
  EXPECT_TRUE(page.has_more);
}

TEST_F(SearchTest, DeepPagesAreRefused) {
  Post(kDev, kAnn, "x");
  Index();
  Searcher searcher(Data(), 1);
  SearchSpec spec;
  spec.channels = {kDev};
  spec.offset = kMaxSearchOffset + 1;
  Result<SearchPage> page = searcher.Run(spec);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SearchTest, BadQueriesAreErrors) {
  Post(kDev, kAnn, "x");
  Index();
  Searcher searcher(Data(), 1);
  SearchSpec spec;
  spec.channels = {kDev};
  spec.text = "\"unbalanced";  // Xapian takes it as a phrase to the end
  EXPECT_TRUE(searcher.Run(spec).ok());
  Searcher missing(Data() + "/nowhere", 1);
  Result<SearchPage> page = missing.Run(spec);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().code, ErrorCode::kUnavailable);
}

TEST(SplitSnippetTest, DecodesEntitiesAndMarkers) {
  std::string text;
  std::vector<Highlight> highlights;
  SplitSnippet("a &lt;b&gt; \x01x&amp;y\x02 z &unknown;", &text, &highlights);
  EXPECT_EQ(text, "a <b> x&y z &unknown;");
  ASSERT_EQ(highlights.size(), 1u);
  EXPECT_EQ(highlights[0], (Highlight{6, 3}));
}

TEST(DocumentsTest, RecordRoundTrip) {
  DocRecord r;
  r.kind = DocKind::kPerson;
  r.user_id = 5;
  r.display_name = "Zoë";
  r.title = "CTO";
  Result<DocRecord> back = DecodeRecord(EncodeRecord(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->display_name, "Zoë");
  EXPECT_EQ(back->kind, DocKind::kPerson);
  EXPECT_FALSE(DecodeRecord("junk").ok());
  EXPECT_EQ(DecodeId(EncodeId(0x0102030405060708ull)), 0x0102030405060708ull);
}

}  // namespace
}  // namespace parley::search
