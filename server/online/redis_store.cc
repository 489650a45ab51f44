#include "server/online/redis_store.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "server/common/log.h"
#include "server/common/sigpipe.h"
#include "server/common/status.h"
#include "server/common/time.h"
#include "server/online/redis_conn.h"
#include "server/online/redis_scripts.h"
#include "server/online/resp.h"
#include "server/online/row.h"

namespace pantry {
namespace {

using internal::Context;
using internal::ErrorReplyStatus;
using internal::OpenRedis;
using internal::AppendArrayHeader;
using internal::AppendBulk;
using internal::AppendNumber;
using internal::ReplyText;
using internal::UnexpectedReplyStatus;
using Settings = internal::RedisSettings;

// After a failed connect a connection fails calls fast for this long before
// it tries again, so a down Redis costs one connect attempt per interval, not
// one per call.
constexpr Micros kReconnectInterval = 100'000;

// A store refused for its layout is checked again this often (the check may
// scan the keyspace).
constexpr Micros kLayoutRecheckInterval = 2'000'000;

// Reads and writes smaller than twice this stay on one connection; bigger
// ones are split into chunks of at least this many entries, one chunk per
// connection, so replies are parsed on several threads.
constexpr size_t kMinChunk = 128;

// Small calls go to the first connection with fewer than this many calls
// pending, so that concurrent small calls share one connection's pipeline
// (one wake-up, one write and one read for many) instead of spreading
// thinly over all of them.
constexpr int kPackPending = 64;

// The formatting buffer of a connection is released after a batch bigger
// than this, so one huge call does not pin memory forever.
constexpr size_t kMaxKeptBuffer = 4 << 20;

// Keys one EVALSHA of the write script covers: the script's own cost is paid
// once per batch instead of once per key.
constexpr size_t kWritesPerScript = 64;

// What a command needs from its connection.
struct CommandContext {
  absl::string_view script_sha;
};

enum class ReplyAction { kTaken, kRetryAfterScriptLoad };

// One chunk of one Read or Write call: its commands and its completion.
// Driven by one connection thread only.
class Op {
 public:
  explicit Op(Micros deadline) : deadline_(deadline) {}
  virtual ~Op() = default;
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;

  Micros deadline() const { return deadline_; }
  virtual size_t num_commands() const = 0;
  // Appends command `i` in RESP to `out`.
  virtual void AppendCommand(size_t i, const CommandContext& ctx, std::string* out) const = 0;
  // Takes the reply to command `i`. kRetryAfterScriptLoad (only when
  // `may_retry`) asks the connection to load the script and send command `i`
  // again.
  virtual ReplyAction OnReply(size_t i, const redisReply& reply, absl::string_view where,
                              bool may_retry) = 0;
  // Completes the op, exactly once: `status` is OK when every reply was
  // taken, otherwise the reason none will be.
  virtual void Complete(absl::Status status) = 0;

 private:
  const Micros deadline_;
};

// The parts of a call shared by its chunks; the last chunk to finish invokes
// the callback. Chunks write disjoint parts of the results, and the
// acquire/release on `remaining_` publishes them to the finishing thread.
class CallBase {
 public:
  explicit CallBase(size_t chunks) : remaining_(static_cast<int>(chunks)) {}

 protected:
  // Records `status`; returns true when this was the last chunk.
  bool ChunkDone(absl::Status status) {
    if (!status.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (status_.ok()) status_ = std::move(status);
    }
    return remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }
  // Only for the last chunk. Moves, so the callback holds the only
  // reference to the status.
  absl::Status FinalStatus() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(status_);
  }

 private:
  std::atomic<int> remaining_;
  std::mutex mu_;
  absl::Status status_;
};

class ReadCall : public CallBase {
 public:
  ReadCall(std::vector<ViewRead> reads, ReadCallback done, size_t chunks)
      : CallBase(chunks),
        reads(std::move(reads)),
        results(this->reads.size()),
        done_(std::move(done)) {}

  void Done(absl::Status status) {
    if (!ChunkDone(std::move(status))) return;
    absl::Status final_status = FinalStatus();
    if (final_status.ok()) {
      done_(std::move(results));
    } else {
      done_(std::move(final_status));
    }
  }

  const std::vector<ViewRead> reads;
  std::vector<ViewReadResult> results;

 private:
  ReadCallback done_;
};

class WriteCall : public CallBase {
 public:
  WriteCall(std::vector<ViewWrite> writes, WriteCallback done, size_t chunks)
      : CallBase(chunks), writes(std::move(writes)), done_(std::move(done)) {}

  void Done(absl::Status status, const WriteResult& chunk_result) {
    written_.fetch_add(chunk_result.written, std::memory_order_relaxed);
    skipped_older_.fetch_add(chunk_result.skipped_older, std::memory_order_relaxed);
    if (!chunk_result.skipped.empty()) {
      std::lock_guard<std::mutex> lock(skipped_mu_);
      skipped_.insert(skipped_.end(), chunk_result.skipped.begin(), chunk_result.skipped.end());
    }
    if (!ChunkDone(std::move(status))) return;
    absl::Status final_status = FinalStatus();
    if (final_status.ok()) {
      WriteResult result;
      result.written = written_.load(std::memory_order_relaxed);
      result.skipped_older = skipped_older_.load(std::memory_order_relaxed);
      {
        std::lock_guard<std::mutex> lock(skipped_mu_);
        result.skipped = std::move(skipped_);
      }
      std::sort(result.skipped.begin(), result.skipped.end());
      done_(std::move(result));
    } else {
      done_(std::move(final_status));
    }
  }

  const std::vector<ViewWrite> writes;

 private:
  WriteCallback done_;
  std::atomic<int64_t> written_{0};
  std::atomic<int64_t> skipped_older_{0};
  std::mutex skipped_mu_;
  std::vector<size_t> skipped_;
};

// One MGET of the row keys of reads [begin, end) of a call.
class ReadOp final : public Op {
 public:
  ReadOp(std::shared_ptr<ReadCall> call, size_t begin, size_t end, Micros deadline)
      : Op(deadline), call_(std::move(call)), begin_(begin), end_(end) {}

  size_t num_commands() const override { return 1; }

  void AppendCommand(size_t, const CommandContext&, std::string* out) const override {
    AppendArrayHeader(out, 1 + end_ - begin_);
    AppendBulk(out, "MGET");
    for (size_t r = begin_; r < end_; ++r) AppendBulk(out, call_->reads[r].key);
  }

  ReplyAction OnReply(size_t, const redisReply& reply, absl::string_view where, bool) override {
    if (reply.type == REDIS_REPLY_ERROR) {
      status_ = ErrorReplyStatus(where, reply);
    } else if (reply.type != REDIS_REPLY_ARRAY || reply.elements != end_ - begin_) {
      status_ = UnexpectedReplyStatus(where, "MGET", reply);
    } else {
      for (size_t j = 0; j < reply.elements && status_.ok(); ++j) {
        status_ = internal::TakeRowReply(call_->reads[begin_ + j], *reply.element[j], where,
                                         &call_->results[begin_ + j]);
      }
    }
    return ReplyAction::kTaken;
  }

  void Complete(absl::Status status) override {
    call_->Done(status.ok() ? std::move(status_) : std::move(status));
  }

 private:
  const std::shared_ptr<ReadCall> call_;
  const size_t begin_;
  const size_t end_;
  absl::Status status_;
};

// EVALSHA <write script> for writes [begin, end) of a call.
class WriteOp final : public Op {
 public:
  WriteOp(std::shared_ptr<WriteCall> call, size_t begin, size_t end, Micros deadline)
      : Op(deadline), call_(std::move(call)), begin_(begin), end_(end) {}

  // One EVALSHA of kRowWriteScript per kWritesPerScript writes: KEYS are
  // the row keys, ARGV per key its expiry in milliseconds and its row.
  size_t num_commands() const override {
    return (end_ - begin_ + kWritesPerScript - 1) / kWritesPerScript;
  }

  void AppendCommand(size_t i, const CommandContext& ctx, std::string* out) const override {
    const size_t first = begin_ + i * kWritesPerScript;
    const size_t last = std::min(end_, first + kWritesPerScript);
    const auto& writes = call_->writes;
    AppendArrayHeader(out, 3 + 3 * (last - first));  // EVALSHA sha numkeys, keys, ARGV
    AppendBulk(out, "EVALSHA");
    AppendBulk(out, ctx.script_sha);
    AppendNumber(out, static_cast<int64_t>(last - first));
    for (size_t w = first; w < last; ++w) AppendBulk(out, writes[w].key);
    for (size_t w = first; w < last; ++w) {
      // Rounded up, so a sub-millisecond online_ttl still expires instead
      // of meaning "no expiry".
      const Micros ttl = writes[w].online_ttl;
      AppendNumber(out, ttl > 0 ? (ttl + 999) / 1000 : 0);
      AppendBulk(out, writes[w].row);
    }
  }

  ReplyAction OnReply(size_t i, const redisReply& reply, absl::string_view where,
                      bool may_retry) override {
    if (reply.type == REDIS_REPLY_ERROR && may_retry &&
        absl::StartsWith(ReplyText(reply), "NOSCRIPT")) {
      return ReplyAction::kRetryAfterScriptLoad;
    }
    if (!status_.ok()) return ReplyAction::kTaken;
    const size_t first = begin_ + i * kWritesPerScript;
    const size_t expected = std::min(end_, first + kWritesPerScript) - first;
    if (reply.type == REDIS_REPLY_ERROR) {
      status_ = ErrorReplyStatus(where, reply);
    } else if (reply.type != REDIS_REPLY_ARRAY || reply.elements != expected) {
      status_ = UnexpectedReplyStatus(where, "EVALSHA", reply);
    } else {
      for (size_t k = 0; k < reply.elements && status_.ok(); ++k) {
        status_ = internal::TakeWriteOutcome(call_->writes[first + k], first + k, *reply.element[k], where,
                                             &result_);
      }
    }
    return ReplyAction::kTaken;
  }

  void Complete(absl::Status status) override {
    call_->Done(status.ok() ? std::move(status_) : std::move(status), result_);
  }

 private:
  const std::shared_ptr<WriteCall> call_;
  const size_t begin_;
  const size_t end_;
  absl::Status status_;
  WriteResult result_;
};

// Who runs a batch on a connection nobody is driving (Connection::TryEnqueue).
enum class Drive { kCaller, kThread };

// Batches a caller drives at most before handing the connection to its
// thread (a gRPC thread is lent, not given). Each hand-off costs the
// wake-ups the caller's driving saves: in interleaved runs 1 batch gave
// 15,000-20,000 req/s at 65-85 µs of pantryd CPU per read, 4 batches
// 17,200-23,500 at 55-69 µs, and 16, 64 or no limit were alike (19,000-
// 26,000 at 47-64 µs). 16 round trips are a millisecond or two.
constexpr int kCallerBatches = 16;

// ---------------------------------------------------------------------------
// One Redis connection, its queue and its thread. One driver at a time runs
// the connection's batches: the caller whose op found it idle (Drive::kCaller,
// small reads: the request's own thread sends the pipeline and completes it,
// with no hand-off to another thread and back) or the connection's thread
// (writes, split calls, and any call while disconnected, so that connecting
// never blocks a caller). Everything below the queue (the hiredis context,
// buffers, reconnect state) is touched by the driver only.
class Connection {
 public:
  // `node` (may be null) is told of connects and requests.
  Connection(const Settings* settings, int index, OnlineStoreObserver::Node* node)
      : settings_(*settings), index_(index), node_(node), thread_([this] { Run(); }) {}

  ~Connection() {
    RequestStop();
    if (thread_.joinable()) thread_.join();
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Queues `op`, or leaves it untouched and returns why not
  // (RESOURCE_EXHAUSTED, CANCELLED). When nobody is driving the connection,
  // `drive` says who starts: kCaller runs the batch on the calling thread
  // before returning (when connected; connecting is left to the thread so a
  // caller never waits on a connect timeout), kThread wakes the
  // connection's thread.
  absl::Status TryEnqueue(std::unique_ptr<Op>& op, Drive drive) {
    bool wake = false;
    bool lead = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) {
        return absl::CancelledError(absl::StrCat(settings_.where, ": online store shut down"));
      }
      if (pending_.load(std::memory_order_relaxed) >= settings_.max_pending) {
        return absl::ResourceExhaustedError(
            absl::StrCat(settings_.where, ": too many requests pending (", settings_.max_pending,
                         " per connection)"));
      }
      pending_.fetch_add(1, std::memory_order_relaxed);
      if (node_ != nullptr) node_->AddPending(1);
      queue_.push_back(std::move(op));
      if (drive == Drive::kThread) ++thread_ops_queued_;
      // Whoever drives the connection takes every op queued meanwhile in
      // its next batch, so only an op that finds it idle starts a driver.
      if (!driven_) {
        driven_ = true;
        if (drive == Drive::kCaller && connected_.load(std::memory_order_relaxed)) {
          lead = true;
        } else {
          to_thread_ = true;
          wake = true;
        }
      }
    }
    if (wake) cv_.notify_all();
    if (lead) Drain(/*caller=*/true);
    return absl::OkStatus();
  }

  // Calls queued or in flight.
  int pending() const { return pending_.load(std::memory_order_relaxed); }

  void RequestStop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
  }

 private:
  void Run() {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || to_thread_; });
        if (stop_) break;
      }
      Drain(/*caller=*/false);
    }
    // A caller still driving finishes its batches first: the connection is
    // its until then.
    std::vector<std::unique_ptr<Op>> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !driven_ || to_thread_; });
      driven_ = true;
      batch.swap(queue_);
    }
    const absl::Status cancelled =
        absl::CancelledError(absl::StrCat(settings_.where, ": online store shut down"));
    for (auto& op : batch) op->Complete(cancelled);
    pending_.fetch_sub(static_cast<int>(batch.size()), std::memory_order_relaxed);
    if (node_ != nullptr) node_->AddPending(-static_cast<int64_t>(batch.size()));
    batch.clear();
    context_.reset();
  }

  // Runs batches until the queue is empty, then gives the connection up.
  // Only the driver (the thread, or the `caller` that found it idle) calls
  // this, so everything below the queue is touched by one thread at a time;
  // `mu_` hands it over. A caller hands what is left to the thread after
  // kCallerBatches batches (a caller is someone else's thread, a gRPC
  // thread say, lent for a moment), when a write or split call is queued
  // (those belong to the thread), and when it lost the connection (the
  // thread reconnects).
  void Drain(bool caller) {
    // hiredis and OpenSSL write with write(2): a peer that went away must fail the
    // write with EPIPE, not kill the process.
    const SigpipeGuard no_sigpipe;
    std::vector<std::unique_ptr<Op>> batch;
    for (int batches = 0;; ++batches) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.empty()) {
          driven_ = false;
          to_thread_ = false;
          // Under the lock: once it is released, a stopping thread may
          // destroy this connection.
          cv_.notify_all();
          return;
        }
        if (caller && (batches >= kCallerBatches || thread_ops_queued_ > 0 ||
                       !connected_.load(std::memory_order_relaxed))) {
          to_thread_ = true;
          cv_.notify_all();
          return;
        }
        batch.swap(queue_);
        thread_ops_queued_ = 0;
      }
      Process(batch);
      const int n = static_cast<int>(batch.size());
      batch.clear();
      // Only now: an op counts as pending until its callback returned.
      pending_.fetch_sub(n, std::memory_order_relaxed);
      if (node_ != nullptr) node_->AddPending(-n);
    }
  }

  void Process(const std::vector<std::unique_ptr<Op>>& batch) {
    if (absl::Status status = EnsureConnected(); !status.ok()) {
      for (const auto& op : batch) op->Complete(status);
      return;
    }
    const Micros now = NowMicros();
    live_.clear();
    for (const auto& op : batch) {
      if (op->deadline() <= now) {
        op->Complete(absl::DeadlineExceededError(
            absl::StrCat(settings_.where, ": deadline passed before the request was sent")));
      } else {
        live_.push_back(op.get());
      }
    }
    if (live_.empty()) return;

    const CommandContext ctx{script_sha_};
    buffer_.clear();
    for (Op* op : live_) {
      for (size_t i = 0, n = op->num_commands(); i < n; ++i) op->AppendCommand(i, ctx, &buffer_);
    }
    const bool appended = context_->Append(buffer_);
    if (node_ != nullptr) {
      int64_t commands = 0;
      for (Op* op : live_) commands += static_cast<int64_t>(op->num_commands());
      node_->OnRequestsSent(commands);
    }
    if (buffer_.capacity() > kMaxKeptBuffer) std::string().swap(buffer_);
    if (!appended) return FailLive(DropConnection());

    retries_.clear();
    for (Op* op : live_) {
      for (size_t i = 0, n = op->num_commands(); i < n; ++i) {
        redisReply* reply = nullptr;
        if (!context_->GetReply(&reply)) {
          return FailLive(DropConnection());
        }
        if (op->OnReply(i, *reply, settings_.where, /*may_retry=*/true) ==
            ReplyAction::kRetryAfterScriptLoad) {
          retries_.emplace_back(op, i);
        }
        freeReplyObject(reply);
      }
    }
    if (!retries_.empty()) {
      // Redis lost the script (SCRIPT FLUSH, restart behind a proxy,
      // failover): load it again and resend those writes, once.
      if (absl::Status status = RetryWithScript(); !status.ok()) return FailLive(status);
    }
    for (Op* op : live_) op->Complete(absl::OkStatus());
  }

  absl::Status RetryWithScript() {
    buffer_.clear();
    AppendArrayHeader(&buffer_, 3);
    AppendBulk(&buffer_, "SCRIPT");
    AppendBulk(&buffer_, "LOAD");
    AppendBulk(&buffer_, kRowWriteScript);
    const CommandContext ctx{script_sha_};
    for (const auto& [op, i] : retries_) op->AppendCommand(i, ctx, &buffer_);
    if (!context_->Append(buffer_)) return DropConnection();
    redisReply* reply = nullptr;
    if (!context_->GetReply(&reply)) return DropConnection();
    // The SHA of a script is its content hash, so it is unchanged; a failed
    // load shows up as NOSCRIPT errors on the retried writes.
    freeReplyObject(reply);
    for (const auto& [op, i] : retries_) {
      if (!context_->GetReply(&reply)) return DropConnection();
      op->OnReply(i, *reply, settings_.where, /*may_retry=*/false);
      freeReplyObject(reply);
    }
    return absl::OkStatus();
  }

  void FailLive(const absl::Status& status) {
    for (Op* op : live_) op->Complete(status);
  }

  // Closes the connection after an I/O error; returns the error. Replies of
  // a pipeline cannot be matched to commands after a failure, so the whole
  // batch fails and the next batch reconnects.
  absl::Status DropConnection() {
    const int saved_errno = errno;
    std::string message = context_->errstr();
    if (context_->err() == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)) {
      message = absl::StrCat("no reply within request_timeout (", settings_.request_timeout / 1000,
                             " ms)");
    }
    context_.reset();
    connected_.store(false, std::memory_order_relaxed);
    if (node_ != nullptr) node_->OnDisconnected();
    spdlog::warn("{} (connection {}): disconnected: {}", settings_.where, index_, message);
    return absl::UnavailableError(absl::StrCat(settings_.where, ": ", message));
  }

  absl::Status EnsureConnected() {
    if (context_ != nullptr) return absl::OkStatus();
    const Micros now = NowMicros();
    if (!connect_error_.ok() && now < next_connect_) return connect_error_;
    absl::Status status = Connect();
    if (!status.ok()) {
      if (connect_error_.ok()) {
        const absl::string_view reason =
            absl::StripPrefix(status.message(), absl::StrCat(settings_.where, ": "));
        if (status.code() == absl::StatusCode::kFailedPrecondition) {
          spdlog::error("{} (connection {}): not serving: {}", settings_.where, index_,
                        std::string(reason));
        } else {
          spdlog::warn("{} (connection {}): cannot connect: {}", settings_.where, index_,
                       std::string(reason));
        }
      }
      if (node_ != nullptr) node_->OnConnectFailed();
      connect_error_ = status;
      // A store in another layout stays refused until it is migrated; it
      // is checked again now and then, not on every call.
      next_connect_ = now + (status.code() == absl::StatusCode::kFailedPrecondition
                                 ? kLayoutRecheckInterval
                                 : kReconnectInterval);
      return status;
    }
    spdlog::info("{} (connection {}): connected", settings_.where, index_);
    if (node_ != nullptr) node_->OnConnected(/*reconnect=*/ever_connected_ || !connect_error_.ok());
    ever_connected_ = true;
    connect_error_ = absl::OkStatus();
    connected_.store(true, std::memory_order_relaxed);
    return absl::OkStatus();
  }

  absl::Status Connect() {
    PANTRY_ASSIGN_OR_RETURN(context_, OpenRedis(settings_, &script_sha_));
    return absl::OkStatus();
  }

  const Settings& settings_;
  const int index_;
  OnlineStoreObserver::Node* const node_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Op>> queue_;  // guarded by mu_
  bool stop_ = false;                       // guarded by mu_
  bool driven_ = false;     // guarded by mu_: a thread is in Drain() or about to be
  bool to_thread_ = false;  // guarded by mu_: that thread is the connection's own
  int thread_ops_queued_ = 0;  // guarded by mu_: queued ops sent with Drive::kThread
  std::atomic<int> pending_{0};          // written under mu_ or by the driver
  std::atomic<bool> connected_{false};   // written by the driver

  // Owned by the driver.
  Context context_;
  std::string script_sha_;
  absl::Status connect_error_;  // of the last connect attempt
  bool ever_connected_ = false;
  Micros next_connect_ = 0;
  std::string buffer_;
  std::vector<Op*> live_;
  std::vector<std::pair<Op*, size_t>> retries_;

  std::thread thread_;  // last: starts after every member above is ready
};

class RedisOnlineStore final : public OnlineStore {
 public:
  RedisOnlineStore(const OnlineStoreConfig& config, absl::string_view project,
                   OnlineStoreObserver* observer)
      : settings_(internal::SettingsFor(config, project)) {
    const int pool_size = std::max(1, config.pool_size);
    settings_.max_pending = std::max(1, config.max_pending_requests / pool_size);
    OnlineStoreObserver::Node* const node =
        observer != nullptr ? observer->ForNode(absl::StrCat(config.host, ":", config.port))
                            : nullptr;
    connections_.reserve(pool_size);
    for (int i = 0; i < pool_size; ++i) {
      connections_.push_back(std::make_unique<Connection>(&settings_, i, node));
    }
  }

  ~RedisOnlineStore() override {
    // Stop all first so the threads wind down in parallel, then join.
    for (auto& connection : connections_) connection->RequestStop();
    connections_.clear();
  }

  void Read(std::vector<ViewRead> reads, Micros deadline, ReadCallback done) override {
    if (reads.empty()) {
      done(std::vector<ViewReadResult>());
      return;
    }
    const size_t n = reads.size();
    const size_t chunks = NumChunks(n);
    auto call = std::make_shared<ReadCall>(std::move(reads), std::move(done), chunks);
    // A small read is run by the calling thread when its connection is
    // idle; split reads are parsed in parallel by the connection threads.
    const Drive drive = chunks == 1 ? Drive::kCaller : Drive::kThread;
    Dispatch(n, chunks, drive, [&](size_t begin, size_t end) -> std::unique_ptr<Op> {
      return std::make_unique<ReadOp>(call, begin, end, deadline);
    });
  }

  void Write(std::vector<ViewWrite> writes, Micros deadline, WriteCallback done) override {
    if (writes.empty()) {
      done(WriteResult());
      return;
    }
    if (absl::Status status = CheckRows(writes); !status.ok()) {
      done(std::move(status));
      return;
    }
    const size_t n = writes.size();
    const size_t chunks = NumChunks(n);
    auto call = std::make_shared<WriteCall>(std::move(writes), std::move(done), chunks);
    // Writes stay on the connection threads: a writer (materialization)
    // prepares its next batch while this one is on the wire.
    Dispatch(n, chunks, Drive::kThread, [&](size_t begin, size_t end) -> std::unique_ptr<Op> {
      return std::make_unique<WriteOp>(call, begin, end, deadline);
    });
  }

  absl::Status CheckLayout(Micros deadline) override {
    Settings settings = settings_;
    const Micros left = deadline - NowMicros();
    if (left <= 0) return absl::DeadlineExceededError("deadline passed before the layout check");
    settings.connect_timeout = std::min(settings.connect_timeout, left);
    settings.request_timeout = std::min(settings.request_timeout, left);
    std::string sha;
    return OpenRedis(settings, &sha).status();
  }

 private:
  size_t NumChunks(size_t n) const {
    if (connections_.size() < 2 || n < 2 * kMinChunk) return 1;
    return std::min(connections_.size(), n / kMinChunk);
  }

  // Splits [0, n) into `chunks` ops. One op goes to the least busy
  // connection (ties rotate); several go to consecutive connections.
  template <typename MakeOp>
  void Dispatch(size_t n, size_t chunks, Drive drive, const MakeOp& make_op) {
    const size_t pool = connections_.size();
    const size_t start = next_.fetch_add(1, std::memory_order_relaxed) % pool;
    if (chunks == 1) {
      for (size_t c = 0; c < pool; ++c) {
        if (connections_[c]->pending() < kPackPending) {
          Submit(*connections_[c], make_op(0, n), drive);
          return;
        }
      }
      size_t best = start;
      for (size_t k = 1; k < pool && connections_[best]->pending() > 0; ++k) {
        const size_t candidate = (start + k) % pool;
        if (connections_[candidate]->pending() < connections_[best]->pending()) best = candidate;
      }
      Submit(*connections_[best], make_op(0, n), drive);
      return;
    }
    for (size_t c = 0; c < chunks; ++c) {
      Submit(*connections_[(start + c) % pool], make_op(n * c / chunks, n * (c + 1) / chunks),
             drive);
    }
  }

  static void Submit(Connection& connection, std::unique_ptr<Op> op, Drive drive) {
    if (absl::Status status = connection.TryEnqueue(op, drive); !status.ok()) op->Complete(status);
  }

  Settings settings_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::atomic<size_t> next_{0};
};

}  // namespace

std::unique_ptr<OnlineStore> NewRedisOnlineStore(const OnlineStoreConfig& config,
                                                 absl::string_view project,
                                                 OnlineStoreObserver* observer) {
  return std::make_unique<RedisOnlineStore>(config, project, observer);
}

}  // namespace pantry
