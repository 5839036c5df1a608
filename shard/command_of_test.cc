#include "shard/command_of.h"

#include <gtest/gtest.h>

#include <span>

namespace parley::shard {
namespace {

// The frame's payload as a session hands it on, verified.
struct Verified {
  explicit Verified(const wire::BodyUnion& body) : bytes(wire::EncodeFrame(7, body)) {}
  const wire::Frame& frame() {
    auto f = wire::VerifyFrame(std::span<const uint8_t>(bytes).subspan(wire::kLengthPrefixBytes));
    EXPECT_TRUE(f.ok());
    return **f;
  }
  wire::Bytes bytes;
};

TEST(CommandOf, PostIsAPostOrAReplyByThreadSeq) {
  wire::PostMessageT post;
  post.channel_id = 12;
  post.client_msg_id = "c1";
  post.text = "hi";
  Verified top(wire::MakeBody(post));
  std::optional<Command> c = CommandOf(3, top.frame());
  ASSERT_TRUE(c.has_value());
  const auto& p = std::get<PostMessage>(*c);
  EXPECT_EQ(p.actor, 3u);
  EXPECT_EQ(p.channel_id, 12u);
  EXPECT_EQ(p.client_msg_id, "c1");
  EXPECT_EQ(p.text, "hi");

  post.thread_seq = 5;
  post.also_to_channel = true;
  Verified reply(wire::MakeBody(post));
  c = CommandOf(3, reply.frame());
  ASSERT_TRUE(c.has_value());
  const auto& r = std::get<PostReply>(*c);
  EXPECT_EQ(r.thread_seq, 5u);
  EXPECT_TRUE(r.also_to_channel);
}

TEST(CommandOf, AbsentDetailsStayAbsentSoTheyAreKept) {
  wire::SetChannelDetailsT details;
  details.channel_id = 9;
  details.topic = "releases";
  Verified v(wire::MakeBody(details));
  auto c = CommandOf(1, v.frame());
  ASSERT_TRUE(c.has_value());
  const auto& d = std::get<UpdateChannelDetails>(*c);
  EXPECT_FALSE(d.name.has_value());
  EXPECT_EQ(d.topic, std::optional<std::string>("releases"));
  EXPECT_FALSE(d.purpose.has_value());
}

TEST(CommandOf, OtherBodiesAreNotCommands) {
  wire::HistoryT history;
  history.channel_id = 4;
  Verified v(wire::MakeBody(history));
  EXPECT_FALSE(CommandOf(1, v.frame()).has_value());
  wire::RegisterT reg;  // needs a hash computed off the loop: its handler builds the command
  Verified r(wire::MakeBody(reg));
  EXPECT_FALSE(CommandOf(1, r.frame()).has_value());
}

}  // namespace
}  // namespace parley::shard
