#include "wire/client.h"
#include "wire/client_expect.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>

namespace parley::wire {

using internal::BodyName;
using internal::Expect;
using internal::ExpectOk;

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunkBytes = 64 * 1024;

parley::Error Unavailable(std::string message, std::string details = {}) {
  return MakeError(ErrorCode::kUnavailable, std::move(message), std::move(details));
}

parley::Error FromErrno(const char* what, int err) { return Unavailable(what, std::strerror(err)); }

Clock::time_point DeadlineAfter(int timeout_ms) {
  return Clock::now() + std::chrono::milliseconds(timeout_ms);
}

// Milliseconds left until `deadline`, for poll(); 0 once it has passed (poll then only checks).
int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Waits for `events` on fd. kUnavailable on timeout or a poll failure.
Status PollFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n > 0) return OkStatus();
    if (n == 0) return Unavailable("timed out");
    if (errno != EINTR) return FromErrno("poll failed", errno);
  }
}

// Waits for input and appends what one recv() returns to `in`; sets `closed` on end of stream.
Status ReadAvailable(int fd, Clock::time_point deadline, std::vector<uint8_t>& in, bool& closed) {
  Status readable = PollFor(fd, POLLIN, deadline);
  if (!readable.ok()) return readable.error();
  uint8_t chunk[kReadChunkBytes];
  const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
  const int err = errno;
  if (n > 0) in.insert(in.end(), chunk, chunk + n);
  if (n == 0) closed = true;
  if (n >= 0 || err == EINTR || err == EAGAIN || err == EWOULDBLOCK) return OkStatus();
  if (err == ECONNRESET) closed = true;
  return FromErrno("recv failed", err);
}

// One connection attempt to one resolved address, bounded by `deadline`. The socket stays
// non-blocking: every later read and write waits through poll() with a timeout.
Result<int> ConnectAddress(const addrinfo& ai, Clock::time_point deadline, int recv_buffer) {
  const int fd =
      ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
  if (fd < 0) return FromErrno("socket failed", errno);
  // Before connect, so that the window the handshake advertises already follows it.
  if (recv_buffer > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &recv_buffer, sizeof(recv_buffer));
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0 && errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    return FromErrno("connect failed", err);
  }
  Status ready = PollFor(fd, POLLOUT, deadline);
  int err = 0;
  socklen_t len = sizeof(err);
  if (ready.ok() && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (!ready.ok() || err != 0) {
    ::close(fd);
    return ready.ok() ? FromErrno("connect failed", err) : ready.error();
  }
  // Requests are small and latency-bound; Nagle would hold them back waiting for an ACK.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

Result<int> ConnectSocket(const ClientOptions& options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(options.port);
  const int rc = ::getaddrinfo(options.host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) return Unavailable("cannot resolve " + options.host, ::gai_strerror(rc));
  const Clock::time_point deadline = DeadlineAfter(options.timeout_ms);
  Result<int> fd = Unavailable("no address for " + options.host);
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    fd = ConnectAddress(*ai, deadline, options.recv_buffer_bytes);
    if (fd.ok()) break;
  }
  ::freeaddrinfo(list);
  return fd;
}

parley::Error FromErrorBody(const ErrorT& body) {
  parley::Error error = MakeError(static_cast<ErrorCode>(body.code), body.message, body.details);
  error.retry_after_ms = body.retry_after_ms;
  return error;
}

template <class T>
std::vector<T> TakeAll(std::vector<std::unique_ptr<T>>& items) {
  std::vector<T> out;
  out.reserve(items.size());
  for (std::unique_ptr<T>& item : items) {
    if (item) out.push_back(std::move(*item));
  }
  return out;
}

}  // namespace

Client::Client(int fd, ClientOptions options) : fd_(fd), options_(std::move(options)) {}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  Result<int> fd = ConnectSocket(options);
  if (!fd.ok()) return fd.error();
  std::unique_ptr<Client> client(new Client(*fd, options));
  if (options.tls) {
    Status secured = client->StartTls();
    if (!secured.ok()) return secured.error();
  }
  if (options.send_hello) {
    Status hello = client->Hello();
    if (!hello.ok()) return hello.error();
  }
  return client;
}

Status Client::StartTls() {
  auto context = TlsContext::ForClient(options_.tls_ca_file, options_.tls_allow_tls12);
  if (!context.ok()) return context.error();
  const std::string& name =
      options_.tls_server_name.empty() ? options_.host : options_.tls_server_name;
  auto stream = TlsStream::Connect(**context, name);
  if (!stream.ok()) return stream.error();
  tls_ = std::move(*stream);
  const Clock::time_point deadline = DeadlineAfter(options_.timeout_ms);
  for (;;) {
    if (Status flushed = FlushTls(deadline); !flushed.ok()) return flushed;
    if (tls_->handshake_done()) return OkStatus();
    if (closed_) return Unavailable("TLS handshake failed", "the server closed the connection");
    if (Status read = ReadMore(deadline); !read.ok()) return read;
  }
}

Status Client::FlushTls(Clock::time_point deadline) {
  cipher_.clear();
  tls_->TakeOutput(&cipher_);
  return WriteAll(cipher_.data(), cipher_.size(), deadline);
}

Status Client::RequestTlsKeyUpdate() {
  if (!tls_) return MakeError(ErrorCode::kBadRequest, "not a TLS connection");
  if (Status updated = tls_->RequestKeyUpdate(); !updated.ok()) return updated;
  return FlushTls(DeadlineAfter(options_.timeout_ms));
}

Status Client::CloseTls() {
  if (!tls_) return MakeError(ErrorCode::kBadRequest, "not a TLS connection");
  const Clock::time_point deadline = DeadlineAfter(options_.timeout_ms);
  tls_->Close();
  if (Status flushed = FlushTls(deadline); !flushed.ok()) return flushed;
  while (!closed_) {
    if (Status read = ReadMore(deadline); !read.ok()) return read;
  }
  if (!tls_close_received_) return Unavailable("connection closed without close_notify");
  return OkStatus();
}

Status Client::ReadMore(Clock::time_point deadline) {
  if (!tls_) return ReadAvailable(fd_, deadline, in_, closed_);
  cipher_.clear();
  bool ended = false;
  if (Status read = ReadAvailable(fd_, deadline, cipher_, ended); !read.ok()) {
    closed_ = ended;
    return read;
  }
  auto input = tls_->Receive(cipher_, &in_);
  if (!input.ok()) {
    closed_ = true;
    return input.error();
  }
  tls_close_received_ = *input == TlsStream::Input::kPeerClosed;
  closed_ = ended || tls_close_received_;
  // A key update the server asked for is answered at once, not with our next request.
  return closed_ ? OkStatus() : FlushTls(deadline);
}

Status Client::Hello() {
  HelloT hello;
  hello.min_version = kMinProtocolVersion;
  hello.max_version = kMaxProtocolVersion;
  hello.client = options_.client_name;
  Result<WelcomeT> welcome = Expect<WelcomeT>(Call(MakeBody(std::move(hello))));
  if (!welcome.ok()) return welcome.error();
  // A server must pick from our range; anything else means we cannot parse what follows.
  if (welcome->version < kMinProtocolVersion || welcome->version > kMaxProtocolVersion) {
    return MakeError(ErrorCode::kUnsupportedVersion, "server chose an unsupported version",
                     std::to_string(welcome->version));
  }
  welcome_ = std::move(*welcome);
  return OkStatus();
}

std::string Client::DeviceOr(const std::string& device) const {
  return device.empty() ? options_.client_name : device;
}

Result<FrameT> Client::Call(BodyUnion body) {
  if (going_away_) return GoingAwayError();
  const Clock::time_point deadline = DeadlineAfter(options_.timeout_ms);
  const uint64_t request_id = next_request_id_++;
  const Bytes bytes = EncodeFrame(request_id, body);
  Status sent = SendRaw(bytes.data(), bytes.size());
  if (!sent.ok()) return sent.error();
  for (;;) {
    Result<FrameT> frame = ReadFrame(RemainingMs(deadline));
    if (!frame.ok()) return going_away_ ? GoingAwayError() : frame.error();
    if (frame->request_id == 0) {
      events_.push_back(std::move(*frame));
      continue;
    }
    // An answer to an earlier call that timed out: its caller has given up on it.
    if (frame->request_id != request_id) continue;
    if (const ErrorT* error = frame->body.AsError()) return FromErrorBody(*error);
    return frame;
  }
}

Result<RegisterOkT> Client::Register(const std::string& email, const std::string& password,
                                     const std::string& display_name) {
  RegisterT request;
  request.email = email;
  request.password = password;
  request.display_name = display_name;
  return Expect<RegisterOkT>(Call(MakeBody(std::move(request))));
}

Result<LoginOkT> Client::Login(const std::string& email, const std::string& password,
                               const std::string& device) {
  Result<SignInResult> signed_in = SignIn(email, password, device);
  if (!signed_in.ok()) return signed_in.error();
  if (!signed_in->ok) {
    return MakeError(ErrorCode::kUnauthenticated, "this account needs a second factor",
                     "mfa_required");
  }
  return std::move(*signed_in->ok);
}

Result<SignInResult> Client::SignIn(const std::string& email, const std::string& password,
                                    const std::string& device) {
  LoginT request;
  request.email = email;
  request.password = password;
  request.device = DeviceOr(device);
  Result<FrameT> frame = Call(MakeBody(std::move(request)));
  if (!frame.ok()) return frame.error();
  if (MfaRequiredT* mfa = frame->body.AsMfaRequired()) {
    // Without a token there is nothing to complete the sign-in with.
    if (mfa->mfa_token.empty()) {
      return MakeError(ErrorCode::kBadRequest, "MfaRequired without an mfa_token");
    }
    return SignInResult{std::nullopt, std::move(mfa->mfa_token)};
  }
  Result<LoginOkT> ok = Expect<LoginOkT>(std::move(frame));
  if (!ok.ok()) return ok.error();
  return SignInResult{std::move(*ok), {}};
}

Result<LoginOkT> Client::MfaLogin(const std::string& mfa_token, const std::string& code,
                                  const std::string& device) {
  MfaLoginT request;
  request.mfa_token = mfa_token;
  request.code = code;
  request.device = DeviceOr(device);
  return Expect<LoginOkT>(Call(MakeBody(std::move(request))));
}

Result<LoginOkT> Client::OidcLogin(const std::string& id_token, const std::string& nonce,
                                   const std::string& device) {
  OidcLoginT request;
  request.id_token = id_token;
  request.nonce = nonce;
  request.device = DeviceOr(device);
  return Expect<LoginOkT>(Call(MakeBody(std::move(request))));
}

Result<LoginOkT> Client::LoginWithToken(const std::string& token) {
  LoginT request;
  request.token = token;
  return Expect<LoginOkT>(Call(MakeBody(std::move(request))));
}

Result<LoginOkT> Client::LoginWithApiKey(const std::string& key) {
  LoginT request;
  request.api_key = key;
  request.device = DeviceOr("");
  return Expect<LoginOkT>(Call(MakeBody(std::move(request))));
}

Result<TokensT> Client::Refresh(const std::string& refresh_token) {
  RefreshT request;
  request.refresh_token = refresh_token;
  return Expect<TokensT>(Call(MakeBody(std::move(request))));
}

Status Client::Logout() { return ExpectOk(Call(MakeBody(LogoutT{}))); }

Result<std::vector<SessionInfoT>> Client::ListSessions() {
  Result<SessionListT> list = Expect<SessionListT>(Call(MakeBody(ListSessionsT{})));
  if (!list.ok()) return list.error();
  return TakeAll(list->sessions);
}

Status Client::RevokeSession(uint64_t session_id) {
  RevokeSessionT request;
  request.session_id = session_id;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Status Client::RevokeOtherSessions() {
  RevokeSessionT request;
  request.all_others = true;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Status Client::ChangePassword(const std::string& current_password,
                              const std::string& new_password) {
  ChangePasswordT request;
  request.current_password = current_password;
  request.new_password = new_password;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<ProfileT> Client::UpdateProfile(const std::string& display_name, const std::string& title,
                                       const std::string& avatar_url) {
  UpdateProfileT request;
  request.display_name = display_name;
  request.title = title;
  request.avatar_url = avatar_url;
  return Expect<ProfileT>(Call(MakeBody(std::move(request))));
}

Result<ProfileT> Client::GetProfile(uint64_t user_id) {
  GetProfileT request;
  request.user_id = user_id;
  return Expect<ProfileT>(Call(MakeBody(std::move(request))));
}

Result<MfaEnrollmentT> Client::MfaEnroll() {
  return Expect<MfaEnrollmentT>(Call(MakeBody(MfaEnrollT{})));
}

Result<std::vector<std::string>> Client::MfaConfirm(const std::string& code) {
  MfaConfirmT request;
  request.code = code;
  Result<RecoveryCodesT> codes = Expect<RecoveryCodesT>(Call(MakeBody(std::move(request))));
  if (!codes.ok()) return codes.error();
  return std::move(codes->codes);
}

Status Client::MfaDisable(const std::string& code) {
  MfaDisableT request;
  request.code = code;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<ApiKeyCreatedT> Client::CreateApiKey(const std::string& name, Scope scopes,
                                            int64_t expires_at_ms) {
  CreateApiKeyT request;
  request.name = name;
  request.scopes = static_cast<uint32_t>(scopes);
  request.expires_at_ms = expires_at_ms;
  return Expect<ApiKeyCreatedT>(Call(MakeBody(std::move(request))));
}

Result<std::vector<ApiKeyInfoT>> Client::ListApiKeys() {
  Result<ApiKeyListT> list = Expect<ApiKeyListT>(Call(MakeBody(ListApiKeysT{})));
  if (!list.ok()) return list.error();
  return TakeAll(list->keys);
}

Status Client::RevokeApiKey(uint64_t key_id) {
  RevokeApiKeyT request;
  request.key_id = key_id;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<WorkspaceInfoT> Client::CreateWorkspace(const std::string& name) {
  CreateWorkspaceT request;
  request.name = name;
  return Expect<WorkspaceInfoT>(Call(MakeBody(std::move(request))));
}

Result<WorkspaceInfoT> Client::JoinWorkspace(uint64_t workspace_id) {
  JoinWorkspaceT request;
  request.workspace_id = workspace_id;
  return Expect<WorkspaceInfoT>(Call(MakeBody(std::move(request))));
}

Result<std::vector<WorkspaceInfoT>> Client::ListWorkspaces() {
  Result<WorkspaceListT> list = Expect<WorkspaceListT>(Call(MakeBody(ListWorkspacesT{})));
  if (!list.ok()) return list.error();
  return TakeAll(list->workspaces);
}

Result<WorkspaceInfoT> Client::UpdateWorkspaceSettings(uint64_t workspace_id,
                                                       const WorkspaceSettingsT& settings) {
  UpdateWorkspaceSettingsT request;
  request.workspace_id = workspace_id;
  request.settings = std::make_unique<WorkspaceSettingsT>(settings);
  return Expect<WorkspaceInfoT>(Call(MakeBody(std::move(request))));
}

Result<std::vector<MemberInfoT>> Client::ListMembers(uint64_t workspace_id) {
  ListMembersT request;
  request.workspace_id = workspace_id;
  Result<MemberListT> list = Expect<MemberListT>(Call(MakeBody(std::move(request))));
  if (!list.ok()) return list.error();
  return TakeAll(list->members);
}

Result<InviteCreatedT> Client::CreateInvite(uint64_t workspace_id, const std::string& email,
                                            Role role, const std::vector<uint64_t>& channel_ids,
                                            int64_t expires_in_ms) {
  CreateInviteT request;
  request.workspace_id = workspace_id;
  request.email = email;
  request.role = role;
  request.channel_ids = channel_ids;
  request.expires_in_ms = expires_in_ms;
  return Expect<InviteCreatedT>(Call(MakeBody(std::move(request))));
}

Result<std::vector<InviteInfoT>> Client::ListInvites(uint64_t workspace_id) {
  ListInvitesT request;
  request.workspace_id = workspace_id;
  Result<InviteListT> list = Expect<InviteListT>(Call(MakeBody(std::move(request))));
  if (!list.ok()) return list.error();
  return TakeAll(list->invites);
}

Status Client::RevokeInvite(uint64_t workspace_id, uint64_t invite_id) {
  RevokeInviteT request;
  request.workspace_id = workspace_id;
  request.invite_id = invite_id;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<WorkspaceInfoT> Client::AcceptInvite(const std::string& token) {
  AcceptInviteT request;
  request.token = token;
  return Expect<WorkspaceInfoT>(Call(MakeBody(std::move(request))));
}

Status Client::SetMemberRole(uint64_t workspace_id, uint64_t user_id, Role role) {
  SetMemberRoleT request;
  request.workspace_id = workspace_id;
  request.user_id = user_id;
  request.role = role;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Status Client::TransferOwnership(uint64_t workspace_id, uint64_t user_id) {
  TransferOwnershipT request;
  request.workspace_id = workspace_id;
  request.user_id = user_id;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Status Client::SetMemberActive(uint64_t workspace_id, uint64_t user_id, bool active) {
  SetMemberActiveT request;
  request.workspace_id = workspace_id;
  request.user_id = user_id;
  request.active = active;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<std::vector<AuditEntryT>> Client::ListAudit(uint64_t workspace_id, uint16_t limit) {
  ListAuditT request;
  request.workspace_id = workspace_id;
  request.limit = limit;
  Result<AuditListT> list = Expect<AuditListT>(Call(MakeBody(std::move(request))));
  if (!list.ok()) return list.error();
  return TakeAll(list->entries);
}

Result<ChannelInfoT> Client::CreateChannel(uint64_t workspace_id, const std::string& name,
                                           bool is_private) {
  CreateChannelT request;
  request.workspace_id = workspace_id;
  request.name = name;
  request.is_private = is_private;
  return Expect<ChannelInfoT>(Call(MakeBody(std::move(request))));
}

Result<std::vector<ChannelInfoT>> Client::ListChannels(uint64_t workspace_id) {
  ListChannelsT request;
  request.workspace_id = workspace_id;
  Result<ChannelListT> list = Expect<ChannelListT>(Call(MakeBody(std::move(request))));
  if (!list.ok()) return list.error();
  return TakeAll(list->channels);
}

Result<ChannelInfoT> Client::JoinChannel(uint64_t channel_id) {
  JoinChannelT request;
  request.channel_id = channel_id;
  return Expect<ChannelInfoT>(Call(MakeBody(std::move(request))));
}

Status Client::LeaveChannel(uint64_t channel_id) {
  LeaveChannelT request;
  request.channel_id = channel_id;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Status Client::AddChannelMember(uint64_t channel_id, uint64_t user_id) {
  AddChannelMemberT request;
  request.channel_id = channel_id;
  request.user_id = user_id;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<ChannelInfoT> Client::UpdateChannel(uint64_t channel_id, std::optional<bool> archived,
                                           std::optional<bool> announcement) {
  UpdateChannelT request;
  request.channel_id = channel_id;
  if (archived) request.archived = *archived;
  if (announcement) request.announcement = *announcement;
  return Expect<ChannelInfoT>(Call(MakeBody(std::move(request))));
}

Result<PostAckT> Client::Post(uint64_t channel_id, const std::string& text,
                              const std::string& client_msg_id) {
  PostMessageT request;
  request.channel_id = channel_id;
  request.client_msg_id = client_msg_id;
  request.text = text;
  return Expect<PostAckT>(Call(MakeBody(std::move(request))));
}

Result<MessagePageT> Client::History(uint64_t channel_id, uint64_t before_seq, uint64_t after_seq,
                                     uint16_t limit) {
  HistoryT request;
  request.channel_id = channel_id;
  request.before_seq = before_seq;
  request.after_seq = after_seq;
  request.limit = limit;
  return Expect<MessagePageT>(Call(MakeBody(std::move(request))));
}

Result<MessagePageT> Client::Sync(uint64_t channel_id, uint64_t after_seq, uint16_t limit) {
  SyncT request;
  request.channel_id = channel_id;
  request.after_seq = after_seq;
  request.limit = limit;
  return Expect<MessagePageT>(Call(MakeBody(std::move(request))));
}

Result<SubscribedT> Client::Subscribe(uint64_t channel_id) {
  SubscribeT request;
  request.channel_id = channel_id;
  return Expect<SubscribedT>(Call(MakeBody(std::move(request))));
}

Status Client::Unsubscribe(uint64_t channel_id) {
  UnsubscribeT request;
  request.channel_id = channel_id;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Result<EditAckT> Client::EditMessage(uint64_t channel_id, uint64_t seq, const std::string& text) {
  EditMessageT request;
  request.channel_id = channel_id;
  request.seq = seq;
  request.text = text;
  return Expect<EditAckT>(Call(MakeBody(std::move(request))));
}

Status Client::DeleteMessage(uint64_t channel_id, uint64_t seq) {
  DeleteMessageT request;
  request.channel_id = channel_id;
  request.seq = seq;
  return ExpectOk(Call(MakeBody(std::move(request))));
}

Status Client::Ping() {
  // Distinct per call, so a late Pong to an earlier timed-out ping cannot pass for this one.
  PingT request;
  request.nonce = next_request_id_ * 0x9E3779B97F4A7C15ull;
  const uint64_t nonce = request.nonce;
  Result<PongT> pong = Expect<PongT>(Call(MakeBody(std::move(request))));
  if (!pong.ok()) return pong.error();
  if (pong->nonce != nonce) {
    return MakeError(ErrorCode::kBadRequest, "pong does not echo the ping's nonce",
                     std::to_string(pong->nonce));
  }
  return OkStatus();
}

Result<FrameT> Client::NextEvent(int timeout_ms) {
  if (!events_.empty()) {
    FrameT event = std::move(events_.front());
    events_.pop_front();
    return event;
  }
  const Clock::time_point deadline =
      DeadlineAfter(timeout_ms < 0 ? options_.timeout_ms : timeout_ms);
  for (;;) {
    Result<FrameT> frame = ReadFrame(RemainingMs(deadline));
    if (!frame.ok()) return frame.error();
    // A non-zero id answers a call that already gave up waiting: nobody wants it now.
    if (frame->request_id == 0) return frame;
  }
}

Status Client::SendRaw(const void* data, size_t size) {
  const Clock::time_point deadline = DeadlineAfter(options_.timeout_ms);
  const auto* p = static_cast<const uint8_t*>(data);
  if (!tls_) return WriteAll(p, size, deadline);
  Status written = tls_->Write({p, size});
  if (written.ok()) written = tls_->Flush();
  if (!written.ok()) return written;
  return FlushTls(deadline);
}

Status Client::WriteAll(const uint8_t* p, size_t size, Clock::time_point deadline) {
  while (size > 0) {
    const ssize_t n = ::send(fd_, p, size, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Status writable = PollFor(fd_, POLLOUT, deadline);
      if (!writable.ok()) return writable.error();
      continue;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) closed_ = true;
    return FromErrno("send failed", n < 0 ? errno : EIO);
  }
  return OkStatus();
}

Result<FrameT> Client::ReadFrame(int timeout_ms) {
  Result<Bytes> payload = ReadPayload(timeout_ms < 0 ? options_.timeout_ms : timeout_ms);
  if (!payload.ok()) return payload.error();
  last_payload_bytes_ = payload->size();
  Result<const Frame*> frame = VerifyFrame(*payload);
  if (!frame.ok()) return frame.error();
  FrameT out;
  (*frame)->UnPackTo(&out);
  if (const GoingAwayT* away = out.body.AsGoingAway()) going_away_ = *away;
  return out;
}

parley::Error Client::GoingAwayError() const {
  parley::Error e = MakeError(ErrorCode::kUnavailable,
                              "the server is going away: " + going_away_->reason, "going_away");
  e.retry_after_ms = going_away_->retry_after_ms;
  return e;
}

Result<Bytes> Client::ReadPayload(int timeout_ms) {
  const Clock::time_point deadline = DeadlineAfter(timeout_ms);
  for (;;) {
    const Split split = NextFrame(in_, options_.max_frame_bytes);
    switch (split.status) {
      case SplitStatus::kFrame: {
        // A fresh vector: its heap storage is aligned, so the frame's scalars read aligned.
        const auto begin = in_.begin() + kLengthPrefixBytes;
        Bytes payload(begin, begin + split.payload_bytes);
        in_.erase(in_.begin(), begin + split.payload_bytes);
        return payload;
      }
      case SplitStatus::kTooLarge:
        // The header stays buffered, so every later read reports the same broken stream.
        return MakeError(ErrorCode::kFrameTooLarge, "server frame above max_frame_bytes",
                         std::to_string(split.payload_bytes));
      case SplitStatus::kEmpty:
        return MakeError(ErrorCode::kMalformedFrame, "zero-length frame from server");
      case SplitStatus::kNeedMore:
        break;
    }
    if (closed_) return Unavailable("connection closed");
    Status read = ReadMore(deadline);
    if (!read.ok()) return read.error();
  }
}

}  // namespace parley::wire
