// TLS on the client connection: the session's io_uring receives and sends move ciphertext, the
// TlsStream (wire/tls.h) turns it into the plaintext that ProcessInput frames, on the shard
// thread. A TLS failure ends only its own connection, with one log line saying why.
#include <string>

#include "shard/log.h"
#include "shard/shard.h"

namespace parley::shard {
namespace {

// Plaintext encrypted per send: enough to fill many records, little enough that a slow reader's
// ciphertext copy stays small next to its queue bound.
constexpr size_t kTlsSendBytes = 256 * 1024;
constexpr size_t kTlsSendFrames = 256;

}  // namespace

std::unique_ptr<SessionTls> Shard::NewSessionTls(const char* address) {
  auto stream = wire::TlsStream::Accept(*config_.tls);
  if (!stream.ok()) {
    LogJson("error", "TLS connection refused",
            {{"shard", std::to_string(id_)},
             {"address", address},
             {"error", stream.error().message + ": " + stream.error().details}});
    return nullptr;
  }
  auto tls = std::make_unique<SessionTls>();
  tls->stream = std::move(*stream);
  return tls;
}

// A flood of bad clients is counted in full but logged within the shard's error-log cap.
void Shard::NoteTlsFailure(const Session& s, const Error& error) {
  counters_.tls_failures.Add();
  if (TakeErrorLogSlot()) {
    LogJson("warn", error.message,
            {{"shard", std::to_string(id_)}, {"address", s.address}, {"reason", error.details}});
  }
}

// The connection ends after any alert OpenSSL queued (it tells the peer why) is written.
void Shard::EndTls(Session& s, uint32_t slot, const Error& error) {
  NoteTlsFailure(s, error);
  CloseAfterFlush(s);
  s.in.clear();
  MarkDirty(s, slot);
}

void Shard::ReceiveTls(Session& s, uint32_t slot, std::span<const uint8_t> ciphertext) {
  Result<wire::TlsStream::Input> input = s.tls->stream->Receive(ciphertext, &s.in);
  if (!input.ok()) {
    EndTls(s, slot, input.error());
    return;
  }
  if (*input == wire::TlsStream::Input::kPeerClosed) {
    // The peer sends nothing more: take what came before its close_notify, answer with ours.
    ProcessInput(s, slot);
    CloseAfterFlush(s);
  }
  // Handshake records, a key update's answer, or frames held back until the handshake ended.
  if (NeedsSend(s)) MarkDirty(s, slot);
}

void Shard::StartTlsSend(Session& s, uint32_t slot) {
  wire::TlsStream& stream = *s.tls->stream;
  if (stream.handshake_done() && !stream.failed()) {
    size_t bytes = 0;
    Status written = OkStatus();
    for (size_t n = 0;
         written.ok() && !s.out.empty() && n < kTlsSendFrames && bytes < kTlsSendBytes; ++n) {
      const wire::Bytes& frame = *s.out.front();
      written = stream.Write(frame);
      bytes += frame.size();
      s.out_bytes -= std::min(s.out_bytes, frame.size());
      s.out.pop_front();
    }
    if (written.ok()) written = stream.Flush();
    if (!written.ok()) {
      NoteTlsFailure(s, written.error());
      CloseSession(s, slot);
      return;
    }
    if (s.out.empty() && s.close_after_flush) stream.Close();
  } else if (s.close_after_flush) {
    stream.Close();  // no session to close politely; only a pending alert goes out
  }
  s.tls->sending.clear();
  s.tls->sent = 0;
  stream.TakeOutput(&s.tls->sending);
  if (!s.tls->sending.empty()) {
    SubmitTlsSend(s, slot);
  } else if (s.close_after_flush) {
    CloseSession(s, slot);
  }
}

void Shard::SubmitTlsSend(Session& s, uint32_t slot) {
  SessionTls& tls = *s.tls;
  s.iov.resize(1);
  s.iov[0].iov_base = tls.sending.data() + tls.sent;
  s.iov[0].iov_len = tls.sending.size() - tls.sent;
  SubmitSend(s, slot, 0);
}

void Shard::OnTlsSent(Session& s, uint32_t slot, size_t bytes) {
  s.tls->sent += bytes;
  if (s.closing) return;
  if (s.tls->sent < s.tls->sending.size()) {
    SubmitTlsSend(s, slot);
  } else if (NeedsSend(s)) {
    StartTlsSend(s, slot);
  }
}

}  // namespace parley::shard
