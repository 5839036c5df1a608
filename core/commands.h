// Commands: what a client asks for, already authenticated (actor) and decoded from the wire.
// decide() turns one into an event or an error; it never mutates state.
#pragma once

#include <string>
#include <variant>

#include "core/ids.h"

namespace parley {

// The password has been hashed by the caller (off the core, which does no cryptography); the
// plain password is passed only so decide() can apply the password policy.
struct RegisterUser {
  std::string email;  // as typed; decide() normalises it
  std::string display_name;
  std::string password;
  std::string password_salt;
  std::string password_hash;
};

struct CreateWorkspace {
  UserId actor = 0;
  std::string name;
};

struct JoinWorkspace {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
};

struct CreateChannel {
  UserId actor = 0;
  WorkspaceId workspace_id = 0;
  std::string name;
  bool is_private = false;
};

struct JoinChannel {
  UserId actor = 0;
  ChannelId channel_id = 0;
};

struct LeaveChannel {
  UserId actor = 0;
  ChannelId channel_id = 0;
};

struct PostMessage {
  UserId actor = 0;
  ChannelId channel_id = 0;
  std::string client_msg_id;
  std::string text;
};

using Command = std::variant<RegisterUser, CreateWorkspace, JoinWorkspace, CreateChannel,
                             JoinChannel, LeaveChannel, PostMessage>;

}  // namespace parley
