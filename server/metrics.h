// The admin port's endpoints over a running shard::Server: /metrics (Prometheus text format
// 0.0.4), /healthz and /readyz. Called on the admin thread; reads only atomics the shards and
// persist threads publish, so a scrape never slows or locks a shard.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "server/admin_http.h"
#include "shard/server.h"

namespace parley::server {

// A shard loop that has not turned for this long is stuck (its housekeeping tick turns it
// every second): /healthz answers 503.
inline constexpr int64_t kLoopStallMs = 10'000;

std::string RenderMetrics(const shard::Server& server);

// /metrics, /healthz, /readyz; 404 for any other path.
HttpResponse ServeAdminPath(const shard::Server& server, std::string_view path);

}  // namespace parley::server
