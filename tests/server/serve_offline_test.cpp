// Offline proofs for `airlock serve`: it starts and serves inside a network namespace that has
// nothing but loopback (`ip netns`, as root), and, watched by strace, it opens no connection
// except to its store, even with NGC and Hugging Face settings in its environment.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "serve_fixture.h"
#include "store_servers.h"

namespace airlock::testing {
namespace {

bool tool_works(const std::string& command) { return run_command({"bash", "-c", command}).exit_code == 0; }

// A network namespace that is deleted with this object.
class NetworkNamespace {
 public:
  bool create() {
    name_ = "airlock-serve-" + std::to_string(::getpid());
    run_command({"ip", "netns", "del", name_});
    return run_command({"ip", "netns", "add", name_}).exit_code == 0;
  }
  ~NetworkNamespace() {
    if (!name_.empty()) run_command({"ip", "netns", "del", name_});
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

TEST(ServeOffline, ServesInsideALoopbackOnlyNetworkNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create a network namespace with `ip netns`; run the tests as root for this proof";
  NetworkNamespace ns;
  if (!tool_works("command -v ip && command -v curl && command -v jq") || !ns.create()) {
    GTEST_SKIP() << "`ip netns add` is not available here (needs iproute2 and CAP_SYS_ADMIN)";
  }
  TempDir work;
  const int port = 18000 + ::getpid() % 1000;
  // Inside the namespace: only lo exists; nothing outside can be reached; serve starts from the
  // store, answers the operators' smoke request, and stops on SIGTERM.
  const std::string script = R"(set -u
ip link set lo up
if ip -o link show | grep -v ': lo:' | grep -q .; then echo "namespace has more than loopback"; exit 10; fi
if curl -sS -m 2 -o /dev/null http://192.0.2.1/ 2>/dev/null; then echo "reached outside"; exit 11; fi
"$AIRLOCK" serve --host 127.0.0.1 --port "$PORT" --model-profiles-path "$STORE" --cache-dir "$CACHE" > "$LOG" 2>&1 &
pid=$!
for i in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$PORT/v1/health/ready" > /dev/null && break
  kill -0 $pid 2> /dev/null || { echo "serve exited"; exit 12; }
  sleep 0.1
done
curl -sS -X POST "http://127.0.0.1:$PORT/v1/embeddings" -H "Content-Type: application/json" -d '{"input":["hello from the air gap"]}' | jq '.data[0].embedding | length'
kill -TERM $pid
wait $pid
echo "serve exit $?"
)";
  CommandResult r = run_command({"ip", "netns", "exec", ns.name(), "bash", "-c", script},
                                {{"AIRLOCK", airlock_binary().string()},
                                 {"PORT", std::to_string(port)},
                                 {"STORE", embedding_store().uri},
                                 {"CACHE", (work.path() / "cache").string()},
                                 {"LOG", (work.path() / "serve.log").string()},
                                 {"NGC_API_KEY", "nvapi-offline-test-secret"},
                                 {"ASAN_OPTIONS", "detect_leaks=1"},
                                 {"AIRLOCK_LOG_LEVEL", "info"}});
  const std::string log = read_text(work.path() / "serve.log");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << log;
  EXPECT_NE(r.out.find("128\n"), std::string::npos) << r.out << log;
  EXPECT_NE(r.out.find("serve exit 0"), std::string::npos) << r.out << log;
  EXPECT_NE(log.find("NGC_API_KEY is set and is ignored"), std::string::npos) << log;
  EXPECT_EQ(log.find("nvapi-offline-test-secret"), std::string::npos) << log;
  EXPECT_NE(log.find("Skipping download, using cached copy of file: model.safetensors"), std::string::npos) << log;
}

// Every connect() serve makes, as strace sees it: only the store's address.
TEST(ServeOffline, ConnectsToNothingButTheStore) {
  if (!tool_works("command -v strace && strace -f -qq -e trace=connect -o /dev/null true")) {
    GTEST_SKIP() << "strace is not installed or cannot trace here (ptrace not permitted)";
  }
  isolate_aws_environment();
  S3rver s3;
  ASSERT_TRUE(s3.start({"models"})) << s3.last_output();
  std::map<std::string, std::string> env = s3_client_env();
  CommandResult pushed = run_command({airlock_binary().string(), "--quiet", "push", (embedding_store().workdir / "cache").string(),
                                      "s3://models/demo", "--endpoint-url", s3.endpoint()},
                                     env);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.out << pushed.err;

  TempDir work;
  const std::string trace = (work.path() / "connect.trace").string();
  // Hub settings that would send another runtime online.
  env["NGC_API_KEY"] = "nvapi-strace-test-secret";
  env["HF_TOKEN"] = "hf_strace_test_secret";
  env["HF_ENDPOINT"] = "http://127.0.0.1:9";
  env["NGC_API_ENDPOINT"] = "http://127.0.0.1:9";
  env["AIRLOCK_LOG_LEVEL"] = "info";
  env["ASAN_OPTIONS"] = "detect_leaks=0";  // LeakSanitizer cannot run under ptrace
  Serve serve;
  ASSERT_TRUE(serve.start({"--model-profiles-path", "s3://models/demo", "--endpoint-url", s3.endpoint(), "--cache-dir",
                           (work.path() / "cache").string()},
                          env, true, std::chrono::seconds(180), {"strace", "-f", "-qq", "-e", "trace=connect", "-o", trace}))
      << serve.log();
  Reply reply = http("POST", serve.url() + "/v1/embeddings", R"({"input":["hello from the air gap"]})");
  EXPECT_EQ(reply.status, 200) << reply.body;
  // SIGTERM goes to serve itself (strace's child); strace exits with it.
  std::string children = read_text("/proc/" + std::to_string(serve.pid()) + "/task/" + std::to_string(serve.pid()) + "/children");
  ASSERT_FALSE(children.empty());
  ::kill(std::stoi(children), SIGTERM);
  auto code = serve.wait_exit(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << serve.log();

  const std::string store_address = "sin_port=htons(" + std::to_string(s3.port()) + "), sin_addr=inet_addr(\"127.0.0.1\")";
  std::istringstream lines(read_text(trace));
  int to_store = 0;
  std::vector<std::string> others;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("connect(") == std::string::npos) continue;
    if (line.find(store_address) != std::string::npos) {
      ++to_store;
    } else if (line.find("AF_UNIX") != std::string::npos && line.find("nscd") != std::string::npos) {
      // glibc asks the local name-service cache daemon about users and hosts: a local socket.
    } else {
      others.push_back(line);
    }
  }
  EXPECT_GT(to_store, 0) << "strace saw no connection to the store: " << read_text(trace);
  EXPECT_TRUE(others.empty()) << "connections other than to the store:\n" << [&] {
    std::string all;
    for (const std::string& o : others) all += o + "\n";
    return all;
  }();
  EXPECT_EQ(serve.log().find("strace-test-secret"), std::string::npos);
}

}  // namespace
}  // namespace airlock::testing
