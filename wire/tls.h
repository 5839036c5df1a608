// TLS over memory buffers (OpenSSL memory BIOs): the caller moves ciphertext between a TlsStream
// and its socket however it likes (parleyd's io_uring shards, the bench's rings, the blocking
// client), and the stream turns it into plaintext and back. No socket is ever touched here.
//
// TLS 1.3 only unless a context is made with allow_tls12; renegotiation is refused (1.3 has
// none; its key updates are handled inside Receive and answered with the next output).
//
// A TlsContext is immutable once made and may be shared by any number of threads. A TlsStream
// is one connection's state: one thread at a time, never blocks, returns errors (no exceptions)
// naming the OpenSSL reason. OpenSSL's error queue is per thread: every call clears what it
// leaves there, so one connection's failure never shows up in another's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"

struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace parley::wire {

class TlsContext {
 public:
  // A server's certificate chain (PEM, leaf first) and its private key (PEM). Fails with
  // kInvalidArgument when either cannot be used (a key not matching the certificate cannot): the
  // message gives the file and OpenSSL's reason, details the file's role (cert_file, key_file).
  static Result<std::shared_ptr<const TlsContext>> ForServer(const std::string& cert_file,
                                                             const std::string& key_file,
                                                             bool allow_tls12 = false);
  // A client that verifies the server's chain against ca_file (PEM; empty: the system's trust
  // store) and its name (see TlsStream::Connect). Fails like ForServer, details "ca_file".
  static Result<std::shared_ptr<const TlsContext>> ForClient(const std::string& ca_file,
                                                             bool allow_tls12 = false);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

 private:
  friend class TlsStream;
  explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

class TlsStream {
 public:
  enum class Input { kOpen, kPeerClosed };  // kPeerClosed: the peer sent close_notify

  // The server side of one accepted connection.
  static Result<std::unique_ptr<TlsStream>> Accept(const TlsContext& context);
  // The client side; server_name (a DNS name or an IP address) is sent as SNI when it is a DNS
  // name and must match the server certificate. The first flight is queued at once.
  static Result<std::unique_ptr<TlsStream>> Connect(const TlsContext& context,
                                                    const std::string& server_name);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Ciphertext from the peer. Advances the handshake, then appends every byte of plaintext it
  // completes to *plain. Handshake answers, alerts and key-update answers queue as output.
  // A protocol failure (a plaintext client, a bad certificate, an old version) is kUnavailable
  // with the reason; an alert telling the peer why may be queued as output. After an error or
  // kPeerClosed the stream takes no more input.
  Result<Input> Receive(std::span<const uint8_t> ciphertext, std::vector<uint8_t>* plain);

  bool handshake_done() const;
  bool failed() const { return failed_; }
  std::string protocol() const;  // "TLSv1.3" once the handshake is done

  // Plaintext to send. Small writes gather in one record (up to 16 KiB) until Flush(); a write
  // that fills a record goes out at once. REQUIRES: handshake_done().
  Status Write(std::span<const uint8_t> plaintext);
  Status Flush();
  // Queues close_notify (after whatever was written); later writes fail. Once only.
  void Close();
  bool close_sent() const { return close_sent_; }

  // Ciphertext waiting to go to the peer, and taking it (appended to *out).
  size_t pending_output() const;
  // True while received ciphertext holds part of a record not yet decrypted (a record arrives
  // whole before any of its plaintext does).
  bool has_partial_input() const;
  void TakeOutput(std::vector<uint8_t>* out);
  void TakeOutput(std::string* out);

  // Asks the peer to update its keys too (TLS 1.3 KeyUpdate); sent with the next output.
  Status RequestKeyUpdate();

 private:
  TlsStream() = default;
  Status Fail(const char* what, std::string reason);
  Status IoFailure(const char* what, int rc);  // after an SSL_* call returned rc
  Status WriteRecord(const uint8_t* data, size_t size);

  ssl_st* ssl_ = nullptr;
  bio_st* in_ = nullptr;         // ciphertext received, owned by ssl_
  bio_st* out_ = nullptr;        // ciphertext to send, owned by ssl_
  std::vector<uint8_t> gather_;  // plaintext written, not yet in a record
  bool failed_ = false;
  bool close_sent_ = false;
};

}  // namespace parley::wire
