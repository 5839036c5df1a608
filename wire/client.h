// A blocking client for the parley protocol: what the CLI, tests and tools use. One connection,
// one thread: a Client is not thread-safe. Every call waits at most the configured timeout and
// returns an Error (never throws). Server errors come back as their Error, retry_after_ms
// included (rate_limited, account_locked); transport failures as kUnavailable.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "wire/frame.h"
#include "wire/tls.h"

namespace parley::wire {

// What a password sign-in answers: a session, or, for an account with a second factor, the
// token that MfaLogin() completes it with (valid for 5 minutes).
struct SignInResult {
  std::optional<LoginOkT> ok;
  std::string mfa_token;  // non-empty exactly when ok is empty
};

struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7400;
  int timeout_ms = 5000;
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  std::string client_name = "parley-client";
  bool send_hello = true;  // false: connect only (tests of the handshake itself)
  int recv_buffer_bytes = 0;  // > 0: the socket's SO_RCVBUF (tests of slow readers)
  // TLS: the connection speaks TLS 1.3 (also 1.2 with tls_allow_tls12), verifying the server's
  // certificate chain against tls_ca_file (PEM; empty: the system's trust store) and its name
  // against tls_server_name (a DNS name or an IP address; empty: host).
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_server_name;
  bool tls_allow_tls12 = false;
};

class Client {
 public:
  // Connects and, unless options.send_hello is false, negotiates the protocol version.
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const WelcomeT& welcome() const { return welcome_; }

  // Sends `body` with a fresh request id and waits for the frame answering it. Events that
  // arrive meanwhile are queued for NextEvent(). An Error body becomes an error result.
  Result<FrameT> Call(BodyUnion body);

  // --- identity. A `device` names this client in the session list; empty means
  // options.client_name. Sign-in calls subscribe the session to the user's channels.
  Result<RegisterOkT> Register(const std::string& email, const std::string& password,
                               const std::string& display_name);
  // A password sign-in for callers that do not handle a second factor: an account with MFA
  // fails with kUnauthenticated, details "mfa_required". Use SignIn() + MfaLogin() for those.
  Result<LoginOkT> Login(const std::string& email, const std::string& password,
                         const std::string& device = "");
  Result<SignInResult> SignIn(const std::string& email, const std::string& password,
                              const std::string& device = "");
  // code: a 6-digit TOTP code or a recovery code.
  Result<LoginOkT> MfaLogin(const std::string& mfa_token, const std::string& code,
                            const std::string& device = "");
  Result<LoginOkT> OidcLogin(const std::string& id_token, const std::string& nonce,
                             const std::string& device = "");
  // Resumes a session from its access token, or signs in with an API key (holding its scopes).
  // Neither answers new tokens.
  Result<LoginOkT> LoginWithToken(const std::string& token);
  Result<LoginOkT> LoginWithApiKey(const std::string& key);
  // Rotates a refresh token; needs no sign-in. The old refresh token stops working.
  Result<TokensT> Refresh(const std::string& refresh_token);
  // Ends this connection's session; the server then closes the connection.
  Status Logout();
  Result<std::vector<SessionInfoT>> ListSessions();
  Status RevokeSession(uint64_t session_id);
  Status RevokeOtherSessions();
  // Also ends every other session of the account.
  Status ChangePassword(const std::string& current_password, const std::string& new_password);
  // Empty strings leave a field as it is.
  Result<ProfileT> UpdateProfile(const std::string& display_name, const std::string& title = "",
                                 const std::string& avatar_url = "");
  Result<ProfileT> GetProfile(uint64_t user_id);
  // MFA is on once MfaConfirm() accepts a code from the enrolled secret; it answers the
  // recovery codes, which are never shown again.
  Result<MfaEnrollmentT> MfaEnroll();
  Result<std::vector<std::string>> MfaConfirm(const std::string& code);
  Status MfaDisable(const std::string& code);
  // expires_at_ms 0 = never. The answer's key is shown once: only its hash is kept.
  Result<ApiKeyCreatedT> CreateApiKey(const std::string& name, Scope scopes,
                                      int64_t expires_at_ms = 0);
  Result<std::vector<ApiKeyInfoT>> ListApiKeys();
  Status RevokeApiKey(uint64_t key_id);

  // --- workspaces and their administration (owner and admins unless noted in parley.fbs)
  Result<WorkspaceInfoT> CreateWorkspace(const std::string& name);
  Result<WorkspaceInfoT> JoinWorkspace(uint64_t workspace_id);
  Result<std::vector<WorkspaceInfoT>> ListWorkspaces();
  Result<WorkspaceInfoT> UpdateWorkspaceSettings(uint64_t workspace_id,
                                                 const WorkspaceSettingsT& settings);
  // Messages older than `days` expire (0: kept forever; at most 3650). Reads the other settings
  // and writes them back unchanged: not atomic with another admin's concurrent change of them.
  Result<WorkspaceInfoT> SetRetention(uint64_t workspace_id, uint32_t days);
  Result<std::vector<MemberInfoT>> ListMembers(uint64_t workspace_id);
  // role Member or Guest; a guest joins only channel_ids. expires_in_ms 0 = 7 days. The
  // answer's token is shown once: the invitee passes it to AcceptInvite().
  Result<InviteCreatedT> CreateInvite(uint64_t workspace_id, const std::string& email, Role role,
                                      const std::vector<uint64_t>& channel_ids = {},
                                      int64_t expires_in_ms = 0);
  Result<std::vector<InviteInfoT>> ListInvites(uint64_t workspace_id);
  Status RevokeInvite(uint64_t workspace_id, uint64_t invite_id);
  Result<WorkspaceInfoT> AcceptInvite(const std::string& token);
  // Owner only; role Admin or Member.
  Status SetMemberRole(uint64_t workspace_id, uint64_t user_id, Role role);
  Status TransferOwnership(uint64_t workspace_id, uint64_t user_id);
  // Deactivating ends every session of the user.
  Status SetMemberActive(uint64_t workspace_id, uint64_t user_id, bool active);
  Result<std::vector<AuditEntryT>> ListAudit(uint64_t workspace_id, uint16_t limit = 0);

  // --- channels and messages
  Result<ChannelInfoT> CreateChannel(uint64_t workspace_id, const std::string& name,
                                     bool is_private = false);
  Result<std::vector<ChannelInfoT>> ListChannels(uint64_t workspace_id);
  Result<ChannelInfoT> JoinChannel(uint64_t channel_id);
  Status LeaveChannel(uint64_t channel_id);
  Status AddChannelMember(uint64_t channel_id, uint64_t user_id);
  // nullopt leaves a field as it is.
  Result<ChannelInfoT> UpdateChannel(uint64_t channel_id, std::optional<bool> archived,
                                     std::optional<bool> announcement);
  Result<PostAckT> Post(uint64_t channel_id, const std::string& text,
                        const std::string& client_msg_id = "");
  Result<MessagePageT> History(uint64_t channel_id, uint64_t before_seq = 0, uint64_t after_seq = 0,
                               uint16_t limit = 0);
  Result<MessagePageT> Sync(uint64_t channel_id, uint64_t after_seq, uint16_t limit = 0);
  Result<SubscribedT> Subscribe(uint64_t channel_id);
  Status Unsubscribe(uint64_t channel_id);
  // The author, within the edit window (5 minutes by default); answers the edited message and
  // the mentioned users who are not in the channel.
  Result<EditAckT> EditMessage(uint64_t channel_id, uint64_t seq, const std::string& text);
  // The author, or a workspace owner or admin. The seq stays, marked deleted.
  Status DeleteMessage(uint64_t channel_id, uint64_t seq);
  Status Ping();

  // --- threads, reactions, edits' history, pins, bookmarks (client_messages.cc)
  // A reply in the thread under the top-level message thread_seq.
  Result<PostAckT> Reply(uint64_t channel_id, uint64_t thread_seq, const std::string& text,
                         bool also_to_channel = false, const std::string& client_msg_id = "");
  // The channel's timeline: thread replies left out unless also sent to the channel.
  Result<MessagePageT> Timeline(uint64_t channel_id, uint64_t before_seq = 0,
                                uint64_t after_seq = 0, uint16_t limit = 0);
  Result<ThreadPageT> ThreadHistory(uint64_t channel_id, uint64_t thread_seq,
                                    uint64_t after_seq = 0, uint16_t limit = 0);
  Status FollowThread(uint64_t channel_id, uint64_t thread_seq, bool follow);
  Status MarkThreadRead(uint64_t channel_id, uint64_t thread_seq);
  Result<UnreadThreadListT> ListUnreadThreads();
  Status AddReaction(uint64_t channel_id, uint64_t seq, const std::string& emoji);
  Status RemoveReaction(uint64_t channel_id, uint64_t seq, const std::string& emoji);
  Result<EditListT> ListEdits(uint64_t channel_id, uint64_t seq);
  Status Pin(uint64_t channel_id, uint64_t seq, bool pinned = true);
  Result<PinListT> ListPins(uint64_t channel_id);
  Result<BookmarkInfoT> AddBookmark(uint64_t channel_id, const std::string& title,
                                    const std::string& url);
  Status RemoveBookmark(uint64_t channel_id, uint64_t bookmark_id);
  Result<BookmarkListT> ListBookmarks(uint64_t channel_id);

  // --- channel details and members, conversations, read markers, typing
  // (client_conversations.cc). nullopt leaves a field as it is.
  Result<ChannelInfoT> SetChannelDetails(uint64_t channel_id, std::optional<std::string> name,
                                         std::optional<std::string> topic,
                                         std::optional<std::string> purpose);
  Status RemoveChannelMember(uint64_t channel_id, uint64_t user_id);
  Result<ChannelMemberListT> ListChannelMembers(uint64_t channel_id, uint64_t after_user_id = 0,
                                                uint16_t limit = 0);
  // user_ids: the others (you are added): one for a direct conversation, up to 7 for a group.
  Result<ChannelInfoT> OpenConversation(uint64_t workspace_id,
                                        const std::vector<uint64_t>& user_ids);
  Result<ConversationListT> ListConversations(uint64_t workspace_id);
  // seq 0: up to the newest message.
  Result<ReadMarkerT> MarkRead(uint64_t channel_id, uint64_t seq = 0);
  Status Typing(uint64_t channel_id, bool stop = false);

  // --- presence and receipts (client_presence.cc)
  // away: appear away until SetPresence(false) (automatic presence).
  Result<PresenceInfoT> SetPresence(bool away);
  // text and emoji both empty clear the status; expires_at_ms 0 = never.
  Result<PresenceInfoT> SetStatus(const std::string& text, const std::string& emoji,
                                  int64_t expires_at_ms = 0);
  // Replaces this connection's presence subscription (at most 500 users).
  Result<PresenceListT> SubscribePresence(const std::vector<uint64_t>& user_ids);
  Status SetReadReceipts(bool send);
  Result<ReceiptListT> ListReceipts(uint64_t channel_id, uint64_t seq);
  // --- notifications and the user feed (client_notify.cc)
  Result<ChannelNotifyPrefT> SetChannelNotifyPref(uint64_t channel_id, NotifyLevel level,
                                                  bool muted = false);
  Result<ChannelNotifyPrefT> GetChannelNotifyPref(uint64_t channel_id);
  Result<NotificationSettingsT> SetNotifyKeywords(const std::vector<std::string>& keywords);
  // time_zone: an IANA name (Europe/Berlin).
  Result<NotificationSettingsT> SnoozeNotifications(uint32_t minutes);
  Result<NotificationSettingsT> SetDndSchedule(uint16_t start_minute, uint16_t end_minute,
                                               const std::string& time_zone);
  Result<NotificationSettingsT> SetDnd(DndOp op);  // ClearSchedule or Off
  Result<NotificationSettingsT> GetNotificationSettings();
  Result<NotificationListT> ListNotifications(uint64_t before_id = 0, uint16_t limit = 0,
                                              bool unread_only = false);
  Result<uint32_t> UnreadNotifications();
  // notification_id 0: all of them.
  Result<NotificationsReadT> MarkNotificationsRead(uint64_t notification_id = 0);
  // The user feed after after_user_seq: each entry decoded as the frame received live.
  struct UserFeed {
    std::vector<FrameT> frames;
    bool has_more = false;
    bool resync_required = false;
    uint64_t user_seq = 0;
  };
  Result<UserFeed> SyncUser(uint64_t after_user_seq, uint16_t limit = 0);
  // --- boot and resume (client_boot.cc). A token is opaque bytes from an earlier BootOk.
  // One page: the answer to one Boot, with max_answer_bytes = options.max_frame_bytes.
  // presence_of: users whose presence the answer carries (BootOk.presences), followed from then
  // on as SubscribePresence does (replacing the connection's presence subscription).
  Result<BootOkT> BootPage(const std::vector<uint8_t>& token = {},
                           const std::vector<uint64_t>& presence_of = {});
  // The whole answer: follows has_more pages, joining their channels and threads, and holds the
  // last page's token. `pages`, if given, receives how many requests it took.
  Result<BootOkT> Boot(const std::vector<uint8_t>& resume_token = {}, int* pages = nullptr,
                       const std::vector<uint64_t>& presence_of = {});

  // --- search (client_search.cc; the query language is in docs/search.md)
  struct SearchOptions {
    SearchKind kind = SearchKind::Messages;
    SearchSort sort = SearchSort::Relevance;
    uint32_t offset = 0;
    uint16_t limit = 0;      // 0: 20
    std::string time_zone;   // of dates in the query; empty: UTC
  };
  Result<SearchResultsT> Search(const std::string& query, const SearchOptions& options);
  Result<SearchResultsT> Search(const std::string& query) { return Search(query, {}); }
  Result<RecentSearchListT> ListRecentSearches();
  Status ClearRecentSearches();

  // The next server-initiated frame (request_id 0), waiting up to timeout_ms (-1: the default
  // timeout). kUnavailable on timeout or a closed connection.
  Result<FrameT> NextEvent(int timeout_ms = -1);

  // Low level, for protocol tests: write raw bytes, read the next whole frame of any kind.
  // With TLS, one SendRaw is one TLS record (several, past 16 KiB of plaintext).
  Status SendRaw(const void* data, size_t size);
  Result<FrameT> ReadFrame(int timeout_ms = -1);
  // True once the server has closed the connection (observed by a read).
  bool closed() const { return closed_; }
  // Set once a GoingAway frame arrived (the server is shutting down and closes the connection
  // after it). It is also queued for NextEvent(); every later Call() fails kUnavailable with
  // details "going_away" and its retry_after_ms: reconnect after that long.
  const std::optional<GoingAwayT>& going_away() const { return going_away_; }
  int fd() const { return fd_; }  // with TLS, bytes written here bypass it: never do that
  // The negotiated TLS version ("TLSv1.3"); empty for a plaintext connection.
  std::string tls_protocol() const { return tls_ ? tls_->protocol() : std::string(); }
  // Asks the server for a TLS 1.3 key update (both directions' keys change). Protocol tests.
  Status RequestTlsKeyUpdate();
  // Ends the TLS session politely: sends close_notify, then reads until the server's
  // close_notify (frames before it stay readable by ReadFrame); closed() is then true.
  // kUnavailable if the connection ended without one; kBadRequest on a plaintext connection.
  Status CloseTls();
  // The payload size of the last frame read (benchmarks of answer sizes).
  size_t last_payload_bytes() const { return last_payload_bytes_; }

 private:
  using Clock = std::chrono::steady_clock;

  Client(int fd, ClientOptions options);
  Status Hello();
  Status StartTls();
  Status WriteAll(const uint8_t* data, size_t size, Clock::time_point deadline);
  Status FlushTls(Clock::time_point deadline);
  Status ReadMore(Clock::time_point deadline);  // into in_ (plaintext), or sets closed_
  Result<Bytes> ReadPayload(int timeout_ms);
  std::string DeviceOr(const std::string& device) const;
  parley::Error GoingAwayError() const;

  int fd_ = -1;
  ClientOptions options_;
  uint64_t next_request_id_ = 1;
  bool closed_ = false;
  std::vector<uint8_t> in_;  // bytes read but not yet framed
  std::deque<FrameT> events_;
  WelcomeT welcome_;
  size_t last_payload_bytes_ = 0;
  std::optional<GoingAwayT> going_away_;
  std::unique_ptr<TlsStream> tls_;  // null: plaintext
  std::vector<uint8_t> cipher_;     // TLS records going out, or just received
  bool tls_close_received_ = false;  // the server's close_notify arrived
};

}  // namespace parley::wire
