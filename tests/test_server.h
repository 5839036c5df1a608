// TestServer: a real parleyd process on an ephemeral loopback port with a temporary data
// directory, started and stopped by process id. For whole-server tests.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "wire/client.h"

namespace parley::testing {

// By default the server runs without rate limits and with the cheapest scrypt cost, so that
// tests creating many accounts stay fast; tests of those features set their own flags (later
// flags win).
struct TestServerOptions {
  uint32_t shards = 2;
  std::string durability = "sync";
  std::vector<std::string> extra_flags;
  // false: the test puts a data directory at data_dir() itself (a restore, a migration) before
  // Start(), which then only serves it.
  bool init_data_dir = true;
  // true: the client port speaks TLS, with a CA and certificate made for this server (certs());
  // Connect() and SignedIn() speak TLS too.
  bool tls = false;
};

// A throwaway CA and a server certificate it signed for localhost and 127.0.0.1 (EC P-256, valid
// two days), written as PEM files by the openssl command.
struct TestCerts {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};
// Makes them in `dir` (which must exist); throws std::runtime_error when openssl fails.
TestCerts MakeTestCerts(const std::string& dir);

// Lets anyone signed in join the workspace without an invite (what most tests want).
void OpenWorkspace(wire::Client& owner, uint64_t workspace_id);

// who-<current test's name>@example.com: tests sharing a server never share an account.
// REQUIRES: called while a test runs.
std::string Email(const std::string& who);

// Reads `reader`'s MessagePosted events until `count` arrived in seq order from 1, or a gap, or
// 20 s without one; returns the last seq read in order. The reader beside a stalled one: run it
// on its own thread while the test posts, and expect `count`.
uint64_t ReadPostsInOrder(wire::Client& reader, uint64_t count);

class TestServer {
 public:
  explicit TestServer(TestServerOptions options = {});
  ~TestServer();  // SIGKILLs a running parleyd and removes the data directory

  // Initialises the data directory (once) and starts parleyd; waits until it serves.
  void Start();
  void Kill();  // SIGKILL, then reap
  // SIGTERM (graceful), then reap; returns once exited, with the exit code (128 + signal if a
  // signal ended it).
  int Terminate();
  void Restart() {
    Kill();
    Start();
  }

  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }  // the admin HTTP port (ephemeral)
  std::string log_path() const { return data_dir_ + "/../parleyd.log"; }  // its stderr
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return pid_; }

  // What Connect() uses: this server's port, and TLS trusting certs().ca_file when options.tls.
  wire::ClientOptions client_options() const;
  const TestCerts& certs() const { return certs_; }  // empty without options.tls
  // A connected client that has said Hello.
  std::unique_ptr<wire::Client> Connect() const;
  // Registers (if needed) and signs in a user with a fixed test password.
  std::unique_ptr<wire::Client> SignedIn(const std::string& email,
                                         wire::LoginOkT* login = nullptr) const;

  static std::string ParleydPath();

 private:
  // In a sanitizer build (tools/sanitize.sh), fails the running test with any sanitizer report
  // parleyd wrote to its log since the last check: a report in the server is a bug like any
  // failed expectation, even when the test's own checks passed or the server was then killed.
  void CheckLogForSanitizerReports();

  TestServerOptions options_;
  std::string data_dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  bool initialised_ = false;
  TestCerts certs_;
  size_t log_checked_ = 0;  // bytes of the log already searched for sanitizer reports
};

// The first sanitizer report (ASan, LSan, UBSan, TSan) in a program's stderr, or "" if none.
std::string SanitizerReport(const std::string& stderr_text);

// Runs parleyd with `args` to completion; returns its exit code and captures stderr.
int RunParleyd(const std::vector<std::string>& args, std::string* err);

}  // namespace parley::testing
