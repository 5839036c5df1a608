#include "server/admin_http.h"

#include "gtest/gtest.h"

namespace parley::server {
namespace {

TEST(ParseRequestHead, GetWithQueryString) {
  ParsedRequest r = ParseRequestHead("GET /metrics?name=x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(r.refuse, 0);
  EXPECT_EQ(r.path, "/metrics");
}

TEST(ParseRequestHead, Http10IsAccepted) {
  EXPECT_EQ(ParseRequestHead("GET /healthz HTTP/1.0\r\n\r\n").refuse, 0);
}

TEST(ParseRequestHead, OtherMethodsAre405) {
  EXPECT_EQ(ParseRequestHead("POST /metrics HTTP/1.1\r\n\r\n").refuse, 405);
  EXPECT_EQ(ParseRequestHead("HEAD /metrics HTTP/1.1\r\n\r\n").refuse, 405);
}

TEST(ParseRequestHead, BrokenRequestLinesAre400) {
  EXPECT_EQ(ParseRequestHead("GET\r\n\r\n").refuse, 400);
  EXPECT_EQ(ParseRequestHead("GET /metrics\r\n\r\n").refuse, 400);
  EXPECT_EQ(ParseRequestHead("GET metrics HTTP/1.1\r\n\r\n").refuse, 400);
  EXPECT_EQ(ParseRequestHead("GET /metrics HTTP/2\r\n\r\n").refuse, 400);
  EXPECT_EQ(ParseRequestHead("GET  /metrics HTTP/1.1\r\n\r\n").refuse, 400);
  EXPECT_EQ(ParseRequestHead(" /metrics HTTP/1.1\r\n\r\n").refuse, 400);
  EXPECT_EQ(ParseRequestHead("GET /a b HTTP/1.1\r\n\r\n").refuse, 400);
}

}  // namespace
}  // namespace parley::server
