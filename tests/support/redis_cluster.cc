#include "tests/support/redis_cluster.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/common/status.h"
#include "tests/support/redis_server.h"

namespace pantry::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct ContextFree {
  void operator()(redisContext* c) const {
    if (c != nullptr) redisFree(c);
  }
};
struct ReplyFree {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using Context = std::unique_ptr<redisContext, ContextFree>;
using Reply = std::unique_ptr<redisReply, ReplyFree>;

absl::StatusOr<Context> Connect(int port) {
  Context c(redisConnectWithTimeout("127.0.0.1", port, timeval{1, 0}));
  if (c == nullptr) return absl::UnavailableError("redisConnect: out of memory");
  if (c->err != 0) {
    return absl::UnavailableError(absl::StrCat("connect 127.0.0.1:", port, ": ", c->errstr));
  }
  // MIGRATE of a batch can take a moment; nothing else should.
  redisSetTimeout(c.get(), timeval{10, 0});
  return c;
}

absl::StatusOr<Reply> Send(redisContext* c, int port, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  Reply reply(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data())));
  if (reply == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("127.0.0.1:", port, " ", args.empty() ? "" : args[0], ": ", c->errstr));
  }
  return reply;
}

void AppendText(const redisReply* r, std::string* out) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out->append(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      absl::StrAppend(out, r->integer);
      break;
    case REDIS_REPLY_NIL:
      out->append("(nil)");
      break;
    case REDIS_REPLY_ARRAY:
      for (size_t i = 0; i < r->elements; ++i) {
        if (i > 0) out->push_back('\n');
        AppendText(r->element[i], out);
      }
      break;
    default:
      absl::StrAppend(out, "(type ", r->type, ")");
  }
}

std::string ReplyText(const redisReply* r) {
  std::string out;
  AppendText(r, &out);
  return out;
}

// Runs `commands` in order on one fresh connection to `port` and returns the
// last reply. An error reply from any of them is FailedPrecondition with the
// reply text as the message.
absl::StatusOr<Reply> QuerySequence(int port,
                                    const std::vector<std::vector<std::string>>& commands) {
  PANTRY_ASSIGN_OR_RETURN(Context c, Connect(port));
  Reply last;
  for (const std::vector<std::string>& args : commands) {
    PANTRY_ASSIGN_OR_RETURN(last, Send(c.get(), port, args));
    if (last->type == REDIS_REPLY_ERROR)
      return absl::FailedPreconditionError(ReplyText(last.get()));
  }
  return last;
}

absl::StatusOr<Reply> Query(int port, const std::vector<std::string>& args) {
  return QuerySequence(port, {args});
}

absl::StatusOr<std::string> QueryText(int port, const std::vector<std::string>& args) {
  PANTRY_ASSIGN_OR_RETURN(Reply reply, Query(port, args));
  return ReplyText(reply.get());
}

// The value of `field` in an INFO-style "field:value\r\n" text, or "".
std::string InfoField(absl::string_view info, absl::string_view field) {
  for (absl::string_view line : absl::StrSplit(info, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (absl::StartsWith(line, field) && line.size() > field.size() && line[field.size()] == ':') {
      return std::string(line.substr(field.size() + 1));
    }
  }
  return "";
}

// One line of CLUSTER NODES.
struct NodeLine {
  std::string id;
  int port = 0;
  std::string flags;
  std::string master_id;
};

std::vector<NodeLine> ParseClusterNodes(absl::string_view text) {
  std::vector<NodeLine> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 8) continue;
    NodeLine node;
    node.id = std::string(fields[0]);
    // "ip:port@cport[,hostname]"
    absl::string_view addr = fields[1];
    const size_t colon = addr.rfind(':', addr.find('@'));
    const size_t at = addr.find('@');
    if (colon != absl::string_view::npos && at != absl::string_view::npos && at > colon) {
      (void)absl::SimpleAtoi(addr.substr(colon + 1, at - colon - 1), &node.port);
    }
    node.flags = std::string(fields[2]);
    node.master_id = std::string(fields[3]);
    lines.push_back(std::move(node));
  }
  return lines;
}

bool HasFlag(absl::string_view flags, absl::string_view flag) {
  for (absl::string_view f : absl::StrSplit(flags, ',')) {
    if (f == flag) return true;
  }
  return false;
}

std::string FileTail(const std::string& path, size_t max_bytes = 2000) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log at " + path + ")";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return text;
}

// Prepares a forked child: the given log file on stdout/stderr, /dev/null on
// stdin, default SIGPIPE, and death with the test process (so a test killed
// by a ctest timeout leaves no servers behind). Only async-signal-safe calls.
void PrepareChild(const char* log_path, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  signal(SIGPIPE, SIG_DFL);
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, 0);
  if (log_path != nullptr) {
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
  }
}

pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path) {
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    PrepareChild(log_path.empty() ? nullptr : log_path.c_str(), parent);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

uint16_t Crc16Xmodem(absl::string_view data) {
  uint16_t crc = 0;
  for (unsigned char c : data) {
    crc ^= static_cast<uint16_t>(c) << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

}  // namespace

RedisCluster::~RedisCluster() {
  StopAll();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void RedisCluster::StopAll() {
  for (Node& n : nodes_) {
    if (n.pid > 0) kill(n.pid, SIGTERM);
  }
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(3);
  for (Node& n : nodes_) {
    while (n.pid > 0 && Clock::now() < deadline) {
      if (waitpid(n.pid, nullptr, WNOHANG) == n.pid) {
        n.pid = -1;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (n.pid > 0) {
      kill(n.pid, SIGKILL);
      waitpid(n.pid, nullptr, 0);
      n.pid = -1;
    }
  }
}

std::string RedisCluster::address(int i) const { return absl::StrCat("127.0.0.1:", port(i)); }

std::vector<std::string> RedisCluster::seed_addresses() const {
  std::vector<std::string> out;
  for (int i = 0; i < num_nodes(); ++i) out.push_back(address(i));
  return out;
}

int RedisCluster::IndexOfPort(int port) const {
  for (int i = 0; i < num_nodes(); ++i) {
    if (nodes_[i].port == port) return i;
  }
  return -1;
}

int RedisCluster::FirstLive() const {
  for (int i = 0; i < num_nodes(); ++i) {
    if (alive(i)) return i;
  }
  return -1;
}

absl::Status RedisCluster::CheckIndex(int i) const {
  if (i < 0 || i >= num_nodes()) {
    return absl::InvalidArgumentError(absl::StrCat("no node ", i, " (", num_nodes(), " nodes)"));
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::CheckLive(int i) const {
  PANTRY_RETURN_IF_ERROR(CheckIndex(i));
  if (!alive(i)) return absl::FailedPreconditionError(absl::StrCat("node ", i, " is not running"));
  return absl::OkStatus();
}

absl::Status RedisCluster::Launch(int i) {
  Node& n = nodes_[i];
  const std::string log_path = n.dir + "/redis.log";
  // clang-format off
  const std::vector<std::string> args = {
      "redis-server",
      "--port", std::to_string(n.port),
      "--bind", "127.0.0.1",
      "--cluster-enabled", "yes",
      "--cluster-config-file", n.dir + "/nodes.conf",
      "--cluster-node-timeout", std::to_string(node_timeout_ms_),
      "--cluster-port", std::to_string(n.bus_port),
      "--save", "",
      "--appendonly", "no",
      "--dir", n.dir,
      "--daemonize", "no",
      "--loglevel", "warning",
      "--logfile", log_path,
      // A master otherwise waits 5 s for more replicas before a full sync.
      "--repl-diskless-sync-delay", "0",
  };
  // clang-format on
  n.pid = Spawn(args, log_path);
  if (n.pid < 0) {
    n.pid = -1;
    return absl::InternalError("fork failed");
  }
  // Up only when the server on the port is our child: a stranger that grabbed
  // the port in the meantime must not be mistaken for it.
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    if (waitpid(n.pid, nullptr, WNOHANG) == n.pid) {
      n.pid = -1;
      return absl::UnavailableError(absl::StrCat("redis-server for node ", i,
                                                 " exited at start (port ", n.port, ", bus ",
                                                 n.bus_port, "): ", FileTail(log_path)));
    }
    absl::StatusOr<std::string> info = QueryText(n.port, {"INFO", "server"});
    if (info.ok() && InfoField(*info, "process_id") == std::to_string(n.pid)) {
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill(i);
  return absl::DeadlineExceededError(absl::StrCat(
      "redis-server for node ", i, " did not answer within 10s: ", FileTail(log_path)));
}

absl::Status RedisCluster::RunRedisCli(const std::vector<std::string>& args,
                                       const std::string& log_name, int timeout_ms) {
  const std::string log_path = dir_ + "/" + log_name;
  std::vector<std::string> argv = {"redis-cli"};
  argv.insert(argv.end(), args.begin(), args.end());
  {
    std::ofstream log(log_path, std::ios::app);
    log << "$ " << absl::StrJoin(argv, " ") << "\n";
  }
  const pid_t pid = Spawn(argv, log_path);
  if (pid < 0) return absl::InternalError("fork failed");
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (Clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return absl::DeadlineExceededError(absl::StrCat(argv[1], " ", argv[2], " took over ",
                                                      timeout_ms, " ms: ", FileTail(log_path)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("redis-cli ", argv[1], " ", argv[2], " failed (status ",
                                            status, "): ", FileTail(log_path)));
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::Start(int masters, int replicas_per_master, int node_timeout_ms) {
  if (started_) return absl::FailedPreconditionError("RedisCluster::Start called twice");
  if (masters < 3) return absl::InvalidArgumentError("a Redis Cluster needs at least 3 masters");
  if (replicas_per_master < 0 || node_timeout_ms <= 0) {
    return absl::InvalidArgumentError("negative replicas or non-positive node timeout");
  }
  started_ = true;
  node_timeout_ms_ = node_timeout_ms;
  // A node killed mid-reply must not kill the test with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);

  char tmpl[] = "/tmp/pantry-redis-cluster-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  dir_ = tmpl;

  std::set<int> used;
  auto pick = [&used] {
    int port = PickFreePort();
    while (port <= 0 || !used.insert(port).second) port = PickFreePort();
    return port;
  };
  nodes_.resize(masters * (1 + replicas_per_master));
  for (int i = 0; i < num_nodes(); ++i) {
    Node& n = nodes_[i];
    n.dir = absl::StrCat(dir_, "/node-", i);
    std::error_code ec;
    std::filesystem::create_directories(n.dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("mkdir ", n.dir, ": ", ec.message()));
    // A port that was free a moment ago may be taken by the time redis binds
    // it: retry with fresh ports when the server exits at start.
    absl::Status status;
    for (int attempt = 0; attempt < 3; ++attempt) {
      n.port = pick();
      n.bus_port = pick();
      status = Launch(i);
      if (status.ok() || !absl::IsUnavailable(status)) break;
    }
    PANTRY_RETURN_IF_ERROR(status);
  }

  std::vector<std::string> args = {"--cluster", "create"};
  for (int i = 0; i < num_nodes(); ++i) args.push_back(address(i));
  args.insert(args.end(),
              {"--cluster-replicas", std::to_string(replicas_per_master), "--cluster-yes"});
  PANTRY_RETURN_IF_ERROR(RunRedisCli(args, "cluster-create.log", 60000));
  PANTRY_RETURN_IF_ERROR(WaitUntilHealthy(30000));
  for (int i = 0; i < num_nodes(); ++i) PANTRY_RETURN_IF_ERROR(NodeId(i).status());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> RedisCluster::SlotMapOf(int i) {
  PANTRY_RETURN_IF_ERROR(CheckLive(i));
  PANTRY_ASSIGN_OR_RETURN(Reply reply, Query(port(i), {"CLUSTER", "SLOTS"}));
  std::vector<int> owners(kNumSlots, -1);
  if (reply->type != REDIS_REPLY_ARRAY) return absl::InternalError("CLUSTER SLOTS: not an array");
  for (size_t r = 0; r < reply->elements; ++r) {
    const redisReply* range = reply->element[r];
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
        range->element[0]->type != REDIS_REPLY_INTEGER ||
        range->element[1]->type != REDIS_REPLY_INTEGER ||
        range->element[2]->type != REDIS_REPLY_ARRAY || range->element[2]->elements < 2 ||
        range->element[2]->element[1]->type != REDIS_REPLY_INTEGER) {
      return absl::InternalError(absl::StrCat("CLUSTER SLOTS: unexpected entry ", r));
    }
    const long long first = range->element[0]->integer;
    const long long last = range->element[1]->integer;
    const int owner = IndexOfPort(static_cast<int>(range->element[2]->element[1]->integer));
    for (long long s = std::max(0LL, first); s <= last && s < kNumSlots; ++s) owners[s] = owner;
  }
  return owners;
}

absl::StatusOr<std::vector<int>> RedisCluster::SlotMap() {
  const int node = FirstLive();
  if (node < 0) return absl::FailedPreconditionError("no node is running");
  return SlotMapOf(node);
}

absl::StatusOr<int> RedisCluster::MasterOfSlot(int slot) {
  if (slot < 0 || slot >= kNumSlots) return absl::InvalidArgumentError("slot out of range");
  PANTRY_ASSIGN_OR_RETURN(std::vector<int> owners, SlotMap());
  if (owners[slot] < 0) return absl::NotFoundError(absl::StrCat("slot ", slot, " is not served"));
  return owners[slot];
}

std::vector<int> RedisCluster::Masters() {
  std::vector<int> out;
  for (int i = 0; i < num_nodes(); ++i) {
    if (!alive(i)) continue;
    absl::StatusOr<Reply> role = Query(port(i), {"ROLE"});
    if (role.ok() && (*role)->type == REDIS_REPLY_ARRAY && (*role)->elements > 0 &&
        ReplyText((*role)->element[0]) == "master") {
      out.push_back(i);
    }
  }
  return out;
}

absl::StatusOr<std::vector<int>> RedisCluster::ReplicasOf(int master) {
  PANTRY_ASSIGN_OR_RETURN(std::string master_id, NodeId(master));
  const int node = FirstLive();
  if (node < 0) return absl::FailedPreconditionError("no node is running");
  PANTRY_ASSIGN_OR_RETURN(std::string text, QueryText(port(node), {"CLUSTER", "NODES"}));
  std::vector<int> out;
  for (const NodeLine& line : ParseClusterNodes(text)) {
    if (line.master_id == master_id && HasFlag(line.flags, "slave")) {
      const int index = IndexOfPort(line.port);
      if (index >= 0) out.push_back(index);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::string> RedisCluster::NodeId(int i) {
  PANTRY_RETURN_IF_ERROR(CheckIndex(i));
  if (!nodes_[i].id.empty()) return nodes_[i].id;
  PANTRY_RETURN_IF_ERROR(CheckLive(i));
  PANTRY_ASSIGN_OR_RETURN(nodes_[i].id, QueryText(port(i), {"CLUSTER", "MYID"}));
  return nodes_[i].id;
}

absl::Status RedisCluster::Command(int i, const std::vector<std::string>& args, std::string* out) {
  PANTRY_RETURN_IF_ERROR(CheckLive(i));
  absl::StatusOr<Reply> reply = Query(port(i), args);
  if (out != nullptr) {
    if (reply.ok()) {
      *out = ReplyText(reply->get());
    } else if (absl::IsFailedPrecondition(reply.status())) {
      *out = std::string(reply.status().message());
    }
  }
  return reply.status();
}

absl::Status RedisCluster::CommandAfter(int i, const std::string& first,
                                        const std::vector<std::string>& args, std::string* out) {
  PANTRY_RETURN_IF_ERROR(CheckLive(i));
  absl::StatusOr<Reply> reply = QuerySequence(port(i), {{first}, args});
  if (out != nullptr) {
    if (reply.ok()) {
      *out = ReplyText(reply->get());
    } else if (absl::IsFailedPrecondition(reply.status())) {
      *out = std::string(reply.status().message());
    }
  }
  return reply.status();
}

absl::Status RedisCluster::CommandAsking(int i, const std::vector<std::string>& args,
                                         std::string* out) {
  return CommandAfter(i, "ASKING", args, out);
}

absl::Status RedisCluster::CommandReadonly(int i, const std::vector<std::string>& args,
                                           std::string* out) {
  return CommandAfter(i, "READONLY", args, out);
}

int RedisCluster::KeySlot(absl::string_view key) {
  const size_t open = key.find('{');
  if (open != absl::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != absl::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16Xmodem(key) & (kNumSlots - 1);
}

absl::StatusOr<int> RedisCluster::ServerKeySlot(const std::string& key) {
  const int node = FirstLive();
  if (node < 0) return absl::FailedPreconditionError("no node is running");
  PANTRY_ASSIGN_OR_RETURN(Reply reply, Query(port(node), {"CLUSTER", "KEYSLOT", key}));
  if (reply->type != REDIS_REPLY_INTEGER) return absl::InternalError("CLUSTER KEYSLOT: no integer");
  return static_cast<int>(reply->integer);
}

void RedisCluster::Kill(int i) {
  if (!CheckIndex(i).ok() || nodes_[i].pid <= 0) return;
  kill(nodes_[i].pid, SIGKILL);
  waitpid(nodes_[i].pid, nullptr, 0);
  nodes_[i].pid = -1;
}

absl::Status RedisCluster::Restart(int i) {
  PANTRY_RETURN_IF_ERROR(CheckIndex(i));
  if (!started_) return absl::FailedPreconditionError("cluster not started");
  if (alive(i)) return absl::FailedPreconditionError(absl::StrCat("node ", i, " is running"));
  return Launch(i);
}

absl::Status RedisCluster::CheckHealthy() {
  std::vector<int> reference;
  int reference_node = -1;
  // Roles as the first node sees them ("<index> master" or "<index> slave
  // of <index>", live nodes only, sorted): every node must see the same,
  // and every replica must be one by its own account.
  std::vector<std::string> reference_roles;
  for (int i = 0; i < num_nodes(); ++i) {
    if (!alive(i)) continue;
    PANTRY_ASSIGN_OR_RETURN(std::string info, QueryText(port(i), {"CLUSTER", "INFO"}));
    const std::string state = InfoField(info, "cluster_state");
    if (state != "ok") {
      return absl::UnavailableError(absl::StrCat("node ", i, " says cluster_state:", state));
    }

    PANTRY_ASSIGN_OR_RETURN(std::vector<int> owners, SlotMapOf(i));
    for (int s = 0; s < kNumSlots; ++s) {
      if (owners[s] < 0 || !alive(owners[s])) {
        return absl::UnavailableError(
            absl::StrCat("node ", i, " sees slot ", s, " served by ",
                         owners[s] < 0 ? "no known node" : absl::StrCat("dead node ", owners[s])));
      }
    }
    if (reference_node < 0) {
      reference = std::move(owners);
      reference_node = i;
    } else if (owners != reference) {
      int s = 0;
      while (owners[s] == reference[s]) ++s;
      return absl::UnavailableError(absl::StrCat("node ", i, " sees slot ", s, " on node ",
                                                 owners[s], ", node ", reference_node, " on node ",
                                                 reference[s]));
    }

    PANTRY_ASSIGN_OR_RETURN(std::string nodes_text, QueryText(port(i), {"CLUSTER", "NODES"}));
    const std::vector<NodeLine> lines = ParseClusterNodes(nodes_text);
    if (static_cast<int>(lines.size()) != num_nodes()) {
      return absl::UnavailableError(
          absl::StrCat("node ", i, " knows ", lines.size(), " nodes, not ", num_nodes()));
    }
    std::vector<std::string> roles;
    for (const NodeLine& line : lines) {
      const int index = IndexOfPort(line.port);
      if (index < 0) {
        return absl::UnavailableError(
            absl::StrCat("node ", i, " knows a stranger on port ", line.port));
      }
      if (!alive(index)) continue;
      if (HasFlag(line.flags, "slave")) {
        int master_index = -1;
        for (const NodeLine& other : lines) {
          if (other.id == line.master_id) master_index = IndexOfPort(other.port);
        }
        roles.push_back(absl::StrCat(index, " slave of ", master_index));
      } else {
        roles.push_back(absl::StrCat(index, " master"));
      }
      for (absl::string_view bad : {"fail", "fail?", "handshake", "noaddr"}) {
        if (HasFlag(line.flags, bad)) {
          return absl::UnavailableError(
              absl::StrCat("node ", i, " flags live node ", index, " ", line.flags));
        }
      }
    }

    std::sort(roles.begin(), roles.end());
    if (reference_roles.empty()) {
      reference_roles = roles;
    } else if (roles != reference_roles) {
      return absl::UnavailableError(absl::StrCat("node ", i, " sees the roles as [",
                                                 absl::StrJoin(roles, ", "), "], node ",
                                                 reference_node, " as [",
                                                 absl::StrJoin(reference_roles, ", "), "]"));
    }

    PANTRY_ASSIGN_OR_RETURN(std::string replication, QueryText(port(i), {"INFO", "replication"}));
    const bool replica = InfoField(replication, "role") == "slave";
    if (replica && InfoField(replication, "master_link_status") != "up") {
      return absl::UnavailableError(absl::StrCat(
          "replica ", i, " has master_link_status:", InfoField(replication, "master_link_status")));
    }
    const std::string as_replica = absl::StrCat(i, " slave of ");
    bool seen_as_replica = false;
    for (const std::string& r : reference_roles) seen_as_replica |= absl::StartsWith(r, as_replica);
    if (replica != seen_as_replica) {
      return absl::UnavailableError(absl::StrCat("node ", i, " is a ", replica ? "replica" : "master",
                                                 " but the cluster does not see it as one yet"));
    }
  }
  if (reference_node < 0) return absl::FailedPreconditionError("no node is running");
  return absl::OkStatus();
}

absl::Status RedisCluster::WaitUntilHealthy(int timeout_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    absl::Status status = CheckHealthy();
    if (status.ok() || absl::IsFailedPrecondition(status)) return status;
    if (Clock::now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("cluster not healthy after ", timeout_ms, " ms: ", status.message()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

absl::Status RedisCluster::Reshard(int from_node, int to_node, int num_slots) {
  PANTRY_RETURN_IF_ERROR(CheckLive(from_node));
  PANTRY_RETURN_IF_ERROR(CheckLive(to_node));
  if (num_slots <= 0) return absl::InvalidArgumentError("num_slots must be positive");
  PANTRY_ASSIGN_OR_RETURN(std::string from_id, NodeId(from_node));
  PANTRY_ASSIGN_OR_RETURN(std::string to_id, NodeId(to_node));
  // redis-cli refuses to reshard while nodes disagree about the config.
  PANTRY_RETURN_IF_ERROR(WaitUntilHealthy(30000));
  PANTRY_RETURN_IF_ERROR(RunRedisCli(
      {"--cluster", "reshard", address(to_node), "--cluster-from", from_id, "--cluster-to", to_id,
       "--cluster-slots", std::to_string(num_slots), "--cluster-yes"},
      absl::StrCat("reshard-", ++reshards_, ".log"), 120000));
  return WaitUntilHealthy(30000);
}

absl::Status RedisCluster::BeginSlotMigration(int slot, int from, int to) {
  if (slot < 0 || slot >= kNumSlots) return absl::InvalidArgumentError("slot out of range");
  PANTRY_RETURN_IF_ERROR(CheckLive(from));
  PANTRY_RETURN_IF_ERROR(CheckLive(to));
  if (from == to) return absl::InvalidArgumentError("migration from a node to itself");
  PANTRY_ASSIGN_OR_RETURN(std::vector<int> owners, SlotMapOf(from));
  if (owners[slot] != from) {
    return absl::FailedPreconditionError(
        absl::StrCat("slot ", slot, " is served by node ", owners[slot], ", not node ", from));
  }
  PANTRY_ASSIGN_OR_RETURN(std::string from_id, NodeId(from));
  PANTRY_ASSIGN_OR_RETURN(std::string to_id, NodeId(to));
  // Importing first, as redis-cli does: a client sent to `to` by an ASK must
  // find it ready.
  PANTRY_RETURN_IF_ERROR(
      Query(port(to), {"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", from_id}).status());
  return Query(port(from), {"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", to_id})
      .status();
}

absl::StatusOr<int> RedisCluster::MigrateSomeKeys(int slot, int from, int to, int count) {
  if (slot < 0 || slot >= kNumSlots) return absl::InvalidArgumentError("slot out of range");
  if (count <= 0) return absl::InvalidArgumentError("count must be positive");
  PANTRY_RETURN_IF_ERROR(CheckLive(from));
  PANTRY_RETURN_IF_ERROR(CheckLive(to));
  PANTRY_ASSIGN_OR_RETURN(
      Reply keys,
      Query(port(from), {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), std::to_string(count)}));
  if (keys->type != REDIS_REPLY_ARRAY) return absl::InternalError("GETKEYSINSLOT: not an array");
  if (keys->elements == 0) return 0;
  std::vector<std::string> migrate = {"MIGRATE", "127.0.0.1", std::to_string(port(to)), "", "0",
                                      "5000",    "KEYS"};
  for (size_t k = 0; k < keys->elements; ++k) {
    migrate.emplace_back(keys->element[k]->str, keys->element[k]->len);
  }
  PANTRY_RETURN_IF_ERROR(Query(port(from), migrate).status());
  return static_cast<int>(keys->elements);
}

absl::Status RedisCluster::MigrateKeysAndFinish(int slot, int from, int to) {
  for (;;) {
    PANTRY_ASSIGN_OR_RETURN(int moved, MigrateSomeKeys(slot, from, to, 100));
    if (moved == 0) break;
  }
  PANTRY_ASSIGN_OR_RETURN(std::string to_id, NodeId(to));
  const std::vector<std::string> setslot = {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE",
                                            to_id};
  // The target first (it bumps its config epoch and owns the slot), then the
  // source (which stops answering ASK), then the rest so that nobody waits
  // for gossip.
  PANTRY_RETURN_IF_ERROR(Query(port(to), setslot).status());
  PANTRY_RETURN_IF_ERROR(Query(port(from), setslot).status());
  for (int m : Masters()) {
    if (m == to || m == from) continue;
    PANTRY_RETURN_IF_ERROR(Query(port(m), setslot).status());
  }
  return WaitUntilHealthy(30000);
}

}  // namespace pantry::testing
