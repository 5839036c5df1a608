// The load engine: worker threads, each with its own io_uring (shard::Ring: multishot receive
// into a provided-buffer ring, one send in flight per connection) driving many connections of
// one adapter. Publishers run closed loop (a window of unacknowledged publishes, optionally also
// bounded by what subscribers have not yet received) or open loop (a schedule at a fixed rate;
// latency counts from the scheduled time, so a stalled server cannot hide its backlog).
//
// Every payload starts with 16 hex digits of its scheduled CLOCK_MONOTONIC time in ns and 2 of
// its step number, then filler up to payload_bytes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/parley_bench/adapter.h"
#include "bench/parley_bench/histogram.h"

namespace parley::bench {

struct Step {
  double seconds = 1;
  double rate = 0;      // open loop: publishes/s for each publisher
  bool report = true;   // false: warm-up, run but not reported
};

struct LoadPlan {
  uint32_t subscriber_conns = 0;  // connection i is a session of user i % user count
  uint32_t publishers = 0;        // one connection each
  // Of the subscriber connections, the last this many never read after their handshake (a
  // stalled client): the server must lag them without slowing the others.
  uint32_t stalled_conns = 0;
  bool open_loop = false;
  uint32_t window = 64;             // closed loop: unacknowledged publishes per publisher
  uint64_t max_publishes = 0;       // closed loop: per publisher, 0 = until the last step ends
  double deliveries_per_publish = 0;  // closed loop: > 0 also bounds undelivered publishes...
  uint32_t delivery_window = 0;       // ...to this many (end-to-end flow control)
  uint32_t payload_bytes = 100;
  int threads = 1;
  pid_t server_pid = 0;  // for the server's CPU use (0: not reported)
  // Poll the rings instead of sleeping in them. On loopback a sleeping receiver makes every
  // delivery pay for a wake-up in the sender (the server) too; a generator pinned to its own
  // CPUs polls, and its busy share (below) still shows when it saturates.
  bool spin = true;
};

struct StepResult {
  Step step;
  double seconds = 0;          // measured wall time of the step
  Histogram latency;           // deliveries of publishes scheduled in this step
  Histogram ack_latency;       // acknowledgements of publishes sent in this step
  uint64_t published = 0;      // sent during the step
  uint64_t acked = 0;          // acknowledgements received during the step
  uint64_t delivered = 0;      // deliveries received during the step
  double generator_cpu = 0;    // cores used by this process during the step
  double generator_busy = 0;   // cores' worth of loop passes that found work (spinning aside)
  double server_cpu = -1;      // cores used by the server (-1: unknown)
};

struct RunResult {
  std::vector<StepResult> steps;  // reported steps only
  uint64_t published = 0, acked = 0, delivered = 0, failures = 0, disconnects = 0;
  std::string first_failure;
};

class Engine {
 public:
  Engine(Adapter& adapter, const Topology& topology, LoadPlan plan);
  ~Engine();

  // Opens every connection and completes its handshake (in the worker threads, overlapped).
  Status Connect();
  // Runs `steps` (rates and durations), then drains what is still in flight (a few seconds at
  // most). May be called again on the same connections, e.g. once per rate of a sweep.
  RunResult Run(const std::vector<Step>& steps);
  void Close();
  // After Run: reads what the stalled connections were sent and counts those the server ended
  // (lagged and closed) rather than left open.
  uint32_t StalledClosedByServer();

  uint32_t connections() const;

 private:
  struct Worker;
  struct Shared;
  Adapter& adapter_;
  std::unique_ptr<Shared> shared_;
  Topology topology_;
  LoadPlan plan_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

// Cores used by a process since it started: utime + stime from /proc/<pid>/stat, in seconds.
double ProcessCpuSeconds(pid_t pid);
// Resident set size of a process in bytes (VmRSS), 0 when unknown.
uint64_t ProcessRssBytes(pid_t pid);
uint64_t MonotonicNs();

}  // namespace parley::bench
