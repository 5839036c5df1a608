#include "wire/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>

namespace parley::wire {
namespace {

// The largest plaintext of one TLS record.
constexpr size_t kRecordBytes = 16384;

// Everything OpenSSL queued on this thread, oldest first; the queue is left empty.
std::string DrainErrors() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "no reason given" : text;
}

// details names the file at fault: cert_file, key_file or ca_file (empty: none of them).
Error ContextError(const std::string& what, const char* file = "") {
  return MakeError(ErrorCode::kInvalidArgument, what + ": " + DrainErrors(), file);
}

bool IsIpAddress(const std::string& name) {
  in6_addr addr{};
  return inet_pton(AF_INET, name.c_str(), &addr) == 1 ||
         inet_pton(AF_INET6, name.c_str(), &addr) == 1;
}

ssl_ctx_st* NewContext(const SSL_METHOD* method, bool allow_tls12) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

}  // namespace

Result<std::shared_ptr<const TlsContext>> TlsContext::ForServer(const std::string& cert_file,
                                                                const std::string& key_file,
                                                                bool allow_tls12) {
  ERR_clear_error();
  SSL_CTX* ctx = NewContext(TLS_server_method(), allow_tls12);
  if (ctx == nullptr) return ContextError("cannot create a TLS context");
  std::shared_ptr<const TlsContext> context(new TlsContext(ctx));
  // Idle connections (most of a chat server's) give their record buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // Our clients do not resume sessions: tickets would only cost every handshake bytes and time.
  SSL_CTX_set_num_tickets(ctx, 0);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return ContextError("cannot load the certificate chain " + cert_file, "cert_file");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return ContextError("cannot load the private key " + key_file, "key_file");
  }
  return context;
}

Result<std::shared_ptr<const TlsContext>> TlsContext::ForClient(const std::string& ca_file,
                                                                bool allow_tls12) {
  ERR_clear_error();
  SSL_CTX* ctx = NewContext(TLS_client_method(), allow_tls12);
  if (ctx == nullptr) return ContextError("cannot create a TLS context");
  std::shared_ptr<const TlsContext> context(new TlsContext(ctx));
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                               : SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return ContextError(ca_file.empty() ? "cannot load the system's trusted certificates"
                                        : "cannot load the CA file " + ca_file,
                        "ca_file");
  }
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

namespace {

// Wires a fresh SSL object to two memory BIOs; on failure frees what it made and leaves nulls.
Status NewSsl(ssl_ctx_st* ctx, ssl_st** ssl, bio_st** in, bio_st** out) {
  ERR_clear_error();
  *ssl = SSL_new(ctx);
  *in = BIO_new(BIO_s_mem());
  *out = BIO_new(BIO_s_mem());
  if (*ssl == nullptr || *in == nullptr || *out == nullptr) {
    SSL_free(*ssl);
    BIO_free(*in);
    BIO_free(*out);
    *ssl = nullptr;
    *in = *out = nullptr;
    return MakeError(ErrorCode::kInternal, "cannot create a TLS connection", DrainErrors());
  }
  // An empty input buffer means "more later", never end of stream.
  BIO_set_mem_eof_return(*in, -1);
  SSL_set_bio(*ssl, *in, *out);
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<TlsStream>> TlsStream::Accept(const TlsContext& context) {
  std::unique_ptr<TlsStream> stream(new TlsStream());
  Status made = NewSsl(context.ctx_, &stream->ssl_, &stream->in_, &stream->out_);
  if (!made.ok()) return made.error();
  SSL_set_accept_state(stream->ssl_);
  return stream;
}

Result<std::unique_ptr<TlsStream>> TlsStream::Connect(const TlsContext& context,
                                                      const std::string& server_name) {
  std::unique_ptr<TlsStream> stream(new TlsStream());
  Status made = NewSsl(context.ctx_, &stream->ssl_, &stream->in_, &stream->out_);
  if (!made.ok()) return made.error();
  SSL* ssl = stream->ssl_;
  SSL_set_connect_state(ssl);
  bool named = IsIpAddress(server_name)
                   ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str()) == 1
                   : SSL_set_tlsext_host_name(ssl, server_name.c_str()) == 1 &&
                         SSL_set1_host(ssl, server_name.c_str()) == 1;
  if (!named) {
    return MakeError(ErrorCode::kInvalidArgument, "unusable TLS server name " + server_name,
                     DrainErrors());
  }
  int rc = SSL_do_handshake(ssl);
  if (rc <= 0 && SSL_get_error(ssl, rc) != SSL_ERROR_WANT_READ) {
    return stream->IoFailure("TLS handshake failed", rc).error();
  }
  return stream;
}

TlsStream::~TlsStream() { SSL_free(ssl_); }  // frees both BIOs

Status TlsStream::Fail(const char* what, std::string reason) {
  failed_ = true;
  return MakeError(ErrorCode::kUnavailable, what, std::move(reason));
}

Status TlsStream::IoFailure(const char* what, int rc) {
  // SYSCALL with an empty error queue: the record layer hit the end of its input, e.g. a
  // peer that closed without close_notify. Never a real system call over memory BIOs.
  const bool cut = SSL_get_error(ssl_, rc) == SSL_ERROR_SYSCALL && ERR_peek_error() == 0;
  return Fail(what, cut ? "unexpected end of the TLS stream" : DrainErrors());
}

Result<TlsStream::Input> TlsStream::Receive(std::span<const uint8_t> ciphertext,
                                            std::vector<uint8_t>* plain) {
  if (failed_) return MakeError(ErrorCode::kUnavailable, "TLS stream already failed");
  ERR_clear_error();
  if (!ciphertext.empty() &&
      BIO_write(in_, ciphertext.data(), static_cast<int>(ciphertext.size())) <= 0) {
    return Fail("TLS input buffer full", DrainErrors()).error();
  }
  // Judged before reading: a bad record puts OpenSSL back "in init" while it reads.
  const char* failure = handshake_done() ? "TLS error" : "TLS handshake failed";
  // Plaintext is never longer than the ciphertext carrying it, so this read size takes a whole
  // recv in one call; the loop collects the rest of a record already buffered.
  const size_t chunk = std::max(ciphertext.size(), size_t{4096});
  for (;;) {
    const size_t before = plain->size();
    plain->resize(before + chunk);
    size_t n = 0;
    int rc = SSL_read_ex(ssl_, plain->data() + before, chunk, &n);
    plain->resize(before + n);
    if (rc == 1) continue;
    switch (SSL_get_error(ssl_, rc)) {
      case SSL_ERROR_WANT_READ:
        return Input::kOpen;
      case SSL_ERROR_ZERO_RETURN:
        return Input::kPeerClosed;
      default:
        return IoFailure(failure, rc).error();
    }
  }
}

bool TlsStream::handshake_done() const { return SSL_is_init_finished(ssl_) == 1; }

std::string TlsStream::protocol() const { return SSL_get_version(ssl_); }

Status TlsStream::Write(std::span<const uint8_t> plaintext) {
  if (failed_ || close_sent_ || !handshake_done()) {
    return MakeError(ErrorCode::kUnavailable, "TLS stream not writable");
  }
  if (!gather_.empty() && gather_.size() + plaintext.size() > kRecordBytes) {
    if (Status flushed = Flush(); !flushed.ok()) return flushed;
  }
  if (plaintext.size() >= kRecordBytes) return WriteRecord(plaintext.data(), plaintext.size());
  gather_.insert(gather_.end(), plaintext.begin(), plaintext.end());
  return OkStatus();
}

Status TlsStream::Flush() {
  if (gather_.empty()) return OkStatus();
  Status written = WriteRecord(gather_.data(), gather_.size());
  gather_.clear();
  return written;
}

// A memory BIO grows as needed, so a write never waits for the peer: it completes or fails.
Status TlsStream::WriteRecord(const uint8_t* data, size_t size) {
  ERR_clear_error();
  size_t written = 0;
  int rc = SSL_write_ex(ssl_, data, size, &written);
  if (rc != 1) return IoFailure("TLS write failed", rc);
  return OkStatus();
}

void TlsStream::Close() {
  if (close_sent_) return;
  close_sent_ = true;
  // After a fatal error or before the handshake ends there is no session to close politely.
  if (failed_ || !handshake_done()) return;
  (void)Flush();
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

size_t TlsStream::pending_output() const { return BIO_ctrl_pending(out_); }

bool TlsStream::has_partial_input() const {
  return BIO_ctrl_pending(in_) > 0 || SSL_has_pending(ssl_) == 1;
}

void TlsStream::TakeOutput(std::vector<uint8_t>* out) {
  const size_t n = pending_output();
  const size_t before = out->size();
  out->resize(before + n);
  if (n > 0) BIO_read(out_, out->data() + before, static_cast<int>(n));
}

void TlsStream::TakeOutput(std::string* out) {
  const size_t n = pending_output();
  const size_t before = out->size();
  out->resize(before + n);
  if (n > 0) BIO_read(out_, out->data() + before, static_cast<int>(n));
}

Status TlsStream::RequestKeyUpdate() {
  if (failed_ || !handshake_done()) return MakeError(ErrorCode::kUnavailable, "no TLS session");
  ERR_clear_error();
  if (SSL_key_update(ssl_, SSL_KEY_UPDATE_REQUESTED) != 1) {
    return Fail("TLS key update refused", DrainErrors());
  }
  // Sends the KeyUpdate now rather than with the next write.
  int rc = SSL_do_handshake(ssl_);
  if (rc != 1) return IoFailure("TLS key update failed", rc);
  return OkStatus();
}

}  // namespace parley::wire
