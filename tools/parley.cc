// parley: the command-line client. One connection per invocation, through the wire client
// library. Signing in, the first that is set wins: --token, --api_key, --email with --password
// (default $PARLEY_PASSWORD) and --code for an account with a second factor, then $PARLEY_TOKEN,
// then $PARLEY_API_KEY. `parley login` and `parley refresh` print the tokens as shell export
// lines, one per line, for `eval "$(parley login ...)"`. Results go to stdout; notes for people
// and errors go to stderr.
#include <gflags/gflags.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <string>
#include <vector>

#include "tools/cli.h"
#include "wire/client.h"

DEFINE_string(host, "127.0.0.1", "server address");
DEFINE_int32(port, 7400, "server port");
DEFINE_string(token, "", "access token (default: $PARLEY_TOKEN)");
DEFINE_string(api_key, "", "API key to sign in with (default: $PARLEY_API_KEY)");
DEFINE_string(email, "", "email, for register/login or instead of a token");
DEFINE_string(password, "", "password (default: $PARLEY_PASSWORD); password: the current one");
DEFINE_string(code, "", "second factor for a password sign-in: a TOTP or recovery code");
DEFINE_string(device, "", "names this client in the session list (default: parley-cli@HOST)");
DEFINE_string(refresh_token, "", "refresh: the refresh token (default: $PARLEY_REFRESH_TOKEN)");
DEFINE_string(new_password, "", "password: the new password (default: $PARLEY_NEW_PASSWORD)");
DEFINE_string(name, "", "display name, for register and profile set");
DEFINE_string(title, "", "profile set: title");
DEFINE_string(avatar_url, "", "profile set: avatar URL");
DEFINE_string(scopes, "read,write", "api-keys create: comma-separated read, write, admin");
DEFINE_int32(expires_in_days, 0, "api-keys create: 0 = never; invite: 0 = 7 days");
DEFINE_string(role, "member", "invite: member or guest");
DEFINE_string(channels, "", "invite: comma-separated ids of the channels a guest joins");
DEFINE_bool(join_open, false, "settings: any signed-in user may join the workspace");
DEFINE_bool(members_create_private, false, "settings: members may create private channels");
DEFINE_bool(members_post_announcements, false,
            "settings: members may post in announcement channels");
DEFINE_bool(private_channel, false, "channels create: make the channel private");
DEFINE_string(client_msg_id, "", "post: idempotency key; a retry with the same key posts once");
DEFINE_uint64(before, 0, "history: messages before this seq");
DEFINE_uint64(after, 0, "history/tail: messages after this seq");
DEFINE_int32(limit, 0, "history: page size (default 50, max 200); audit: entries to show");
DEFINE_int32(timeout_ms, 5000, "per-request timeout");
DEFINE_bool(tls, false, "speak TLS to a server started with --tls_cert_file");
DEFINE_string(tls_ca_file, "", "with --tls: PEM CA certificates to trust (default: the system's)");
DEFINE_string(tls_server_name, "",
              "with --tls: the name the server certificate must carry (default: --host)");

namespace parley_cli {
namespace {

constexpr const char* kUsage = R"usage(usage: parley [flags] COMMAND
Signing in, the first that is set: --token, --api_key, --email with --password (default
$PARLEY_PASSWORD) and --code, $PARLEY_TOKEN, $PARLEY_API_KEY.
A server on a TLS port (parleyd --tls_cert_file): --tls [--tls_ca_file CA.pem].
  register --email E --password P --name N
  login --email E --password P [--code C]  prints export PARLEY_TOKEN=... and
                                          export PARLEY_REFRESH_TOKEN=... lines
  refresh [--refresh_token T]             new tokens, printed as login does; the old refresh
                                          token stops working: eval "$(parley refresh)"
  logout                                  ends this session
  sessions                                list my sessions; `current` marks this one
  sessions revoke ID | sessions revoke-others
  password --password OLD --new_password NEW    also ends every other session
  profile [USER_ID]                       show a profile (default: mine)
  profile set [--name N] [--title T] [--avatar_url U]
  mfa enroll                              prints the secret and its otpauth:// URI
  mfa confirm CODE                        turns MFA on; prints the recovery codes, once
  mfa disable CODE
  api-keys                                list my API keys
  api-keys create NAME [--scopes read,write,admin] [--expires_in_days N]   prints the key, once
  api-keys revoke ID
  workspaces                              list my workspaces
  workspaces create NAME | join ID
  members WORKSPACE_ID
  invite WORKSPACE_ID EMAIL [--role member|guest] [--channels 1,2] [--expires_in_days N]
                                          prints the invite token, once
  invites WORKSPACE_ID | invites revoke WORKSPACE_ID ID
  accept TOKEN                            join a workspace by invite
  role WORKSPACE_ID USER_ID admin|member
  transfer WORKSPACE_ID USER_ID           make the user the owner
  deactivate WORKSPACE_ID USER_ID | reactivate WORKSPACE_ID USER_ID
  settings WORKSPACE_ID [--join_open=true|false] [--members_create_private=true|false]
                        [--members_post_announcements=true|false] [--receipts_max_members N]
  retention WORKSPACE_ID [DAYS]           messages older than DAYS expire (0: kept forever);
                                          without DAYS: the current retention
  audit WORKSPACE_ID [--limit N]
  channels WORKSPACE_ID                   the directory: channels with members, topic, unread
  channels WORKSPACE_ID create NAME [--private_channel]
  channel CHANNEL_ID topic TEXT | purpose TEXT | rename NAME
  channel-members CHANNEL_ID [--after_user U] [--limit N]
  join CHANNEL_ID | leave CHANNEL_ID
  add-member CHANNEL_ID USER_ID | remove-member CHANNEL_ID USER_ID
  archive CHANNEL_ID | unarchive CHANNEL_ID
  announce CHANNEL_ID on|off
  dm WORKSPACE_ID USER_ID[,USER_ID...]    open a direct (1 other) or group (2-7 others)
                                          conversation; the same people again: the same one
  dms WORKSPACE_ID                        my conversations, newest first, with unread counts
  post CHANNEL_ID TEXT [--client_msg_id K]   mentions: <@USER_ID> <!channel> <!here> <!everyone>
  reply CHANNEL_ID THREAD_SEQ TEXT [--also_to_channel] [--client_msg_id K]
  thread CHANNEL_ID THREAD_SEQ [--after S] [--limit N]
  follow CHANNEL_ID THREAD_SEQ | unfollow CHANNEL_ID THREAD_SEQ
  thread-read CHANNEL_ID THREAD_SEQ       mark a thread read
  threads                                 followed threads with unread replies
  edit CHANNEL_ID SEQ TEXT | delete CHANNEL_ID SEQ
  edits CHANNEL_ID SEQ                    a message's earlier texts
  react CHANNEL_ID SEQ EMOJI | unreact CHANNEL_ID SEQ EMOJI
  pin CHANNEL_ID SEQ | unpin CHANNEL_ID SEQ | pins CHANNEL_ID
  bookmarks CHANNEL_ID | bookmarks CHANNEL_ID add TITLE URL | bookmarks CHANNEL_ID remove ID
  read CHANNEL_ID [SEQ]                   mark read (default: everything)
  typing CHANNEL_ID [stop]
  history CHANNEL_ID [--before S | --after S] [--limit N] [--timeline]
  tail [CHANNEL_ID] [--after S] [--watch U1,U2]   print events until interrupted: every kind,
                                          of all my channels, or one channel's (gaps filled by
                                          Sync); --watch follows those users' presence too
  presence USER_ID[,USER_ID...]           presence, last seen and status of these users
  status | status set TEXT [--emoji E] [--expires_in_min N] | status clear
  away | back                             appear away until `back` (automatic presence)
  receipts CHANNEL_ID SEQ                 who a message was delivered to and read by
  read-receipts on|off                    whether others see when you read their messages
  notifications [list] [--before ID] [--limit N] | notifications unread
  notifications read ID|all               mark one or all read (every session sees it)
  notify-pref CHANNEL_ID [all|mentions|nothing|default] [mute|unmute]
  keywords | keywords set WORD,WORD | keywords clear
  dnd | dnd snooze MINUTES | dnd schedule HH:MM-HH:MM ZONE | dnd unschedule | dnd off
                                          ZONE: an IANA name (Europe/Berlin); 0 minutes ends a snooze
  sync-user AFTER_USER_SEQ                my feed after it (notifications, reads, settings)
  boot [--resume TOKEN] [--watch U1,U2]   my first screen in one request: workspaces, channels
                                          with unread and mentions, unread threads, and a
                                          token; with --resume TOKEN only what changed since;
                                          --watch: those users' presence too (then followed)
  search QUERY... [--kind messages|channels|people] [--sort relevance|date] [--offset N]
         [--limit N] [--zone ZONE]        words, "phrase", prefix*, -word, in:#channel,
                                          in:@person, from:@person (me, id, email or name),
                                          before:/after:/on:YYYY-MM-DD, has:link|reaction|pin,
                                          is:thread (docs/search.md); matches are **marked**
  recent-searches | recent-searches clear my last 20 message searches, newest first
)usage";

constexpr int64_t kMsPerDay = 24 * 60 * 60 * 1000;


constexpr std::array<std::pair<const char*, wire::Scope>, 3> kScopeNames{{
    {"read", wire::Scope::Read},
    {"write", wire::Scope::Write},
    {"admin", wire::Scope::Admin},
}};

Result<wire::Scope> ParseScopes(const std::string& s) {
  wire::Scope scopes = wire::Scope::NONE;
  for (const std::string& item : SplitCommas(s)) {
    auto it = std::find_if(kScopeNames.begin(), kScopeNames.end(),
                           [&](const auto& named) { return item == named.first; });
    if (it == kScopeNames.end()) return BadArgument("unknown scope (read, write, admin)", item);
    scopes = scopes | it->second;
  }
  if (scopes == wire::Scope::NONE) return BadArgument("no scopes given", "scopes");
  return scopes;
}

std::string ScopeNames(uint32_t scopes) {
  std::string out;
  for (const auto& [name, bit] : kScopeNames) {
    if ((scopes & static_cast<uint32_t>(bit)) == 0) continue;
    out += (out.empty() ? "" : ",") + std::string(name);
  }
  return out.empty() ? "none" : out;
}

constexpr std::array<std::pair<const char*, wire::Role>, 5> kRoleNames{{
    {"none", wire::Role::None},
    {"owner", wire::Role::Owner},
    {"member", wire::Role::Member},
    {"admin", wire::Role::Admin},
    {"guest", wire::Role::Guest},
}};

Result<wire::Role> ParseRole(const std::string& s) {
  for (const auto& [name, role] : kRoleNames) {
    if (s == name && role != wire::Role::None) return role;
  }
  return BadArgument("unknown role", s);
}

std::string RoleName(wire::Role role) {
  for (const auto& [name, r] : kRoleNames) {
    if (r == role) return name;
  }
  return std::to_string(static_cast<unsigned>(role));
}

// A shell word for `eval`: as is when it is plainly safe, else single-quoted.
std::string ShellWord(const std::string& s) {
  constexpr const char* kSafe =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=:@%-";
  if (!s.empty() && s.find_first_not_of(kSafe) == std::string::npos) return s;
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

void PrintExports(const std::string& token, const std::string& refresh_token) {
  std::printf("export PARLEY_TOKEN=%s\n", ShellWord(token).c_str());
  std::printf("export PARLEY_REFRESH_TOKEN=%s\n", ShellWord(refresh_token).c_str());
}

std::string Device() {
  if (!FLAGS_device.empty()) return FLAGS_device;
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "parley-cli";
  return std::string("parley-cli@") + host;
}

// --- signing in

Result<wire::LoginOkT> PasswordSignIn(wire::Client& c) {
  if (FLAGS_email.empty()) return BadArgument("signing in with a password needs --email", "email");
  auto signed_in = c.SignIn(FLAGS_email, EnvOr(FLAGS_password, "PARLEY_PASSWORD"), Device());
  if (!signed_in.ok()) return signed_in.error();
  if (signed_in->ok) return std::move(*signed_in->ok);
  if (FLAGS_code.empty()) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "this account needs a second factor: run again with --code CODE (from your "
                     "authenticator app, or a recovery code)",
                     "mfa_required");
  }
  return c.MfaLogin(signed_in->mfa_token, FLAGS_code, Device());
}

// Explicit flags before the environment, so `--email` works with a stale $PARLEY_TOKEN set.
Result<wire::LoginOkT> SignIn(wire::Client& c) {
  if (!FLAGS_token.empty()) return c.LoginWithToken(FLAGS_token);
  if (!FLAGS_api_key.empty()) return c.LoginWithApiKey(FLAGS_api_key);
  if (!FLAGS_email.empty()) return PasswordSignIn(c);
  if (const std::string token = EnvOr("", "PARLEY_TOKEN"); !token.empty()) {
    return c.LoginWithToken(token);
  }
  if (const std::string key = EnvOr("", "PARLEY_API_KEY"); !key.empty()) {
    return c.LoginWithApiKey(key);
  }
  return MakeError(ErrorCode::kUnauthenticated,
                   "not signed in: pass --token, --api_key or --email, or set $PARLEY_TOKEN");
}

bool SignsInWithToken() {
  return !FLAGS_token.empty() ||
         (FLAGS_api_key.empty() && FLAGS_email.empty() && !EnvOr("", "PARLEY_TOKEN").empty());
}

int DieSigningIn(const Error& e) {
  const int rc = Die(e);
  const bool rejected =
      e.code == ErrorCode::kInvalidCredentials || e.code == ErrorCode::kUnauthenticated;
  if (rejected && SignsInWithToken() &&
      !EnvOr(FLAGS_refresh_token, "PARLEY_REFRESH_TOKEN").empty()) {
    Note("parley: if the access token has expired: eval \"$(parley refresh)\"");
  }
  return rc;
}

int Register(Ctx& ctx, const Args& args) {
  if (args.size() != 1) return Usage();
  auto ok = ctx.c.Register(FLAGS_email, EnvOr(FLAGS_password, "PARLEY_PASSWORD"), FLAGS_name);
  if (!ok.ok()) return Die(ok.error());
  std::printf("registered user %llu\n", U(ok->user_id));
  return 0;
}

int Login(Ctx& ctx, const Args& args) {
  if (args.size() != 1) return Usage();
  auto ok = PasswordSignIn(ctx.c);
  if (!ok.ok()) return Die(ok.error());
  PrintExports(ok->token, ok->refresh_token);
  Note("signed in as user %llu, session %llu; the token expires %s", U(ok->user_id),
       U(ok->session_id), Expiry(ok->access_expires_at_ms).c_str());
  return 0;
}

int Refresh(Ctx& ctx, const Args& args) {
  if (args.size() != 1) return Usage();
  const std::string refresh_token = EnvOr(FLAGS_refresh_token, "PARLEY_REFRESH_TOKEN");
  if (refresh_token.empty()) {
    return Die(BadArgument("refresh needs --refresh_token or $PARLEY_REFRESH_TOKEN"));
  }
  auto tokens = ctx.c.Refresh(refresh_token);
  if (!tokens.ok()) return Die(tokens.error());
  PrintExports(tokens->token, tokens->refresh_token);
  return 0;
}

int Logout(Ctx& ctx, const Args& args) {
  if (args.size() != 1) return Usage();
  return Report(ctx.c.Logout(), "signed out of session " + std::to_string(ctx.me.session_id));
}

// --- account

int Sessions(Ctx& ctx, const Args& args) {
  if (args.size() == 2 && args[1] == "revoke-others") {
    return Report(ctx.c.RevokeOtherSessions(), "revoked every other session");
  }
  if (args.size() == 3 && args[1] == "revoke") {
    uint64_t id = 0;
    if (!Ids(args, 2, {&id})) return 1;
    return Report(ctx.c.RevokeSession(id), "revoked session " + args[2]);
  }
  if (args.size() != 1) return Usage();
  auto list = ctx.c.ListSessions();
  if (!list.ok()) return Die(list.error());
  for (const wire::SessionInfoT& s : *list) {
    std::printf("%llu\t%s\t%s\tcreated=%s\tlast_seen=%s%s\n", U(s.id), Or(s.device, "-").c_str(),
                Or(s.address, "-").c_str(), Time(s.created_at_ms).c_str(),
                Time(s.last_seen_ms).c_str(), s.current ? "\tcurrent" : "");
  }
  return 0;
}

int Password(Ctx& ctx, const Args& args) {
  if (args.size() != 1) return Usage();
  const std::string next = EnvOr(FLAGS_new_password, "PARLEY_NEW_PASSWORD");
  if (next.empty()) return Die(BadArgument("password needs --new_password", "new_password"));
  const Status changed = ctx.c.ChangePassword(EnvOr(FLAGS_password, "PARLEY_PASSWORD"), next);
  return Report(changed, "password changed; every other session has ended");
}

void PrintProfile(const wire::ProfileT& p) {
  std::printf("user_id\t%llu\n", U(p.user_id));
  if (!p.email.empty()) std::printf("email\t%s\n", p.email.c_str());
  std::printf("name\t%s\ntitle\t%s\navatar_url\t%s\nmfa\t%s\ncreated\t%s\n", p.display_name.c_str(),
              p.title.c_str(), p.avatar_url.c_str(), p.mfa_enabled ? "on" : "off",
              Time(p.created_at_ms).c_str());
}

int Profile(Ctx& ctx, const Args& args) {
  if (args.size() == 2 && args[1] == "set") {
    if (FLAGS_name.empty() && FLAGS_title.empty() && FLAGS_avatar_url.empty()) {
      return Die(BadArgument("profile set needs --name, --title or --avatar_url"));
    }
    auto p = ctx.c.UpdateProfile(FLAGS_name, FLAGS_title, FLAGS_avatar_url);
    if (!p.ok()) return Die(p.error());
    PrintProfile(*p);
    return 0;
  }
  if (args.size() > 2) return Usage();
  uint64_t user = ctx.me.user_id;
  if (args.size() == 2 && !Ids(args, 1, {&user})) return 1;
  auto p = ctx.c.GetProfile(user);
  if (!p.ok()) return Die(p.error());
  PrintProfile(*p);
  return 0;
}

int Mfa(Ctx& ctx, const Args& args) {
  if (args.size() == 2 && args[1] == "enroll") {
    auto e = ctx.c.MfaEnroll();
    if (!e.ok()) return Die(e.error());
    std::printf("secret\t%s\nuri\t%s\n", e->secret.c_str(), e->otpauth_uri.c_str());
    Note("add it to an authenticator app, then: parley mfa confirm CODE");
    return 0;
  }
  if (args.size() != 3) return Usage();
  if (args[1] == "disable") return Report(ctx.c.MfaDisable(args[2]), "MFA is off");
  if (args[1] != "confirm") return Usage();
  auto codes = ctx.c.MfaConfirm(args[2]);
  if (!codes.ok()) return Die(codes.error());
  for (const std::string& code : *codes) std::printf("%s\n", code.c_str());
  Note(
      "MFA is on. Keep these recovery codes safe: each works once, and they are not shown "
      "again.");
  return 0;
}

int CreateApiKey(Ctx& ctx, const std::string& name) {
  auto scopes = ParseScopes(FLAGS_scopes);
  if (!scopes.ok()) return Die(scopes.error());
  if (FLAGS_expires_in_days < 0) return Die(BadArgument("negative", "expires_in_days"));
  const int64_t expires =
      FLAGS_expires_in_days == 0 ? 0 : NowMs() + FLAGS_expires_in_days * kMsPerDay;
  auto created = ctx.c.CreateApiKey(name, *scopes, expires);
  if (!created.ok()) return Die(created.error());
  std::printf("%s\n", created->key.c_str());
  if (const wire::ApiKeyInfoT* info = created->info.get()) {
    Note("API key %llu (%s), scopes %s, expires %s: keep it now, it is not shown again",
         U(info->id), info->name.c_str(), ScopeNames(info->scopes).c_str(),
         Expiry(info->expires_at_ms).c_str());
  }
  return 0;
}

int ApiKeys(Ctx& ctx, const Args& args) {
  if (args.size() == 3 && args[1] == "create") return CreateApiKey(ctx, args[2]);
  if (args.size() == 3 && args[1] == "revoke") {
    uint64_t id = 0;
    if (!Ids(args, 2, {&id})) return 1;
    return Report(ctx.c.RevokeApiKey(id), "revoked API key " + args[2]);
  }
  if (args.size() != 1) return Usage();
  auto keys = ctx.c.ListApiKeys();
  if (!keys.ok()) return Die(keys.error());
  for (const wire::ApiKeyInfoT& k : *keys) {
    std::printf("%llu\t%s\tscopes=%s\tcreated=%s\texpires=%s%s\n", U(k.id), k.name.c_str(),
                ScopeNames(k.scopes).c_str(), Time(k.created_at_ms).c_str(),
                Expiry(k.expires_at_ms).c_str(), k.revoked ? "\trevoked" : "");
  }
  return 0;
}

// --- workspaces and their administration

void PrintWorkspace(const wire::WorkspaceInfoT& w) {
  std::printf("%llu\t%s\tmembers=%u\t#general=%llu\trole=%s\n", U(w.id), w.name.c_str(),
              w.member_count, U(w.general_channel_id), RoleName(w.role).c_str());
}

int Workspaces(Ctx& ctx, const Args& args) {
  if (args.size() == 1) {
    auto list = ctx.c.ListWorkspaces();
    if (!list.ok()) return Die(list.error());
    for (auto& w : *list) PrintWorkspace(w);
    return 0;
  }
  if (args.size() != 3) return Usage();
  Result<wire::WorkspaceInfoT> ws = BadArgument("unknown subcommand", args[1]);
  if (args[1] == "create") ws = ctx.c.CreateWorkspace(args[2]);
  uint64_t id = 0;
  if (args[1] == "join" && !Ids(args, 2, {&id})) return 1;
  if (args[1] == "join") ws = ctx.c.JoinWorkspace(id);
  if (!ws.ok()) return Die(ws.error());
  std::printf("%llu\t%s\n", U(ws->id), ws->name.c_str());
  return 0;
}

int Members(Ctx& ctx, const Args& args) {
  if (args.size() != 2) return Usage();
  uint64_t ws = 0;
  if (!Ids(args, 1, {&ws})) return 1;
  auto members = ctx.c.ListMembers(ws);
  if (!members.ok()) return Die(members.error());
  for (const wire::MemberInfoT& m : *members) {
    std::printf("%llu\t%s\t%s\n", U(m.user_id), RoleName(m.role).c_str(),
                m.active ? "active" : "deactivated");
  }
  return 0;
}

int Invite(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t ws = 0;
  if (!Ids(args, 1, {&ws})) return 1;
  auto role = ParseRole(FLAGS_role);
  auto channels = NumberList(FLAGS_channels);
  if (!role.ok()) return Die(role.error());
  if (!channels.ok()) return Die(channels.error());
  if (FLAGS_expires_in_days < 0) return Die(BadArgument("negative", "expires_in_days"));
  auto created =
      ctx.c.CreateInvite(ws, args[2], *role, *channels, int64_t{FLAGS_expires_in_days} * kMsPerDay);
  if (!created.ok()) return Die(created.error());
  std::printf("%s\n", created->token.c_str());
  if (const wire::InviteInfoT* invite = created->invite.get()) {
    Note("invite %llu for %s as %s, expires %s: the invitee runs parley accept TOKEN",
         U(invite->id), invite->email.c_str(), RoleName(invite->role).c_str(),
         Expiry(invite->expires_at_ms).c_str());
  }
  return 0;
}

std::string JoinNumbers(const std::vector<uint64_t>& ids) {
  std::string out;
  for (uint64_t id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out.empty() ? "-" : out;
}

int Invites(Ctx& ctx, const Args& args) {
  if (args.size() == 4 && args[1] == "revoke") {
    uint64_t ws = 0, invite = 0;
    if (!Ids(args, 2, {&ws, &invite})) return 1;
    return Report(ctx.c.RevokeInvite(ws, invite), "revoked invite " + args[3]);
  }
  if (args.size() != 2) return Usage();
  uint64_t ws = 0;
  if (!Ids(args, 1, {&ws})) return 1;
  auto invites = ctx.c.ListInvites(ws);
  if (!invites.ok()) return Die(invites.error());
  for (const wire::InviteInfoT& i : *invites) {
    std::printf("%llu\t%s\t%s\tchannels=%s\tby=%llu\tcreated=%s\texpires=%s\n", U(i.id),
                i.email.c_str(), RoleName(i.role).c_str(), JoinNumbers(i.channel_ids).c_str(),
                U(i.created_by), Time(i.created_at_ms).c_str(), Expiry(i.expires_at_ms).c_str());
  }
  return 0;
}

int Accept(Ctx& ctx, const Args& args) {
  if (args.size() != 2) return Usage();
  auto ws = ctx.c.AcceptInvite(args[1]);
  if (!ws.ok()) return Die(ws.error());
  PrintWorkspace(*ws);
  return 0;
}

int Role(Ctx& ctx, const Args& args) {
  if (args.size() != 4) return Usage();
  uint64_t ws = 0, user = 0;
  if (!Ids(args, 1, {&ws, &user})) return 1;
  auto role = ParseRole(args[3]);
  if (!role.ok()) return Die(role.error());
  return Report(ctx.c.SetMemberRole(ws, user, *role),
                "user " + args[2] + " is now " + RoleName(*role));
}

int Transfer(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t ws = 0, user = 0;
  if (!Ids(args, 1, {&ws, &user})) return 1;
  return Report(ctx.c.TransferOwnership(ws, user),
                "workspace " + args[1] + " now belongs to user " + args[2]);
}

// deactivate and reactivate.
int SetActive(Ctx& ctx, const Args& args) {
  if (args.size() != 3) return Usage();
  uint64_t ws = 0, user = 0;
  if (!Ids(args, 1, {&ws, &user})) return 1;
  const bool active = args[0] == "reactivate";
  return Report(ctx.c.SetMemberActive(ws, user, active),
                "user " + args[2] + (active ? " reactivated" : " deactivated"));
}

void PrintSettings(const wire::WorkspaceSettingsT& s) {
  std::printf("join_open=%s\nmembers_create_private=%s\nmembers_post_announcements=%s\n",
              s.join_open ? "true" : "false", s.members_create_private ? "true" : "false",
              s.members_post_announcements ? "true" : "false");
  if (s.receipts_max_members.has_value()) {
    std::printf("receipts_max_members=%u\n", s.receipts_max_members.value());
  }
  if (s.retention_days.has_value()) std::printf("retention_days=%u\n", s.retention_days.value());
}

// The workspace's settings as the caller's workspace list reports them.
Result<wire::WorkspaceSettingsT> CurrentSettings(wire::Client& c, uint64_t workspace_id) {
  auto list = c.ListWorkspaces();
  if (!list.ok()) return list.error();
  for (const wire::WorkspaceInfoT& w : *list) {
    if (w.id != workspace_id) continue;
    if (!w.settings) return MakeError(ErrorCode::kBadRequest, "the server sent no settings");
    return *w.settings;
  }
  return MakeError(ErrorCode::kNotFound, "not one of your workspaces",
                   std::to_string(workspace_id));
}

// UpdateWorkspaceSettings replaces all of them: read, change what the flags name, write back.
int Settings(Ctx& ctx, const Args& args) {
  if (args.size() != 2) return Usage();
  uint64_t ws = 0;
  if (!Ids(args, 1, {&ws})) return 1;
  auto settings = CurrentSettings(ctx.c, ws);
  if (!settings.ok()) return Die(settings.error());
  const bool receipts = ApplyReceiptsFlag(*settings);
  const bool change = receipts || FlagSet("join_open") || FlagSet("members_create_private") ||
                      FlagSet("members_post_announcements");
  if (!change) {
    PrintSettings(*settings);
    return 0;
  }
  if (FlagSet("join_open")) settings->join_open = FLAGS_join_open;
  if (FlagSet("members_create_private"))
    settings->members_create_private = FLAGS_members_create_private;
  if (FlagSet("members_post_announcements")) {
    settings->members_post_announcements = FLAGS_members_post_announcements;
  }
  auto updated = ctx.c.UpdateWorkspaceSettings(ws, *settings);
  if (!updated.ok()) return Die(updated.error());
  PrintSettings(updated->settings ? *updated->settings : *settings);
  return 0;
}

// retention WORKSPACE_ID [DAYS]: shows or sets how many days messages are kept (0: forever).
int Retention(Ctx& ctx, const Args& args) {
  if (args.size() != 2 && args.size() != 3) return Usage();
  uint64_t ws = 0, days = 0;
  if (!Ids(args, 1, {&ws})) return 1;
  if (args.size() == 2) {
    auto settings = CurrentSettings(ctx.c, ws);
    if (!settings.ok()) return Die(settings.error());
    std::printf("retention_days=%u\n", settings->retention_days.value_or(0));
    return 0;
  }
  if (!Ids(args, 2, {&days})) return 1;
  if (days > std::numeric_limits<uint32_t>::max()) {
    return Die(BadArgument("out of range", "retention_days"));
  }
  auto updated = ctx.c.SetRetention(ws, static_cast<uint32_t>(days));
  if (!updated.ok()) return Die(updated.error());
  const bool shown = updated->settings && updated->settings->retention_days.has_value();
  std::printf("retention_days=%u\n", shown ? updated->settings->retention_days.value() : 0u);
  return 0;
}

int Audit(Ctx& ctx, const Args& args) {
  if (args.size() != 2) return Usage();
  uint64_t ws = 0;
  if (!Ids(args, 1, {&ws})) return 1;
  if (FLAGS_limit < 0 || FLAGS_limit > std::numeric_limits<uint16_t>::max()) {
    return Die(BadArgument("out of range", "limit"));
  }
  auto entries = ctx.c.ListAudit(ws, static_cast<uint16_t>(FLAGS_limit));
  if (!entries.ok()) return Die(entries.error());
  for (const wire::AuditEntryT& e : *entries) {
    std::printf("%s\t%s\tuser=%llu\tactor=%llu\t%s\t%s\n", Time(e.at_ms).c_str(), e.kind.c_str(),
                U(e.user_id), U(e.actor_id), Or(e.address, "-").c_str(), Or(e.detail, "-").c_str());
  }
  return 0;
}


struct Command {
  const char* name;
  bool signs_in;
  int (*run)(Ctx&, const Args&);
};

constexpr Command kCommands[] = {{"register", false, Register},
                                 {"login", false, Login},
                                 {"refresh", false, Refresh},
                                 {"logout", true, Logout},
                                 {"sessions", true, Sessions},
                                 {"password", true, Password},
                                 {"profile", true, Profile},
                                 {"mfa", true, Mfa},
                                 {"api-keys", true, ApiKeys},
                                 {"workspaces", true, Workspaces},
                                 {"members", true, Members},
                                 {"invite", true, Invite},
                                 {"invites", true, Invites},
                                 {"accept", true, Accept},
                                 {"role", true, Role},
                                 {"transfer", true, Transfer},
                                 {"deactivate", true, SetActive},
                                 {"reactivate", true, SetActive},
                                 {"settings", true, Settings},
                                 {"retention", true, Retention},
                                 {"audit", true, Audit},
                                 {"channels", true, Channels},
                                 {"channel", true, ChannelDetails},
                                 {"channel-members", true, ChannelMembers},
                                 {"join", true, JoinOrLeave},
                                 {"leave", true, JoinOrLeave},
                                 {"add-member", true, AddMember},
                                 {"remove-member", true, RemoveMember},
                                 {"archive", true, UpdateChannel},
                                 {"unarchive", true, UpdateChannel},
                                 {"announce", true, UpdateChannel},
                                 {"dm", true, Dm},
                                 {"dms", true, Dms},
                                 {"post", true, Post},
                                 {"reply", true, Reply},
                                 {"thread", true, Thread},
                                 {"follow", true, Follow},
                                 {"unfollow", true, Follow},
                                 {"thread-read", true, ThreadRead},
                                 {"threads", true, Threads},
                                 {"edit", true, Edit},
                                 {"edits", true, Edits},
                                 {"delete", true, Delete},
                                 {"react", true, React},
                                 {"unreact", true, React},
                                 {"pin", true, Pin},
                                 {"unpin", true, Pin},
                                 {"pins", true, Pins},
                                 {"bookmarks", true, Bookmarks},
                                 {"read", true, Read},
                                 {"typing", true, Typing},
                                 {"history", true, History},
                                 {"tail", true, Tail},
                                 {"presence", true, Presence},
                                 {"status", true, StatusCommand},
                                 {"away", true, AwayOrBack},
                                 {"back", true, AwayOrBack},
                                 {"receipts", true, Receipts},
                                 {"read-receipts", true, ReadReceipts},
                                 {"notifications", true, Notifications},
                                 {"notify-pref", true, NotifyPref},
                                 {"keywords", true, Keywords},
                                 {"dnd", true, Dnd},
                                 {"sync-user", true, SyncUser},
                                 {"boot", true, Boot},
                                 {"search", true, Search},
                                 {"recent-searches", true, RecentSearches}};

}  // namespace

int Usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace parley_cli

using namespace parley_cli;


int main(int argc, char** argv) {
  gflags::SetUsageMessage(kUsage);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  const Args args(argv + 1, argv + argc);
  if (args.empty()) return Usage();
  const Command* command = std::find_if(std::begin(kCommands), std::end(kCommands),
                                        [&](const Command& cmd) { return args[0] == cmd.name; });
  if (command == std::end(kCommands)) return Usage();
  wire::ClientOptions options;
  options.host = FLAGS_host;
  options.port = static_cast<uint16_t>(FLAGS_port);
  options.timeout_ms = FLAGS_timeout_ms;
  options.client_name = "parley-cli";
  options.tls = FLAGS_tls;
  options.tls_ca_file = FLAGS_tls_ca_file;
  options.tls_server_name = FLAGS_tls_server_name;
  auto client = wire::Client::Connect(options);
  if (!client.ok()) return Die(client.error());
  Ctx ctx{**client, {}};
  if (command->signs_in) {
    auto me = SignIn(ctx.c);
    if (!me.ok()) return DieSigningIn(me.error());
    ctx.me = std::move(*me);
  }
  return command->run(ctx, args);
}
