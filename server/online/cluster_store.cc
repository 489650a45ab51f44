#include "server/online/cluster_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/common/time.h"
#include "server/online/redis_cluster.h"
#include "server/online/redis_conn.h"
#include "server/online/redis_scripts.h"
#include "server/online/resp.h"

namespace pantry {
namespace {

using internal::AppendArrayHeader;
using internal::AppendBulk;
using internal::AppendNumber;
using internal::ClusterCommand;
using internal::ClusterRouter;
using internal::KeySlot;

// Keys one EVALSHA of the write script covers (all of one slot).
constexpr size_t kWritesPerScript = 64;
// Keys one MGET covers (all of one slot).
constexpr size_t kReadsPerMget = 512;
// A refused layout is checked again this often.
constexpr Micros kLayoutRecheckInterval = 2'000'000;

constexpr absl::string_view kWhere = "redis cluster";

// Entries [0, n) grouped by slot: `order` lists them slot by slot, and
// `groups` gives each group's [begin, end) in `order`, at most `max` long.
struct SlotGroups {
  std::vector<size_t> order;
  std::vector<std::pair<size_t, size_t>> groups;
  std::vector<int> slot_of_group;
};

// "<verb> <script or SHA> n key... (ttl row)..." for the write script.
void AppendWriteScript(std::string* out, absl::string_view verb, absl::string_view script,
                       const std::vector<const ViewWrite*>& writes) {
  AppendArrayHeader(out, 3 + 3 * writes.size());
  AppendBulk(out, verb);
  AppendBulk(out, script);
  AppendNumber(out, static_cast<int64_t>(writes.size()));
  for (const ViewWrite* w : writes) AppendBulk(out, w->key);
  for (const ViewWrite* w : writes) {
    // Rounded up, so a sub-millisecond online_ttl still expires.
    const Micros ttl = w->online_ttl;
    AppendNumber(out, ttl > 0 ? (ttl + 999) / 1000 : 0);
    AppendBulk(out, w->row);
  }
}

template <typename KeyOf>
SlotGroups GroupBySlot(size_t n, size_t max, const KeyOf& key_of) {
  std::vector<std::pair<int, size_t>> keyed(n);
  for (size_t i = 0; i < n; ++i) keyed[i] = {KeySlot(key_of(i)), i};
  std::sort(keyed.begin(), keyed.end());
  SlotGroups out;
  out.order.reserve(n);
  for (size_t i = 0; i < n; ++i) out.order.push_back(keyed[i].second);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && j - i < max && keyed[j].first == keyed[i].first) ++j;
    out.groups.emplace_back(i, j);
    out.slot_of_group.push_back(keyed[i].first);
    i = j;
  }
  return out;
}

// One Read or Write call: its commands and its rounds, run on the caller's
// thread or a worker's.
struct Call : internal::CommandSplitter {
  virtual ~Call() = default;
  // Parses the replies and invokes the callback; exactly once.
  virtual void Complete(absl::Status status) = 0;

  std::vector<ClusterCommand> commands;
  SlotGroups groups;
  ClusterRouter::RoundState state;
  Micros deadline = 0;
};

struct ReadCall final : Call {
  std::vector<ViewRead> reads;
  ReadCallback done;

  void Complete(absl::Status status) override {
    if (!status.ok()) return done(std::move(status));
    std::vector<ViewReadResult> results(reads.size());
    for (size_t g = 0; g < commands.size(); ++g) {
      const auto [begin, end] = groups.groups[g];
      if (!commands[g].children.empty()) {  // one GET per key
        for (size_t j = 0; j < end - begin; ++j) {
          const redisReply& one = *commands[g].children[j].reply;
          if (one.type == REDIS_REPLY_ERROR) return done(internal::ErrorReplyStatus(kWhere, one));
          const size_t r = groups.order[begin + j];
          if (absl::Status s = internal::TakeRowReply(reads[r], one, kWhere, &results[r]);
              !s.ok()) {
            return done(std::move(s));
          }
        }
        continue;
      }
      const redisReply& reply = *commands[g].reply;
      if (reply.type == REDIS_REPLY_ERROR) {
        return done(internal::ErrorReplyStatus(kWhere, reply));
      }
      if (reply.type != REDIS_REPLY_ARRAY || reply.elements != end - begin) {
        return done(internal::UnexpectedReplyStatus(kWhere, "MGET", reply));
      }
      for (size_t j = 0; j < reply.elements; ++j) {
        const size_t r = groups.order[begin + j];
        if (absl::Status s = internal::TakeRowReply(reads[r], *reply.element[j], kWhere, &results[r]);
            !s.ok()) {
          return done(std::move(s));
        }
      }
    }
    done(std::move(results));
  }

  std::vector<std::string> Split(size_t g) const override {
    std::vector<std::string> out;
    const auto [begin, end] = groups.groups[g];
    for (size_t k = begin; k < end; ++k) {
      std::string& cmd = out.emplace_back();
      AppendArrayHeader(&cmd, 2);
      AppendBulk(&cmd, "GET");
      AppendBulk(&cmd, reads[groups.order[k]].key);
    }
    return out;
  }

  std::string Fallback(size_t) const override { return std::string(); }
};

struct WriteCall final : Call {
  std::vector<ViewWrite> writes;
  WriteCallback done;

  void Complete(absl::Status status) override {
    if (!status.ok()) return done(std::move(status));
    WriteResult result;
    for (size_t g = 0; g < commands.size(); ++g) {
      const auto [begin, end] = groups.groups[g];
      if (!commands[g].children.empty()) {  // one script per key
        for (size_t j = 0; j < end - begin; ++j) {
          const redisReply& one = *commands[g].children[j].reply;
          if (one.type == REDIS_REPLY_ERROR) return done(internal::ErrorReplyStatus(kWhere, one));
          if (one.type != REDIS_REPLY_ARRAY || one.elements != 1) {
            return done(internal::UnexpectedReplyStatus(kWhere, "EVAL", one));
          }
          if (absl::Status s = internal::TakeWriteOutcome(writes[groups.order[begin + j]],
                                                          groups.order[begin + j], *one.element[0], kWhere, &result);
              !s.ok()) {
            return done(std::move(s));
          }
        }
        continue;
      }
      const redisReply& reply = *commands[g].reply;
      if (reply.type == REDIS_REPLY_ERROR) {
        return done(internal::ErrorReplyStatus(kWhere, reply));
      }
      if (reply.type != REDIS_REPLY_ARRAY || reply.elements != end - begin) {
        return done(internal::UnexpectedReplyStatus(kWhere, "EVALSHA", reply));
      }
      for (size_t j = 0; j < reply.elements; ++j) {
        if (absl::Status s = internal::TakeWriteOutcome(writes[groups.order[begin + j]],
                                                        groups.order[begin + j], *reply.element[j], kWhere, &result);
            !s.ok()) {
          return done(std::move(s));
        }
      }
    }
    std::sort(result.skipped.begin(), result.skipped.end());
    done(result);
  }

  // EVAL (the script's text: the rare path needs no NOSCRIPT handling).
  std::vector<std::string> Split(size_t g) const override {
    std::vector<std::string> out;
    const auto [begin, end] = groups.groups[g];
    for (size_t k = begin; k < end; ++k) {
      const ViewWrite& write = writes[groups.order[k]];
      AppendWriteScript(&out.emplace_back(), "EVAL", kRowWriteScript, {&write});
    }
    return out;
  }

  std::string Fallback(size_t g) const override {
    std::string out;
    AppendWriteScript(&out, "EVAL", kRowWriteScript, Group(g));
    return out;
  }

  std::vector<const ViewWrite*> Group(size_t g) const {
    std::vector<const ViewWrite*> out;
    const auto [begin, end] = groups.groups[g];
    for (size_t k = begin; k < end; ++k) out.push_back(&writes[groups.order[k]]);
    return out;
  }
};

class ClusterOnlineStore final : public OnlineStore {
 public:
  ClusterOnlineStore(const OnlineStoreConfig& config, absl::string_view project,
                     OnlineStoreObserver* observer)
      : router_(RouterSettings(config, project), observer),
        project_(project),
        layout_key_(LayoutKey(project)),
        max_pending_(std::max(1, config.max_pending_requests)),
        wait_(config.wait_replicas > 0) {
    const int workers = std::max(2, 2 * config.pool_size);
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { Work(); });
  }

  ~ClusterOnlineStore() override {
    std::deque<std::shared_ptr<Call>> left;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      left.swap(queue_);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    for (auto& call : left) {
      call->Complete(absl::CancelledError("redis cluster: online store shut down"));
    }
  }

  void Read(std::vector<ViewRead> reads, Micros deadline, ReadCallback done) override {
    if (reads.empty()) return done(std::vector<ViewReadResult>());
    if (absl::Status s = EnsureLayout(deadline); !s.ok()) return done(std::move(s));
    auto call = std::make_shared<ReadCall>();
    call->reads = std::move(reads);
    call->done = std::move(done);
    call->deadline = deadline;
    const auto& r = call->reads;
    call->groups = GroupBySlot(r.size(), kReadsPerMget, [&](size_t i) { return r[i].key; });
    call->commands.resize(call->groups.groups.size());
    for (size_t g = 0; g < call->groups.groups.size(); ++g) {
      const auto [begin, end] = call->groups.groups[g];
      ClusterCommand& cmd = call->commands[g];
      cmd.slot = call->groups.slot_of_group[g];
      AppendArrayHeader(&cmd.resp, 1 + end - begin);
      AppendBulk(&cmd.resp, "MGET");
      for (size_t k = begin; k < end; ++k) AppendBulk(&cmd.resp, r[call->groups.order[k]].key);
      cmd.splitter = call.get();
      cmd.split_index = g;
    }
    Start(std::move(call), /*inline_first=*/true);
  }

  void Write(std::vector<ViewWrite> writes, Micros deadline, WriteCallback done) override {
    if (writes.empty()) return done(WriteResult());
    if (absl::Status s = CheckRows(writes); !s.ok()) return done(std::move(s));
    if (absl::Status s = EnsureLayout(deadline); !s.ok()) return done(std::move(s));
    auto call = std::make_shared<WriteCall>();
    call->writes = std::move(writes);
    call->done = std::move(done);
    call->deadline = deadline;
    call->state.wait = wait_;
    const auto& w = call->writes;
    call->groups = GroupBySlot(w.size(), kWritesPerScript, [&](size_t i) { return w[i].key; });
    call->commands.resize(call->groups.groups.size());
    for (size_t g = 0; g < call->groups.groups.size(); ++g) {
      ClusterCommand& cmd = call->commands[g];
      cmd.slot = call->groups.slot_of_group[g];
      cmd.splitter = call.get();
      cmd.split_index = g;
      AppendWriteScript(&cmd.resp, "EVALSHA", router_.row_script_sha(), call->Group(g));
    }
    Start(std::move(call), /*inline_first=*/false);
  }

  absl::Status CheckLayout(Micros deadline) override {
    return CheckLayoutNow(deadline);
  }

 private:
  static internal::ClusterSettings RouterSettings(const OnlineStoreConfig& config,
                                                  absl::string_view project) {
    internal::ClusterSettings s;
    s.seeds = config.nodes;
    s.node = internal::SettingsFor(config, project);
    s.node.project.clear();
    s.wait_replicas = config.wait_replicas;
    s.wait_timeout = config.wait_timeout;
    return s;
  }

  // Runs `call`'s rounds: here while they need no pause (when
  // `inline_first`), then on a worker.
  void Start(std::shared_ptr<Call> call, bool inline_first) {
    for (ClusterCommand& cmd : call->commands) call->state.pending.push_back(&cmd);
    if (inline_first) {
      while (true) {
        if (NowMicros() >= call->deadline) {
          return call->Complete(ClusterRouter::Finish(call->state, /*deadline_passed=*/true));
        }
        const ClusterRouter::Progress p = router_.Round(&call->state);
        if (p == ClusterRouter::Progress::kDone) {
          return call->Complete(ClusterRouter::Finish(call->state, false));
        }
        if (p == ClusterRouter::Progress::kRetryLater) break;
      }
    }
    absl::Status refused;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) {
        refused = absl::CancelledError("redis cluster: online store shut down");
      } else if (static_cast<int>(queue_.size()) + busy_ >= max_pending_) {
        refused = absl::ResourceExhaustedError(
            absl::StrCat("redis cluster: too many requests pending (", max_pending_, ")"));
      } else {
        queue_.push_back(std::move(call));
        cv_.notify_one();
        return;
      }
    }
    call->Complete(std::move(refused));
  }

  void Work() {
    while (true) {
      std::shared_ptr<Call> call;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        call = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
      }
      RunToEnd(*call);
      {
        std::lock_guard<std::mutex> lock(mu_);
        --busy_;
      }
    }
  }

  void RunToEnd(Call& call) {
    bool paused = call.state.attempt > 0 || !call.state.last_error.ok();
    while (true) {
      if (paused) {
        const Micros pause = std::min(ClusterRouter::Backoff(call.state.attempt++),
                                      call.deadline - NowMicros());
        if (pause > 0) std::this_thread::sleep_for(std::chrono::microseconds(pause));
      }
      if (NowMicros() >= call.deadline) {
        return call.Complete(ClusterRouter::Finish(call.state, /*deadline_passed=*/true));
      }
      const ClusterRouter::Progress p = router_.Round(&call.state);
      if (p == ClusterRouter::Progress::kDone) {
        return call.Complete(ClusterRouter::Finish(call.state, false));
      }
      paused = p == ClusterRouter::Progress::kRetryLater;
    }
  }

  // The layout check, once; a refused one again every 2 s.
  absl::Status EnsureLayout(Micros deadline) {
    {
      std::lock_guard<std::mutex> lock(layout_mu_);
      if (layout_ok_) return absl::OkStatus();
      if (!layout_error_.ok() && NowMicros() < layout_recheck_) return layout_error_;
    }
    absl::Status status = CheckLayoutNow(deadline);
    std::lock_guard<std::mutex> lock(layout_mu_);
    if (status.ok()) {
      layout_ok_ = true;
    } else if (status.code() == absl::StatusCode::kFailedPrecondition) {
      layout_error_ = status;
      layout_recheck_ = NowMicros() + kLayoutRecheckInterval;
    }
    return status;
  }

  // GET the layout key; when absent, SET it NX (a cluster never held the
  // layout before rows: Pantry's layout 1 could not run on one) and GET
  // again.
  absl::Status CheckLayoutNow(Micros deadline) {
    const int slot = KeySlot(layout_key_);
    for (int attempt = 0; attempt < 2; ++attempt) {
      ClusterCommand get;
      get.slot = slot;
      AppendArrayHeader(&get.resp, 2);
      AppendBulk(&get.resp, "GET");
      AppendBulk(&get.resp, layout_key_);
      PANTRY_RETURN_IF_ERROR(router_.Execute({&get}, deadline));
      if (get.reply->type == REDIS_REPLY_STRING) {
        return internal::CheckLayoutVersion(kWhere, project_, internal::ReplyText(*get.reply));
      }
      if (get.reply->type != REDIS_REPLY_NIL) {
        return internal::UnexpectedReplyStatus(kWhere, "GET", *get.reply);
      }
      ClusterCommand set;
      set.slot = slot;
      AppendArrayHeader(&set.resp, 4);
      AppendBulk(&set.resp, "SET");
      AppendBulk(&set.resp, layout_key_);
      AppendBulk(&set.resp, kLayoutVersion);
      AppendBulk(&set.resp, "NX");
      PANTRY_RETURN_IF_ERROR(router_.Execute({&set}, deadline));
      if (set.reply->type == REDIS_REPLY_ERROR) {
        return internal::ErrorReplyStatus(kWhere, *set.reply);
      }
    }
    return absl::UnavailableError(absl::StrCat("redis cluster: ", layout_key_, " vanished"));
  }

  ClusterRouter router_;
  const std::string project_;
  const std::string layout_key_;
  const int max_pending_;
  const bool wait_;

  std::mutex layout_mu_;
  bool layout_ok_ = false;        // guarded by layout_mu_
  absl::Status layout_error_;     // guarded by layout_mu_
  Micros layout_recheck_ = 0;     // guarded by layout_mu_

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Call>> queue_;  // guarded by mu_
  int busy_ = 0;                             // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  std::vector<std::thread> workers_;         // last: they use everything above
};

}  // namespace

std::unique_ptr<OnlineStore> NewRedisClusterOnlineStore(const OnlineStoreConfig& config,
                                                        absl::string_view project,
                                                        OnlineStoreObserver* observer) {
  return std::make_unique<ClusterOnlineStore>(config, project, observer);
}

}  // namespace pantry
