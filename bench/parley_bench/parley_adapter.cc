// parley's own protocol: accounts and channels made through the blocking wire::Client; load
// connections log in with a token (their sessions are subscribed to the user's channels at
// login, then trimmed or extended to the topology's set); posts are PostMessage frames.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <span>

#include "bench/parley_bench/adapter.h"
#include "bench/parley_bench/frames.h"
#include "wire/client.h"

namespace parley::bench {
namespace {

constexpr char kPassword[] = "bench-password-1";

// Adapters are shared by the load threads: per-thread decoding and encoding scratch.
FrameReader& Reader() {
  thread_local FrameReader reader;
  return reader;
}

flatbuffers::FlatBufferBuilder& Builder() {
  thread_local flatbuffers::FlatBufferBuilder fbb(512);
  return fbb;
}

std::string_view View(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : std::string_view(s->data(), s->size());
}

class ParleyAdapter final : public Adapter {
 public:
  explicit ParleyAdapter(TargetOptions o) : Adapter(std::move(o)) {}

  Status Prepare(const Topology& topology, Mode) override {
    topology_ = topology;
    auto owner = Account("owner");
    if (!owner.ok()) return owner.error();
    auto ws = (*owner)->CreateWorkspace("bench-" + options_.tag);
    if (!ws.ok()) return ws.error();
    workspace_ = ws->id;
    general_ = ws->general_channel_id;
    wire::WorkspaceSettingsT open;  // the bench's accounts join without invites
    open.join_open = true;
    open.members_create_private = true;
    if (auto s = (*owner)->UpdateWorkspaceSettings(workspace_, open); !s.ok()) return s.error();
    channels_.assign(topology.topics, general_);
    if (topology.topics > 1) {
      for (uint32_t t = 0; t < topology.topics; ++t) {
        auto ch = (*owner)->CreateChannel(workspace_, "room-" + std::to_string(t));
        if (!ch.ok()) return ch.error();
        channels_[t] = ch->id;
      }
    }
    // Subscribers are members of their topics; publishers of the topics they post to.
    for (uint32_t u = 0; u < topology.user_topics.size(); ++u) {
      auto token = Member("s" + std::to_string(u), topology.user_topics[u]);
      if (!token.ok()) return token.error();
      user_tokens_.push_back(*token);
    }
    for (uint32_t p = 0; p < topology.publisher_topics.size(); ++p) {
      auto token = Member("p" + std::to_string(p), topology.publisher_topics[p]);
      if (!token.ok()) return token.error();
      publisher_tokens_.push_back(*token);
    }
    return OkStatus();
  }

  Status BeginHandshake(Handshake& h) override {
    wire::HelloT hello;
    hello.min_version = wire::kMinProtocolVersion;
    hello.max_version = wire::kMaxProtocolVersion;
    hello.client = "parley-bench";
    wire::LoginT login;
    login.token = h.publisher ? publisher_tokens_[h.index] : user_tokens_[h.index];
    wire::Bytes a = wire::EncodeFrame(1, wire::MakeBody(std::move(hello)));
    wire::Bytes b = wire::EncodeFrame(2, wire::MakeBody(std::move(login)));
    std::string out(a.begin(), a.end());
    out.append(b.begin(), b.end());
    return WriteAll(h, out);
  }

  Status FinishHandshake(Handshake& h) override {
    std::vector<uint64_t> subscribed;
    Status s = Await(h, 2, 1, [&](const wire::Frame* f) {
      if (const auto* ok = f->body_as_LoginOk(); ok != nullptr && ok->channels() != nullptr) {
        for (const auto* c : *ok->channels()) subscribed.push_back(c->channel_id());
      }
    });
    if (!s.ok()) return s;
    // The session is now subscribed to every channel of its user: trim and extend to the
    // topology's set (a publisher's is empty: posting needs membership, not a subscription).
    std::vector<uint64_t> want;
    if (!h.publisher) {
      for (uint32_t t : topology_.user_topics[h.index]) want.push_back(channels_[t]);
    }
    std::string out;
    uint64_t id = 3;
    // Appends a request of type T (Subscribe or Unsubscribe) for every channel of `from` that
    // is not in `other`.
    auto requests = [&]<class T>(T request, const std::vector<uint64_t>& from,
                                 const std::vector<uint64_t>& other) {
      for (uint64_t c : from) {
        if (std::find(other.begin(), other.end(), c) != other.end()) continue;
        request.channel_id = c;
        wire::Bytes f = wire::EncodeFrame(id++, wire::MakeBody(request));
        out.append(f.begin(), f.end());
      }
    };
    requests(wire::UnsubscribeT{}, subscribed, want);
    requests(wire::SubscribeT{}, want, subscribed);
    if (out.empty()) return OkStatus();
    if (Status w = WriteAll(h, out); !w.ok()) return w;
    return Await(h, 3, id - 3, [](const wire::Frame*) {});
  }

  void AppendPublish(std::string& out, uint32_t, uint32_t topic, std::string_view payload,
                     uint64_t n) override {
    flatbuffers::FlatBufferBuilder& fbb = Builder();
    fbb.Clear();
    auto text = fbb.CreateString(payload.data(), payload.size());
    wire::PostMessageBuilder post(fbb);
    post.add_channel_id(channels_[topic]);
    post.add_text(text);
    auto body = post.Finish();
    wire::Bytes f = wire::FinishFrame(fbb, 1000 + n, wire::Body::PostMessage, body.Union());
    out.append(f.begin(), f.end());
  }

  size_t Consume(std::string_view in, Sink& sink) override {
    size_t pos = 0;
    while (pos < in.size()) {
      size_t used = 0;
      bool broken = false;
      const wire::Frame* f = Reader().Next(in.substr(pos), &used, &broken);
      if (broken) return kBroken;
      if (f == nullptr) break;
      pos += used;
      switch (f->body_type()) {
        case wire::Body::MessagePosted:
          if (const auto* m = f->body_as_MessagePosted()->message(); m != nullptr) {
            sink.Delivery(View(m->text()));
          }
          break;
        case wire::Body::PostAck:
          sink.Acks(1);
          break;
        case wire::Body::Error:
          sink.Failure(View(f->body_as_Error()->message()));
          break;
        default:
          break;
      }
    }
    return pos;
  }

  Result<uint64_t> CountDurable() override {
    wire::ClientOptions o;
    o.host = options_.host;
    o.port = options_.port;
    o.timeout_ms = 2000;
    o.tls = options_.tls;
    o.tls_ca_file = options_.tls_ca_file;
    auto c = wire::Client::Connect(o);  // parleyd listens only once its log is replayed
    if (!c.ok()) return c.error();
    auto login = (*c)->Login(Email("p0"), kPassword);
    if (!login.ok()) return login.error();
    auto list = (*c)->ListWorkspaces();
    if (!list.ok()) return list.error();
    for (const auto& ws : *list) {
      if (ws.name != "bench-" + options_.tag) continue;
      auto page = (*c)->History(ws.general_channel_id, 0, 0, 1);
      if (!page.ok()) return page.error();
      return page->last_seq;
    }
    return MakeError(ErrorCode::kNotFound, "no bench workspace", options_.tag);
  }

 private:
  std::string Email(const std::string& who) const {
    return who + "." + options_.tag + "@bench.test";
  }

  Result<std::unique_ptr<wire::Client>> Account(const std::string& who) {
    wire::ClientOptions o;
    o.host = options_.host;
    o.port = options_.port;
    o.timeout_ms = options_.timeout_ms;
    o.client_name = "parley-bench";
    o.tls = options_.tls;
    o.tls_ca_file = options_.tls_ca_file;
    auto c = wire::Client::Connect(o);
    if (!c.ok()) return c.error();
    auto reg = (*c)->Register(Email(who), kPassword, who);
    if (!reg.ok() && reg.error().code != ErrorCode::kAlreadyExists) return reg.error();
    auto login = (*c)->Login(Email(who), kPassword);
    if (!login.ok()) return login.error();
    token_ = login->token;
    return c;
  }

  // An account that is a member of the workspace and of `topics`; returns its token.
  Result<std::string> Member(const std::string& who, const std::vector<uint32_t>& topics) {
    auto c = Account(who);
    if (!c.ok()) return c.error();
    if (auto j = (*c)->JoinWorkspace(workspace_); !j.ok()) return j.error();
    for (uint32_t t : topics) {
      if (channels_[t] == general_) continue;  // joined with the workspace
      if (auto j = (*c)->JoinChannel(channels_[t]); !j.ok()) return j.error();
    }
    return token_;
  }

  // Reads frames until `count` answers to request ids [first, first + count) arrived; fn sees
  // each. Events in between are dropped (nothing is published during handshakes).
  template <class F>
  Status Await(Handshake& h, uint64_t first, uint64_t count, F&& fn) {
    size_t pos = 0;
    while (count > 0) {
      size_t used = 0;
      bool broken = false;
      const wire::Frame* f = Reader().Next(std::string_view(h.leftover).substr(pos), &used, &broken);
      if (broken) return MakeError(ErrorCode::kMalformedFrame, "bad frame from parleyd");
      if (f == nullptr) {
        if (Status s = ReadMore(h, &h.leftover, options_.timeout_ms); !s.ok()) return s;
        continue;
      }
      pos += used;
      if (f->request_id() < first) continue;  // an event, or an answer already consumed
      if (const auto* e = f->body_as_Error()) return wire::ToError(e);
      fn(f);
      --count;
    }
    h.leftover.erase(0, pos);
    return OkStatus();
  }

  Topology topology_;
  uint64_t workspace_ = 0;
  uint64_t general_ = 0;
  std::vector<uint64_t> channels_;
  std::vector<std::string> user_tokens_;
  std::vector<std::string> publisher_tokens_;
  std::string token_;
};

}  // namespace

std::unique_ptr<Adapter> MakeParleyAdapter(const TargetOptions& options) {
  return std::make_unique<ParleyAdapter>(options);
}

}  // namespace parley::bench
