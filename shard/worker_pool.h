// WorkerPool: a few threads for work that must not run on a shard loop (scrypt, RSA/ECDSA
// verification). Jobs run in submission order per free worker; they must not touch any shard's
// state: a shard hands in a job and gets its result back through Shard::OffLoop.
// Thread contract: Submit from any thread; the destructor (one thread) runs what is queued and
// joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::shard {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Never blocks the caller beyond a short lock (no wait for a worker).
  void Submit(std::function<void()> job);

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace parley::shard
