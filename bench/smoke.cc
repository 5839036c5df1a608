// parley-smoke: a quick loopback figure for a running parleyd: one publisher pipelining posts
// into one channel, N subscribers receiving them. Prints posted/s and delivered/s. The real
// load generator (parley-bench, with Redis and NATS peers) supersedes it.
#include <gflags/gflags.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "wire/client.h"

DEFINE_int32(port, 7400, "parleyd port on 127.0.0.1");
DEFINE_int32(subscribers, 10, "subscriber connections");
DEFINE_int32(messages, 20000, "messages to post");
DEFINE_int32(window, 64, "posts in flight");
DEFINE_int32(bytes, 100, "message size");

namespace {

using namespace parley;
using Clock = std::chrono::steady_clock;

std::unique_ptr<wire::Client> SignIn(const std::string& email) {
  wire::ClientOptions o;
  o.port = static_cast<uint16_t>(FLAGS_port);
  o.timeout_ms = 30000;
  auto c = wire::Client::Connect(o);
  if (!c.ok()) {
    std::fprintf(stderr, "connect: %s\n", c.error().message.c_str());
    std::exit(1);
  }
  (*c)->Register(email, "smoke-password", "smoke");
  if (!(*c)->Login(email, "smoke-password").ok()) std::exit(1);
  return std::move(*c);
}

wire::Bytes PostFrame(uint64_t request_id, uint64_t channel, const std::string& text) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto body = wire::CreatePostMessageDirect(fbb, channel, "", text.c_str());
  return wire::FinishFrame(fbb, request_id, wire::Body::PostMessage, body.Union());
}

}  // namespace

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  std::string run = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  auto publisher = SignIn("pub-" + run + "@smoke.test");
  auto ws = publisher->CreateWorkspace("smoke");
  if (!ws.ok()) return 1;
  const uint64_t channel = ws->general_channel_id;
  wire::WorkspaceSettingsT open;  // the subscribers join without invites
  open.join_open = true;
  if (!publisher->UpdateWorkspaceSettings(ws->id, open).ok()) return 1;
  std::vector<std::unique_ptr<wire::Client>> subs;
  for (int i = 0; i < FLAGS_subscribers; ++i) {
    subs.push_back(SignIn("sub" + std::to_string(i) + "-" + run + "@smoke.test"));
    subs.back()->JoinWorkspace(ws->id);
    subs.back()->Subscribe(channel);  // a round trip: the subscription is counted
  }
  std::atomic<uint64_t> delivered{0};
  std::vector<std::thread> readers;
  for (auto& s : subs) {
    readers.emplace_back([&, c = s.get()] {
      for (int got = 0; got < FLAGS_messages;) {
        auto e = c->NextEvent(30000);
        if (!e.ok()) return;
        if (e->body.AsMessagePosted()) {
          ++got;
          delivered++;
        }
      }
    });
  }
  std::string text(static_cast<size_t>(FLAGS_bytes), 'x');
  auto start = Clock::now();
  int sent = 0, acked = 0;
  while (acked < FLAGS_messages) {
    while (sent < FLAGS_messages && sent - acked < FLAGS_window) {
      wire::Bytes f = PostFrame(static_cast<uint64_t>(sent + 1000), channel, text);
      publisher->SendRaw(f.data(), f.size());
      ++sent;
    }
    auto frame = publisher->ReadFrame(30000);
    if (!frame.ok()) return 1;
    if (frame->body.AsPostAck()) ++acked;
  }
  double post_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& t : readers) t.join();
  double all_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "posted %d in %.2fs: %.0f posts/s (window %d); delivered %llu in %.2fs: %.0f/s "
      "to %d subscribers\n",
      acked, post_s, acked / post_s, FLAGS_window,
      static_cast<unsigned long long>(delivered.load()), all_s, delivered / all_s,
      FLAGS_subscribers);
  return 0;
}
