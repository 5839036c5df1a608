// The search query language: free text passed through, each filter, quoting, the errors, and
// HasLink.
#include "core/search_query.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error_matchers.h"

namespace parley {
namespace {

using namespace testing_matchers;
using Kind = PersonRef::Kind;

SearchQuery Parse(std::string_view input) {
  Result<SearchQuery> q = ParseSearchQuery(input);
  if (!q.ok()) {
    ADD_FAILURE() << "\"" << input << "\": " << q.error().message;
    return {};
  }
  return *q;
}

// The error's message, after checking it is kInvalidArgument on "query".
std::string ErrorOf(std::string_view input) {
  Result<SearchQuery> q = ParseSearchQuery(input);
  EXPECT_TRUE(IsError(q, ErrorCode::kInvalidArgument, "query")) << input;
  return q.ok() ? "" : q.error().message;
}

PersonRef Name(std::string text) { return {Kind::kName, 0, std::move(text)}; }
PersonRef Email(std::string text) { return {Kind::kEmail, 0, std::move(text)}; }
PersonRef Id(UserId id) { return {Kind::kId, id, ""}; }
PersonRef Me() { return {Kind::kMe, 0, ""}; }

// ---- Free text ----------------------------------------------------------------------------------

TEST(SearchQueryTest, FreeTextKeepsEveryTokenInOrderOneSpaceApart) {
  SearchQuery q = Parse("  deploy\t\"release  notes\"  roll*\n-flaky -\"known issue\"  ");
  EXPECT_EQ(q.text, "deploy \"release  notes\" roll* -flaky -\"known issue\"");
  EXPECT_FALSE(q.HasFilters());
  EXPECT_FALSE(q.Empty());
}

TEST(SearchQueryTest, NonAsciiTextIsUntouched) {
  EXPECT_EQ(Parse("日本語の検索 café  Ünïcödé").text, "日本語の検索 café Ünïcödé");
  EXPECT_EQ(Parse("\"東京 タワー\" from:@田中").text, "\"東京 タワー\"");
  EXPECT_EQ(Parse("from:@田中").from_people, std::vector{Name("田中")});
}

TEST(SearchQueryTest, AnUnterminatedQuoteRunsToTheEndAndIsClosed) {
  EXPECT_EQ(Parse("deploy \"release notes  ").text, "deploy \"release notes\"");
  EXPECT_EQ(Parse("\"in:general has:link").text, "\"in:general has:link\"");
  EXPECT_EQ(Parse("-\"flaky").text, "-\"flaky\"");
}

TEST(SearchQueryTest, WordsWithAColonThatNameNoFilterAreText) {
  SearchQuery q = Parse("http://example.com 10:30 foo:bar :x in2:y to: -foo:bar");
  EXPECT_EQ(q.text, "http://example.com 10:30 foo:bar :x in2:y to: -foo:bar");
  EXPECT_FALSE(q.HasFilters());
}

TEST(SearchQueryTest, AQuotedFilterIsAPhrase) {
  SearchQuery q = Parse("\"in:#general\" -\"from:ann\"");
  EXPECT_EQ(q.text, "\"in:#general\" -\"from:ann\"");
  EXPECT_FALSE(q.HasFilters());
}

// ---- Filters ------------------------------------------------------------------------------------

TEST(SearchQueryTest, InChannelWithOrWithoutHashIsLowerCased) {
  SearchQuery q = Parse("deploy in:#General IN:random");
  EXPECT_EQ(q.text, "deploy");
  EXPECT_EQ(q.in_channels, (std::vector<std::string>{"general", "random"}));
  EXPECT_TRUE(q.in_people.empty());
  EXPECT_TRUE(q.HasFilters());
}

TEST(SearchQueryTest, InPersonIsTheirDirectConversation) {
  SearchQuery q = Parse("in:@ann in:@me In:@\"Ann Lee\"");
  EXPECT_EQ(q.in_people, (std::vector{Name("ann"), Me(), Name("Ann Lee")}));
  EXPECT_TRUE(q.in_channels.empty());
  EXPECT_TRUE(q.from_people.empty());
}

TEST(SearchQueryTest, FromWithOrWithoutAt) {
  SearchQuery q = Parse("FROM:@ann from:bob");
  EXPECT_EQ(q.from_people, (std::vector{Name("ann"), Name("bob")}));
  EXPECT_TRUE(q.text.empty());
  EXPECT_FALSE(q.Empty());
}

TEST(SearchQueryTest, PersonKinds) {
  EXPECT_EQ(Parse("from:me").from_people, std::vector{Me()});
  EXPECT_EQ(Parse("from:@ME").from_people, std::vector{Me()});
  EXPECT_EQ(Parse("from:@1002").from_people, std::vector{Id(1002)});
  EXPECT_EQ(Parse("from:18446744073709551615").from_people, std::vector{Id(UINT64_MAX)});
  EXPECT_EQ(Parse("from:Ann.Lee@Example.COM").from_people,
            std::vector{Email("ann.lee@example.com")});
  EXPECT_EQ(Parse("from:@AnnLee").from_people, std::vector{Name("AnnLee")});
  EXPECT_EQ(Parse("from:mei").from_people, std::vector{Name("mei")});
  EXPECT_EQ(Parse("from:1002x").from_people, std::vector{Name("1002x")});
}

TEST(SearchQueryTest, AQuotedNameKeepsItsSpacesAndCase) {
  EXPECT_EQ(Parse("from:\"Ann Lee\" deploy").from_people, std::vector{Name("Ann Lee")});
  EXPECT_EQ(Parse("from:\"Ann Lee\" deploy").text, "deploy");
  EXPECT_EQ(Parse("from:@\"Ann  Lee\"").from_people, std::vector{Name("Ann  Lee")});
  EXPECT_EQ(Parse("from:\" Ann Lee \"").from_people, std::vector{Name("Ann Lee")});
  // An unterminated quote in a filter runs to the end of the input too.
  EXPECT_EQ(Parse("deploy from:\"Ann Lee  ").from_people, std::vector{Name("Ann Lee")});
  EXPECT_EQ(Parse("deploy from:\"Ann Lee  ").text, "deploy");
}

TEST(SearchQueryTest, DatesBeforeAfterOn) {
  SearchQuery q = Parse("before:2024-05-01 AFTER:1970-01-01 on:9999-12-31");
  EXPECT_EQ(q.before, (CivilDate{2024, 5, 1}));
  EXPECT_EQ(q.after, (CivilDate{1970, 1, 1}));
  EXPECT_EQ(q.on, (CivilDate{9999, 12, 31}));
  EXPECT_TRUE(q.HasFilters());
}

TEST(SearchQueryTest, LeapDays) {
  EXPECT_EQ(Parse("on:2024-02-29").on, (CivilDate{2024, 2, 29}));  // divisible by 4
  EXPECT_EQ(Parse("on:2000-02-29").on, (CivilDate{2000, 2, 29}));  // by 400
  EXPECT_NE(ErrorOf("on:2023-02-29").find("on:2023-02-29"), std::string::npos);
  EXPECT_NE(ErrorOf("on:1900-02-29").find("on:1900-02-29"), std::string::npos);  // by 100
  EXPECT_NE(ErrorOf("on:2100-02-29").find("on:2100-02-29"), std::string::npos);
}

TEST(SearchQueryTest, BadDatesNameTheToken) {
  for (std::string token :
       {"before:2024-04-31", "before:2024-13-01", "before:2024-00-10", "before:2024-01-00",
        "before:2024-01-32", "before:1969-12-31", "before:2024-1-5", "before:2024/01/05",
        "before:24-01-05", "before:2024-01-05x", "before:yesterday", "before:+024-01-05",
        "before:２０２４-01-05"}) {
    std::string message = ErrorOf("deploy " + token);
    EXPECT_NE(message.find(token), std::string::npos) << message;
    EXPECT_NE(message.find("YYYY-MM-DD"), std::string::npos) << message;
  }
}

TEST(SearchQueryTest, EachDateFilterAtMostOnce) {
  for (std::string twice : {"before:2024-01-01 before:2024-02-01",
                            "after:2024-01-01 AFTER:2024-01-01", "on:2024-01-01 on:2024-01-02"}) {
    std::string message = ErrorOf(twice);
    EXPECT_NE(message.find("twice"), std::string::npos) << message;
    EXPECT_NE(message.find(twice.substr(twice.find(' ') + 1)), std::string::npos) << message;
  }
  SearchQuery q = Parse("before:2024-02-01 after:2024-01-01 on:2024-01-15");
  EXPECT_TRUE(q.before && q.after && q.on);
}

TEST(SearchQueryTest, HasAndIs) {
  SearchQuery q = Parse("has:link has:reaction has:pin is:thread");
  EXPECT_TRUE(q.has_link && q.has_reaction && q.has_pin && q.is_thread);
  SearchQuery plural = Parse("HAS:Reactions has:PINS");
  EXPECT_TRUE(plural.has_reaction && plural.has_pin);
  EXPECT_FALSE(plural.has_link || plural.is_thread);
  EXPECT_TRUE(Parse("is:thread").HasFilters());
  EXPECT_TRUE(Parse("has:link").HasFilters());
}

TEST(SearchQueryTest, UnknownHasOrIsValueListsTheAcceptedOnes) {
  std::string message = ErrorOf("deploy has:star");
  EXPECT_NE(message.find("has:star"), std::string::npos) << message;
  for (std::string accepted : {"has:link", "has:reaction", "has:pin"}) {
    EXPECT_NE(message.find(accepted), std::string::npos) << message;
  }
  message = ErrorOf("is:pinned");
  EXPECT_NE(message.find("is:pinned"), std::string::npos) << message;
  EXPECT_NE(message.find("is:thread"), std::string::npos) << message;
}

TEST(SearchQueryTest, FiltersAndTextMix) {
  SearchQuery q = Parse("in:#dev \"build failed\" from:@ann after:2024-01-01 -flaky has:link");
  EXPECT_EQ(q.text, "\"build failed\" -flaky");
  EXPECT_EQ(q.in_channels, std::vector<std::string>{"dev"});
  EXPECT_EQ(q.from_people, std::vector{Name("ann")});
  EXPECT_EQ(q.after, (CivilDate{2024, 1, 1}));
  EXPECT_TRUE(q.has_link);
}

// ---- Errors -------------------------------------------------------------------------------------

TEST(SearchQueryTest, NegatedFiltersAreRejected) {
  for (std::string token : {"-in:#general", "-from:@ann", "-has:link", "-is:thread",
                            "-before:2024-01-01", "-IN:general"}) {
    std::string message = ErrorOf("deploy " + token);
    EXPECT_NE(message.find("negated filters are not supported"), std::string::npos) << message;
    EXPECT_NE(message.find(token), std::string::npos) << message;
  }
}

TEST(SearchQueryTest, EmptyFilterValues) {
  for (std::string token : {"in:", "from:", "has:", "is:", "before:", "in:#", "in:@", "from:@",
                            "from:\"\"", "from:@\"  \"", "in:\"\""}) {
    std::string message = ErrorOf("deploy " + token);
    EXPECT_NE(message.find("no "), std::string::npos) << message;
    EXPECT_NE(message.find(token), std::string::npos) << message;
  }
}

TEST(SearchQueryTest, UserIdsOutOfRange) {
  EXPECT_NE(ErrorOf("from:0").find("from:0"), std::string::npos);
  EXPECT_NE(ErrorOf("in:@18446744073709551616").find("in:@18446744073709551616"),
            std::string::npos);
}

TEST(SearchQueryTest, EmptyQuery) {
  for (std::string_view input : {"", " ", " \t\r\n\f\v "}) {
    EXPECT_EQ(ErrorOf(input), "query is empty");
  }
}

TEST(SearchQueryTest, LongestQueryAndOneByteMore) {
  std::string longest(kMaxSearchQueryBytes, 'a');
  EXPECT_EQ(Parse(longest).text, longest);
  std::string message = ErrorOf(longest + "a");
  EXPECT_NE(message.find("1000 bytes"), std::string::npos) << message;
}

TEST(SearchQueryTest, AtMostTwentyFilters) {
  std::string twenty;
  for (size_t i = 0; i < kMaxSearchFilters; ++i) twenty += "in:#c" + std::to_string(i) + " ";
  EXPECT_EQ(Parse(twenty + "deploy").in_channels.size(), kMaxSearchFilters);
  std::string message = ErrorOf(twenty + "deploy has:pin");
  EXPECT_NE(message.find("20 filters"), std::string::npos) << message;
  EXPECT_NE(message.find("has:pin"), std::string::npos) << message;
}

TEST(SearchQueryTest, InvalidUtf8) {
  EXPECT_EQ(ErrorOf("deploy \xff\xfe"), "query is not valid UTF-8");
}

// ---- HasLink ------------------------------------------------------------------------------------

TEST(HasLinkTest, Urls) {
  EXPECT_TRUE(HasLink("see http://example.com"));
  EXPECT_TRUE(HasLink("HTTPS://EXAMPLE.COM/a?b=c"));
  EXPECT_TRUE(HasLink("(https://[::1]:8080/)"));
  EXPECT_TRUE(HasLink("docs:https://例え.jp"));
  EXPECT_TRUE(HasLink("http:// and then http://x"));
}

TEST(HasLinkTest, WwwHosts) {
  EXPECT_TRUE(HasLink("www.example.com"));
  EXPECT_TRUE(HasLink("go to WWW.Example.com now"));
  EXPECT_TRUE(HasLink("(www.example.com)"));
  EXPECT_TRUE(HasLink("请看www.example.com"));
}

TEST(HasLinkTest, SlackMarkup) {
  EXPECT_TRUE(HasLink("<https://example.com|the docs>"));
  EXPECT_TRUE(HasLink("<ftp://files.example.com>"));
  EXPECT_TRUE(HasLink("<SFTP://host/path|files>"));
  EXPECT_TRUE(HasLink("write to <mailto:ann@example.com|Ann>"));
  EXPECT_TRUE(HasLink("<MailTo:ann@example.com>"));
}

TEST(HasLinkTest, NotLinks) {
  EXPECT_FALSE(HasLink(""));
  EXPECT_FALSE(HasLink("deploy at 10:30, see the wiki"));
  EXPECT_FALSE(HasLink("http:// is a scheme, https:// too"));
  EXPECT_FALSE(HasLink("awww.that is cute"));
  EXPECT_FALSE(HasLink("www. www.. www.-x"));
  EXPECT_FALSE(HasLink("foo.www.bar"));
  EXPECT_FALSE(HasLink("hi <@1002> and <!here> in <#C1>"));
  EXPECT_FALSE(HasLink("std::map<k:v> and <mailto:> and <ftp://> and <ftp://x"));
  EXPECT_FALSE(HasLink("<ftp://x y> <mailto:ann@example.com"));
  EXPECT_FALSE(HasLink("<notmailto:ann@example.com>"));
  EXPECT_FALSE(HasLink("ann@example.com"));
}

}  // namespace
}  // namespace parley
