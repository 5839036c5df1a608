#include "core/mentions.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

TEST(ParseMentions, UsersAscendingWithoutDuplicates) {
  Mentions m = ParseMentions("hi <@42> and <@7>, again <@42>");
  EXPECT_EQ(m.users, (std::vector<UserId>{7, 42}));
  EXPECT_FALSE(m.channel);
}

TEST(ParseMentions, ChannelWideForms) {
  for (const char* text : {"<!channel> look", "ping <!here>", "<!everyone>!"}) {
    Mentions m = ParseMentions(text);
    EXPECT_TRUE(m.channel) << text;
    EXPECT_TRUE(m.users.empty()) << text;
  }
}

TEST(ParseMentions, LeavesOtherAngleBracketsAlone) {
  for (const char* text : {"a < b > c", "<@>", "<@12x>", "<@0>", "<@-3>", "<!chan>", "<@5",
                           "<@99999999999999999999999>", "1 <2 and 3> 4"}) {
    EXPECT_TRUE(ParseMentions(text).empty()) << text;
  }
}

TEST(ParseMentions, LargestIdAndOverflow) {
  EXPECT_EQ(ParseMentions("<@18446744073709551615>").users,
            (std::vector<UserId>{18446744073709551615ull}));
  EXPECT_TRUE(ParseMentions("<@18446744073709551616>").empty());
}

TEST(ParseMentions, KeepsAtMostTheLimit) {
  std::string text;
  for (size_t i = 1; i <= kMaxMentionedUsers + 10; ++i) text += "<@" + std::to_string(i) + "> ";
  EXPECT_EQ(ParseMentions(text).users.size(), kMaxMentionedUsers);
}

}  // namespace
}  // namespace parley
