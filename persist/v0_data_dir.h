// Tests only: data directories in the made-up format version 0 (docs/log_format.md, "Format
// version 0"), for the tests of `parley-admin migrate` and of parleyd's refusal to serve one.
#pragma once

#include <string>

#include "core/error.h"

namespace parley::persist {

// Writes `v0_dir` (which must not exist): the data directory `from` (current format, not open
// in this process) with the same logs and secret key, its shards laid out as version 0 wrote
// them. Copies record by record, so it is for test-sized logs.
Status WriteV0DataDir(const std::string& from, const std::string& v0_dir);

}  // namespace parley::persist
