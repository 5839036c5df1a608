#include "tests/test_server.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "gtest/gtest.h"
#include "persist/data_dir.h"

namespace parley::testing {
namespace {

constexpr const char* kPassword = "correct horse battery";

// What each sanitizer's runtime prints first when it reports.
constexpr const char* kSanitizerMarkers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                             "WARNING: ThreadSanitizer", ": runtime error: "};

pid_t Spawn(const std::vector<std::string>& args, int stderr_fd) {
  pid_t pid = fork();
  if (pid == 0) {
    if (stderr_fd >= 0) dup2(stderr_fd, STDERR_FILENO);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

std::string TestServer::ParleydPath() { return PARLEYD_PATH; }

std::string SanitizerReport(const std::string& stderr_text) {
  size_t first = std::string::npos;
  for (const char* marker : kSanitizerMarkers) first = std::min(first, stderr_text.find(marker));
  if (first == std::string::npos) return "";
  size_t line = stderr_text.rfind('\n', first);
  return stderr_text.substr(line == std::string::npos ? 0 : line + 1, 8000);
}

void TestServer::CheckLogForSanitizerReports() {
  std::ifstream in(log_path());
  std::string log(std::istreambuf_iterator<char>(in), {});
  if (log.size() <= log_checked_) return;
  std::string report = SanitizerReport(log.substr(log_checked_));
  log_checked_ = log.size();
  if (!report.empty()) ADD_FAILURE() << "parleyd reported (" << log_path() << "):\n" << report;
}

std::string Email(const std::string& who) {
  return who + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
         "@example.com";
}

uint64_t ReadPostsInOrder(wire::Client& reader, uint64_t count) {
  uint64_t last = 0;
  while (last < count) {
    auto e = reader.NextEvent(20000);
    if (!e.ok()) break;
    const wire::MessagePostedT* posted = e->body.AsMessagePosted();
    if (posted == nullptr) continue;
    if (posted->message->seq != last + 1) break;  // a gap
    last = posted->message->seq;
  }
  return last;
}

void OpenWorkspace(wire::Client& owner, uint64_t workspace_id) {
  wire::WorkspaceSettingsT open;
  open.join_open = true;
  open.members_create_private = true;
  auto r = owner.UpdateWorkspaceSettings(workspace_id, open);
  if (!r.ok()) throw std::runtime_error("cannot open workspace: " + r.error().message);
}

namespace {

void RunOpenssl(const std::string& dir, const std::string& args) {
  const std::string command = "cd '" + dir + "' && openssl " + args + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("test certificates: `openssl " + args + "` failed in " + dir);
  }
}

}  // namespace

TestCerts MakeTestCerts(const std::string& dir) {
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  RunOpenssl(dir,
             "req -x509 " + ec + " -keyout ca.key -out ca.pem -days 2 -subj /CN=parley-test-ca");
  RunOpenssl(dir, "req " + ec + " -keyout server.key -out server.csr -subj /CN=localhost");
  {
    std::ofstream ext(dir + "/server.ext");
    ext << "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n";
  }
  RunOpenssl(dir,
             "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2 "
             "-extfile server.ext -out server.pem");
  return TestCerts{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
}

TestServer::TestServer(TestServerOptions options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/parley-test-XXXXXX";
  data_dir_ = std::string(mkdtemp(tmpl)) + "/data";
}

TestServer::~TestServer() {
  if (pid_ > 0) Kill();
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(data_dir_).parent_path(), ec);
}

void TestServer::Start() {
  if (!initialised_ && options_.init_data_dir) {
    Status st = persist::InitDataDir(data_dir_, options_.shards);
    if (!st.ok()) throw std::runtime_error("init failed: " + st.error().message);
    initialised_ = true;
  }
  std::string ready = data_dir_ + "/../ready";
  std::filesystem::remove(ready);
  std::vector<std::string> args = {ParleydPath(),
                                   "--data_dir=" + data_dir_,
                                   "--port=0",
                                   "--admin_port=0",
                                   "--durability=" + options_.durability,
                                   "--ready_file=" + ready,
                                   "--pin_threads=false",
                                   "--scrypt_log2n=10",
                                   "--rate_per_connection=0",
                                   "--rate_per_user=0",
                                   "--rate_signin_per_address=0"};
  if (options_.tls) {
    if (certs_.cert_file.empty()) {
      certs_ = MakeTestCerts(std::filesystem::path(data_dir_).parent_path().string());
    }
    args.push_back("--tls_cert_file=" + certs_.cert_file);
    args.push_back("--tls_key_file=" + certs_.key_file);
  }
  for (const auto& f : options_.extra_flags) args.push_back(f);
  std::string log = log_path();
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_ = Spawn(args, fd);
  close(fd);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(ready);
    int port = 0;
    int admin_port = 0;
    if (in >> port && port > 0) {  // the file is renamed into place whole
      port_ = static_cast<uint16_t>(port);
      admin_port_ = in >> admin_port ? static_cast<uint16_t>(admin_port) : 0;
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      CheckLogForSanitizerReports();
      throw std::runtime_error("parleyd exited during start; see " + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("parleyd did not become ready");
}

void TestServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  CheckLogForSanitizerReports();
}

int TestServer::Terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  CheckLogForSanitizerReports();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

wire::ClientOptions TestServer::client_options() const {
  wire::ClientOptions o;
  o.port = port_;
  o.timeout_ms = 10000;
  o.tls = options_.tls;
  o.tls_ca_file = certs_.ca_file;
  return o;
}

std::unique_ptr<wire::Client> TestServer::Connect() const {
  auto c = wire::Client::Connect(client_options());
  if (!c.ok()) throw std::runtime_error("connect failed: " + c.error().message);
  return std::move(*c);
}

std::unique_ptr<wire::Client> TestServer::SignedIn(const std::string& email,
                                                   wire::LoginOkT* login) const {
  auto c = Connect();
  auto reg = c->Register(email, kPassword, email.substr(0, email.find('@')));
  if (!reg.ok() && reg.error().code != ErrorCode::kAlreadyExists) {
    throw std::runtime_error("register failed: " + reg.error().message);
  }
  auto ok = c->Login(email, kPassword);
  if (!ok.ok()) throw std::runtime_error("login failed: " + ok.error().message);
  if (login) *login = std::move(*ok);
  return c;
}

int RunParleyd(const std::vector<std::string>& args, std::string* err) {
  char tmpl[] = "/tmp/parley-err-XXXXXX";
  int fd = mkstemp(tmpl);
  std::vector<std::string> full = {TestServer::ParleydPath()};
  full.insert(full.end(), args.begin(), args.end());
  pid_t pid = Spawn(full, fd);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fd);
  std::ifstream in(tmpl);
  err->assign(std::istreambuf_iterator<char>(in), {});
  unlink(tmpl);
  std::string report = SanitizerReport(*err);
  if (!report.empty()) ADD_FAILURE() << "parleyd reported:\n" << report;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace parley::testing
