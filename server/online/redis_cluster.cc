#include "server/online/redis_cluster.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/log.h"
#include "server/common/status.h"
#include "server/common/sigpipe.h"
#include "server/online/redis_scripts.h"
#include "server/online/resp.h"

namespace pantry::internal {
namespace {

// A node whose connect failed is not tried again for this long: its
// commands fail fast and wait for the slot map to move on.
constexpr Micros kNodeRetryInterval = 100'000;
// The slot map is refreshed at most this often unless forced.
constexpr Micros kRefreshInterval = 50'000;

uint16_t Crc16(absl::string_view s) {
  // CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as the Redis
  // Cluster specification gives it.
  static const auto kTable = [] {
    std::array<uint16_t, 256> table{};
    for (int i = 0; i < 256; ++i) {
      uint16_t crc = static_cast<uint16_t>(i << 8);
      for (int b = 0; b < 8; ++b) {
        crc = static_cast<uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
      }
      table[i] = crc;
    }
    return table;
  }();
  uint16_t crc = 0;
  for (unsigned char c : s) {
    crc = static_cast<uint16_t>((crc << 8) ^ kTable[((crc >> 8) ^ c) & 0xff]);
  }
  return crc;
}

std::string Sha1Hex(absl::string_view text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

// "host:port" into its parts; false when malformed. An empty host stays
// empty (a node that does not know its address).
bool SplitAddress(absl::string_view address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return false;
  if (!absl::SimpleAtoi(address.substr(colon + 1), port) || *port <= 0 || *port > 65535) {
    return false;
  }
  *host = std::string(address.substr(0, colon));
  return true;
}

// The metric label of a redirecting or retry reply, or "" for any other.
absl::string_view RedirectKind(absl::string_view text) {
  static constexpr std::pair<absl::string_view, absl::string_view> kKinds[] = {
      {"MOVED ", "moved"},          {"ASK ", "ask"},         {"TRYAGAIN", "tryagain"},
      {"CLUSTERDOWN", "clusterdown"}, {"LOADING", "loading"}, {"MASTERDOWN", "masterdown"}};
  for (const auto& [prefix, kind] : kKinds) {
    if (absl::StartsWith(text, prefix)) return kind;
  }
  return {};
}

}  // namespace

int KeySlot(absl::string_view key) {
  const size_t open = key.find('{');
  if (open != absl::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != absl::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) & (kClusterSlots - 1);
}

absl::StatusOr<std::vector<SlotRange>> ParseClusterSlots(const redisReply& reply,
                                                         absl::string_view asked_host) {
  if (reply.type != REDIS_REPLY_ARRAY) {
    return absl::InternalError("CLUSTER SLOTS: not an array");
  }
  std::vector<SlotRange> out;
  for (size_t i = 0; i < reply.elements; ++i) {
    const redisReply& range = *reply.element[i];
    if (range.type != REDIS_REPLY_ARRAY || range.elements < 3 ||
        range.element[0]->type != REDIS_REPLY_INTEGER ||
        range.element[1]->type != REDIS_REPLY_INTEGER ||
        range.element[2]->type != REDIS_REPLY_ARRAY || range.element[2]->elements < 2) {
      return absl::InternalError(absl::StrCat("CLUSTER SLOTS: malformed range ", i));
    }
    const redisReply& master = *range.element[2];
    if (master.element[0]->type != REDIS_REPLY_STRING ||
        master.element[1]->type != REDIS_REPLY_INTEGER) {
      return absl::InternalError(absl::StrCat("CLUSTER SLOTS: malformed master of range ", i));
    }
    SlotRange r;
    r.first = static_cast<int>(range.element[0]->integer);
    r.last = static_cast<int>(range.element[1]->integer);
    r.host = std::string(ReplyText(*master.element[0]));
    if (r.host.empty() || r.host == "?") r.host = std::string(asked_host);
    r.port = static_cast<int>(master.element[1]->integer);
    if (r.first < 0 || r.last >= kClusterSlots || r.first > r.last || r.port <= 0 ||
        r.port > 65535) {
      return absl::InternalError(
          absl::StrCat("CLUSTER SLOTS: range ", r.first, "-", r.last, " port ", r.port));
    }
    out.push_back(std::move(r));
  }
  return out;
}

// One master (or a node a redirection named) and its idle connections.
struct ClusterRouter::Node {
  std::string address;  // host:port
  RedisSettings settings;
  OnlineStoreObserver::Node* observer = nullptr;

  std::mutex mu;
  std::vector<Context> idle;  // guarded by mu
  Micros retry_at = 0;        // guarded by mu: no connect before then
  absl::Status connect_error;  // guarded by mu: why the last connect failed
  bool ever_connected = false;  // guarded by mu
};

// The commands of one round for one node.
struct ClusterRouter::Pipeline {
  Node* node = nullptr;
  std::vector<ClusterCommand*> commands;
  std::vector<bool> asking;  // per command: ASKING was sent before it
  Context connection;
};

ClusterRouter::ClusterRouter(ClusterSettings settings, OnlineStoreObserver* observer)
    : settings_(std::move(settings)),
      observer_(observer),
      row_script_sha_(Sha1Hex(kRowWriteScript)),
      slots_(new std::atomic<Node*>[kClusterSlots]) {
  for (int s = 0; s < kClusterSlots; ++s) slots_[s].store(nullptr, std::memory_order_relaxed);
  for (const auto& [host, port] : settings_.seeds) NodeFor(host, port);
}

ClusterRouter::~ClusterRouter() = default;

ClusterRouter::Node* ClusterRouter::NodeFor(absl::string_view host, int port) {
  std::lock_guard<std::mutex> lock(nodes_mu_);
  for (const auto& node : nodes_) {
    if (node->settings.port == port && node->settings.host == host) return node.get();
  }
  auto node = std::make_unique<Node>();
  node->address = absl::StrCat(host, ":", port);
  node->settings = settings_.node;
  node->settings.host = std::string(host);
  node->settings.port = port;
  node->settings.db = 0;
  node->settings.project.clear();
  node->settings.where = absl::StrCat("redis cluster node ", node->address,
                                      node->settings.tls != nullptr ? " (TLS)" : "");
  if (observer_ != nullptr) node->observer = observer_->ForNode(node->address);
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

ClusterRouter::Node* ClusterRouter::NodeFor(absl::string_view address) {
  std::string host;
  int port = 0;
  if (!SplitAddress(address, &host, &port) || host.empty()) return nullptr;
  return NodeFor(host, port);
}

absl::StatusOr<Context> ClusterRouter::Take(Node* node) {
  {
    std::lock_guard<std::mutex> lock(node->mu);
    if (!node->idle.empty()) {
      Context c = std::move(node->idle.back());
      node->idle.pop_back();
      return c;
    }
    if (!node->connect_error.ok() && NowMicros() < node->retry_at) return node->connect_error;
  }
  std::string sha;
  absl::StatusOr<Context> opened = OpenRedis(node->settings, &sha);
  std::lock_guard<std::mutex> lock(node->mu);
  if (!opened.ok()) {
    if (node->connect_error.ok()) {
      spdlog::warn("{}: cannot connect: {}", node->settings.where,
                   std::string(opened.status().message()));
    }
    node->connect_error = opened.status();
    node->retry_at = NowMicros() + kNodeRetryInterval;
    if (node->observer != nullptr) node->observer->OnConnectFailed();
    return opened.status();
  }
  if (node->observer != nullptr) {
    node->observer->OnConnected(node->ever_connected || !node->connect_error.ok());
  }
  if (!node->connect_error.ok()) spdlog::info("{}: connected", node->settings.where);
  node->ever_connected = true;
  node->connect_error = absl::OkStatus();
  return opened;
}

void ClusterRouter::Give(Node* node, Context context) {
  if (context == nullptr) return;
  std::lock_guard<std::mutex> lock(node->mu);
  node->idle.push_back(std::move(context));
}

absl::StatusOr<std::vector<SlotRange>> ClusterRouter::AskSlots(Node* node) {
  PANTRY_ASSIGN_OR_RETURN(Context c, Take(node));
  absl::StatusOr<Reply> reply = RunCommand(c.get(), node->settings, {"CLUSTER", "SLOTS"},
                                           "CLUSTER SLOTS");
  if (!reply.ok()) {
    if (c->err() != 0 && node->observer != nullptr) node->observer->OnDisconnected();
    if (c->err() == 0) Give(node, std::move(c));
    return reply.status();
  }
  Give(node, std::move(c));
  absl::StatusOr<std::vector<SlotRange>> ranges = ParseClusterSlots(**reply, node->settings.host);
  if (!ranges.ok()) {
    return absl::UnavailableError(absl::StrCat(node->settings.where, ": ", ranges.status().message()));
  }
  return ranges;
}

absl::Status ClusterRouter::RefreshSlots(bool force) {
  const Micros now = NowMicros();
  if (!force && now - last_refresh_.load(std::memory_order_relaxed) < kRefreshInterval) {
    return absl::OkStatus();
  }
  std::unique_lock<std::mutex> refreshing(refresh_mu_, std::try_to_lock);
  if (!refreshing.owns_lock()) {
    if (!force) return absl::OkStatus();  // another thread is refreshing
    refreshing.lock();                    // wait for it: its map is as fresh
    if (have_map_.load(std::memory_order_acquire)) return absl::OkStatus();
  }
  // Masters of the current map first, then every other node known.
  std::vector<Node*> candidates;
  for (int s = 0; s < kClusterSlots; ++s) {
    Node* n = slots_[s].load(std::memory_order_relaxed);
    if (n != nullptr && std::find(candidates.begin(), candidates.end(), n) == candidates.end()) {
      candidates.push_back(n);
    }
  }
  {
    std::lock_guard<std::mutex> lock(nodes_mu_);
    for (const auto& n : nodes_) {
      if (std::find(candidates.begin(), candidates.end(), n.get()) == candidates.end()) {
        candidates.push_back(n.get());
      }
    }
  }
  absl::Status last;
  for (Node* node : candidates) {
    absl::StatusOr<std::vector<SlotRange>> ranges = AskSlots(node);
    if (!ranges.ok()) {
      last = ranges.status();
      continue;
    }
    std::vector<Node*> table(kClusterSlots, nullptr);
    for (const SlotRange& r : *ranges) {
      Node* master = NodeFor(r.host, r.port);
      for (int s = r.first; s <= r.last; ++s) table[s] = master;
    }
    for (int s = 0; s < kClusterSlots; ++s) slots_[s].store(table[s], std::memory_order_release);
    last_refresh_.store(NowMicros(), std::memory_order_relaxed);
    have_map_.store(true, std::memory_order_release);
    if (observer_ != nullptr) observer_->OnSlotMapRefresh(true);
    return absl::OkStatus();
  }
  last_refresh_.store(NowMicros(), std::memory_order_relaxed);
  if (observer_ != nullptr) observer_->OnSlotMapRefresh(false);
  std::vector<std::string> tried;
  for (Node* n : candidates) tried.push_back(n->address);
  return absl::UnavailableError(absl::StrCat("redis cluster: no node answered CLUSTER SLOTS (tried ",
                                             absl::StrJoin(tried, ", "), "): ", last.message()));
}

std::string ClusterRouter::MasterOf(int slot) {
  Node* n = slots_[slot].load(std::memory_order_acquire);
  return n == nullptr ? std::string() : n->address;
}

Micros ClusterRouter::Backoff(int attempt) {
  return std::min<Micros>(100'000, Micros{5'000} << std::min(attempt, 5));
}

ClusterRouter::Progress ClusterRouter::Round(RoundState* state) {
  const SigpipeGuard no_sigpipe;
  if (!have_map_.load(std::memory_order_acquire)) {
    if (absl::Status s = RefreshSlots(/*force=*/true); !s.ok()) {
      state->last_error = std::move(s);
      return Progress::kRetryLater;
    }
  }
  std::vector<ClusterCommand*> again_now;
  std::vector<ClusterCommand*> again_later;
  bool refresh = false;

  // Group by node.
  std::vector<Pipeline> pipelines;
  for (ClusterCommand* cmd : state->pending) {
    Node* node = cmd->ask.empty() ? slots_[cmd->slot].load(std::memory_order_acquire)
                                  : NodeFor(cmd->ask);
    if (node == nullptr) {
      state->last_error = absl::UnavailableError(
          absl::StrCat("redis cluster: no master serves slot ", cmd->slot));
      again_later.push_back(cmd);
      refresh = true;
      continue;
    }
    auto it = std::find_if(pipelines.begin(), pipelines.end(),
                           [&](const Pipeline& p) { return p.node == node; });
    if (it == pipelines.end()) {
      pipelines.emplace_back();
      pipelines.back().node = node;
      it = pipelines.end() - 1;
    }
    it->commands.push_back(cmd);
    it->asking.push_back(!cmd->ask.empty());
    cmd->ask.clear();  // ASK holds for one attempt
  }

  // Send every pipeline, then read every reply.
  std::string buffer;
  const std::string wait_command =
      state->wait ? absl::StrCat("*3\r\n$4\r\nWAIT\r\n$", std::to_string(settings_.wait_replicas).size(),
                                 "\r\n", settings_.wait_replicas, "\r\n$",
                                 std::to_string(settings_.wait_timeout / 1000).size(), "\r\n",
                                 settings_.wait_timeout / 1000, "\r\n")
                  : std::string();
  auto fail_pipeline = [&](Pipeline& p, size_t from, absl::Status status) {
    for (size_t i = from; i < p.commands.size(); ++i) again_later.push_back(p.commands[i]);
    if (p.node->observer != nullptr) {
      p.node->observer->AddPending(-static_cast<int64_t>(p.commands.size() - from));
    }
    state->last_error = std::move(status);
    refresh = true;
  };
  auto drop = [&](Pipeline& p) {
    const std::string message = p.connection->errstr();
    const absl::Status status = absl::UnavailableError(absl::StrCat(p.node->settings.where, ": ", message));
    spdlog::warn("{}: disconnected: {}", p.node->settings.where, message);
    if (p.node->observer != nullptr) p.node->observer->OnDisconnected();
    p.connection.reset();
    return status;
  };
  for (Pipeline& p : pipelines) {
    if (p.node->observer != nullptr) {
      p.node->observer->AddPending(static_cast<int64_t>(p.commands.size()));
    }
    absl::StatusOr<Context> c = Take(p.node);
    if (!c.ok()) {
      fail_pipeline(p, 0, c.status());
      continue;
    }
    p.connection = std::move(*c);
    buffer.clear();
    for (size_t i = 0; i < p.commands.size(); ++i) {
      if (p.asking[i]) buffer.append("*1\r\n$6\r\nASKING\r\n");
      const ClusterCommand& cmd = *p.commands[i];
      buffer.append(cmd.resp);
    }
    buffer.append(wait_command);
    if (!p.connection->Append(buffer) || !p.connection->Flush()) {
      fail_pipeline(p, 0, drop(p));
      continue;
    }
    if (p.node->observer != nullptr) {
      p.node->observer->OnRequestsSent(static_cast<int64_t>(p.commands.size()));
    }
  }
  for (Pipeline& p : pipelines) {
    if (p.connection == nullptr) continue;
    auto get = [&](Reply* out) {
      redisReply* r = nullptr;
      if (!p.connection->GetReply(&r)) return false;
      out->reset(r);
      return true;
    };
    bool broken = false;
    for (size_t i = 0; i < p.commands.size() && !broken; ++i) {
      ClusterCommand* cmd = p.commands[i];
      Reply reply;
      if (p.asking[i] && !get(&reply)) broken = true;  // ASKING's +OK
      if (broken || !get(&reply)) {
        fail_pipeline(p, i, drop(p));
        broken = true;
        break;
      }
      if (p.node->observer != nullptr) p.node->observer->AddPending(-1);
      if (reply->type != REDIS_REPLY_ERROR) {
        cmd->reply = std::move(reply);
        continue;
      }
      const absl::string_view text = ReplyText(*reply);
      const bool moved = absl::StartsWith(text, "MOVED ");
      const bool ask = absl::StartsWith(text, "ASK ");
      if (p.node->observer != nullptr) {
        if (absl::string_view kind = RedirectKind(text); !kind.empty()) {
          p.node->observer->OnClusterReply(kind);
        }
      }
      if ((moved || ask) && cmd->redirects < kMaxRedirects) {
        ++cmd->redirects;
        // "MOVED <slot> <host>:<port>"; an empty host is the node asked.
        const size_t space = text.rfind(' ');
        std::string host;
        int port = 0;
        if (space != absl::string_view::npos && SplitAddress(text.substr(space + 1), &host, &port)) {
          if (host.empty()) host = p.node->settings.host;
          Node* target = NodeFor(host, port);
          if (moved) {
            slots_[cmd->slot].store(target, std::memory_order_release);
            refresh = true;
          } else {
            cmd->ask = target->address;
          }
          again_now.push_back(cmd);
          continue;
        }
      }
      if (absl::StartsWith(text, "TRYAGAIN") && cmd->splitter != nullptr && cmd->children.empty()) {
        for (std::string& one : cmd->splitter->Split(cmd->split_index)) {
          cmd->children.emplace_back();
          cmd->children.back().slot = cmd->slot;
          cmd->children.back().resp = std::move(one);
        }
        for (ClusterCommand& child : cmd->children) again_now.push_back(&child);
        continue;
      }
      if (absl::StartsWith(text, "TRYAGAIN") || absl::StartsWith(text, "CLUSTERDOWN") ||
          absl::StartsWith(text, "LOADING") || absl::StartsWith(text, "MASTERDOWN")) {
        state->last_error =
            absl::UnavailableError(absl::StrCat(p.node->settings.where, ": ", text));
        refresh = refresh || !absl::StartsWith(text, "TRYAGAIN");
        again_later.push_back(cmd);
        continue;
      }
      if (absl::StartsWith(text, "NOSCRIPT") && cmd->splitter != nullptr && !cmd->fell_back) {
        std::string fallback = cmd->splitter->Fallback(cmd->split_index);
        if (!fallback.empty()) {
          cmd->fell_back = true;
          cmd->resp = std::move(fallback);
          again_now.push_back(cmd);
          continue;
        }
      }
      cmd->reply = std::move(reply);  // a final error reply
    }
    if (broken) continue;
    if (state->wait) {
      Reply reply;
      if (!get(&reply)) {
        // Every command has its reply; only the WAIT is lost.
        state->wait_error = drop(p);
        continue;
      }
      if (reply->type != REDIS_REPLY_INTEGER || reply->integer < settings_.wait_replicas) {
        state->wait_error = absl::UnavailableError(absl::StrCat(
            p.node->settings.where, ": the writes reached ",
            reply->type == REDIS_REPLY_INTEGER ? std::to_string(reply->integer)
                                               : std::string(ReplyText(*reply)),
            " of the ", settings_.wait_replicas, " replicas wait_replicas asks for within ",
            settings_.wait_timeout / 1000,
            " ms; they are applied on the master but a failover may lose them"));
      }
    }
    Give(p.node, std::move(p.connection));
  }
  if (refresh) (void)RefreshSlots(/*force=*/false);
  state->pending.clear();
  state->pending.insert(state->pending.end(), again_now.begin(), again_now.end());
  state->pending.insert(state->pending.end(), again_later.begin(), again_later.end());
  if (state->pending.empty()) return Progress::kDone;
  return again_later.empty() ? Progress::kRetryNow : Progress::kRetryLater;
}

absl::Status ClusterRouter::Finish(const RoundState& state, bool deadline_passed) {
  if (deadline_passed && !state.pending.empty()) {
    if (!state.last_error.ok()) {
      return absl::Status(state.last_error.code(),
                          absl::StrCat(state.last_error.message(), " (retried until the deadline)"));
    }
    return absl::DeadlineExceededError("redis cluster: the deadline passed before every reply came");
  }
  return state.wait_error;
}

absl::Status ClusterRouter::Execute(const std::vector<ClusterCommand*>& commands, Micros deadline,
                                    bool wait) {
  RoundState state;
  state.wait = wait;
  state.pending = commands;
  while (true) {
    const Micros now = NowMicros();
    if (now >= deadline) return Finish(state, /*deadline_passed=*/true);
    const Progress progress = Round(&state);
    if (progress == Progress::kDone) return Finish(state, false);
    if (progress == Progress::kRetryLater) {
      const Micros pause = std::min(Backoff(state.attempt++), deadline - NowMicros());
      if (pause > 0) std::this_thread::sleep_for(std::chrono::microseconds(pause));
    }
  }
}

}  // namespace pantry::internal
