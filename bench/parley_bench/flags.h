// The flags main.cc defines that the scenarios in files of their own (boot, search, soak,
// storm) read too.
#pragma once

#include <gflags/gflags.h>

DECLARE_string(host);
DECLARE_int32(port);
DECLARE_string(tag);
DECLARE_string(json_out);
DECLARE_string(label);
DECLARE_string(target);
DECLARE_int32(server_pid);
