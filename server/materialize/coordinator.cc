#include "server/materialize/coordinator.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/common/log.h"
#include "server/common/sigpipe.h"
#include "server/common/status.h"
#include "server/common/time.h"
#include "server/online/redis_cluster.h"
#include "server/online/redis_conn.h"
#include "server/online/resp.h"

namespace pantry::materialize {
namespace {

// ---- local ------------------------------------------------------------------------

class LocalCoordinator final : public Coordinator {
 public:
  explicit LocalCoordinator(std::string path) : path_(std::move(path)) {}

  absl::StatusOr<std::map<std::string, Micros>> Watermarks(const std::string& project) override {
    std::lock_guard<std::mutex> lock(mu_);
    PANTRY_RETURN_IF_ERROR(LoadLocked());
    auto it = watermarks_.find(project);
    return it == watermarks_.end() ? std::map<std::string, Micros>() : it->second;
  }

  absl::StatusOr<std::optional<int64_t>> Acquire(const std::string& project,
                                                  const std::string& view,
                                                  const std::string& holder,
                                                  Micros ttl) override {
    std::lock_guard<std::mutex> lock(mu_);
    LeaseState& l = leases_[{project, view}];
    const Micros now = NowMicros();
    if (l.expires > now) return std::optional<int64_t>();
    l = {++sequence_, holder, now + ttl};
    return std::optional<int64_t>(l.token);
  }

  absl::Status Renew(const std::string& project, const std::string& view,
                     const std::string& holder, int64_t token, Micros ttl) override {
    std::lock_guard<std::mutex> lock(mu_);
    LeaseState* l = HeldLocked(project, view, holder, token);
    if (l == nullptr) return Lost(view);
    l->expires = NowMicros() + ttl;
    return absl::OkStatus();
  }

  absl::Status Release(const std::string& project, const std::string& view,
                       const std::string& holder, int64_t token) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (HeldLocked(project, view, holder, token) != nullptr) leases_.erase({project, view});
    return absl::OkStatus();
  }

  absl::Status Advance(const std::string& project, const std::string& view,
                       const std::string& holder, int64_t token, Micros end) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (HeldLocked(project, view, holder, token) == nullptr) return Lost(view);
    PANTRY_RETURN_IF_ERROR(LoadLocked());
    Micros& w = watermarks_[project].try_emplace(view, kNoTimestamp).first->second;
    if (w != kNoTimestamp && w >= end) return absl::OkStatus();
    const Micros before = w;
    w = end;
    absl::Status saved = SaveLocked();
    if (!saved.ok()) w = before;
    return saved;
  }

 private:
  struct LeaseState {
    int64_t token = 0;
    std::string holder;
    Micros expires = 0;
  };

  static absl::Status Lost(const std::string& view) {
    return absl::FailedPreconditionError(
        absl::StrCat("the lease of view '", view, "' was lost (it expired or another run took it)"));
  }

  LeaseState* HeldLocked(const std::string& project, const std::string& view,
                         const std::string& holder, int64_t token) {
    auto it = leases_.find({project, view});
    if (it == leases_.end() || it->second.token != token || it->second.holder != holder ||
        it->second.expires <= NowMicros()) {
      return nullptr;
    }
    return &it->second;
  }

  absl::Status LoadLocked() {
    if (loaded_) return absl::OkStatus();
    std::ifstream in(path_);
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) {
        return absl::DataLossError(absl::StrCat("watermark file ", path_, " is not a JSON object"));
      }
      for (const auto& [project, views] : j.items()) {
        if (!views.is_object()) continue;
        for (const auto& [view, value] : views.items()) {
          if (value.is_number_integer()) watermarks_[project][view] = value.get<Micros>();
        }
      }
    }
    loaded_ = true;
    return absl::OkStatus();
  }

  // Temp file, fsync, rename: a crash leaves the old file or the new one.
  absl::Status SaveLocked() {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [project, views] : watermarks_) {
      for (const auto& [view, w] : views) j[project][view] = w;
    }
    const std::string text = j.dump(1) + "\n";
    const std::string temp = path_ + ".tmp-" + std::to_string(::getpid());
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd) == 0;
    const int saved_errno = errno;
    if (fd >= 0) ::close(fd);
    ok = ok && ::rename(temp.c_str(), path_.c_str()) == 0;
    if (!ok) {
      ::unlink(temp.c_str());
      return absl::InternalError(absl::StrCat("cannot write the watermark file ", path_, ": ",
                                              std::strerror(saved_errno ? saved_errno : errno)));
    }
    return absl::OkStatus();
  }

  const std::string path_;
  std::mutex mu_;
  bool loaded_ = false;
  std::map<std::string, std::map<std::string, Micros>> watermarks_;
  std::map<std::pair<std::string, std::string>, LeaseState> leases_;
  int64_t sequence_ = 0;
};

// ---- Redis ------------------------------------------------------------------------

// Grants the lease (KEYS[1]) with a new token from KEYS[2] unless it is held.
constexpr char kAcquire[] = R"(
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. '/' .. ARGV[1], 'PX', ARGV[2])
return token)";
constexpr char kRenew[] = R"(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0)";
constexpr char kRelease[] = R"(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0)";
// Moves the watermark (field ARGV[2] of hash KEYS[2]) forward to ARGV[3]
// while the lease KEYS[1] holds ARGV[1].
constexpr char kAdvance[] = R"(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local current = redis.call('HGET', KEYS[2], ARGV[2])
if not current or tonumber(current) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
end
return 1)";

using internal::Reply;

// Runs one command on the Redis of the coordination keys; UNAVAILABLE when
// it cannot be reached, INTERNAL on an error reply.
class Runner {
 public:
  virtual ~Runner() = default;
  virtual absl::StatusOr<Reply> Run(const std::vector<std::string>& args) = 0;
};

absl::Status ErrorReply(absl::string_view where, const std::vector<std::string>& args,
                        const redisReply& reply) {
  return absl::InternalError(
      absl::StrCat(where, ": ", args[0], " failed: ", internal::ReplyText(reply)));
}

// One connection to a single Redis, made again after an I/O error.
class ServerRunner final : public Runner {
 public:
  explicit ServerRunner(const OnlineStoreConfig& config)
      : connection_(internal::SettingsFor(config, "")) {}

  absl::StatusOr<Reply> Run(const std::vector<std::string>& args) override {
    PANTRY_ASSIGN_OR_RETURN(Reply reply, connection_.Run(args));
    if (reply->type == REDIS_REPLY_ERROR) {
      return ErrorReply(connection_.settings().where, args, *reply);
    }
    return reply;
  }

 private:
  internal::RedisConnection connection_;
};

// The master of the coordination keys' slot on a Redis Cluster, followed
// through redirections and failovers for up to request_timeout.
class ClusterRunner final : public Runner {
 public:
  explicit ClusterRunner(const OnlineStoreConfig& config)
      : router_(Settings(config), nullptr),
        timeout_(config.request_timeout),
        slot_(internal::KeySlot(kCoordinationTag)) {}

  absl::StatusOr<Reply> Run(const std::vector<std::string>& args) override {
    internal::ClusterCommand command;
    command.slot = slot_;
    internal::AppendArrayHeader(&command.resp, args.size());
    for (const std::string& a : args) internal::AppendBulk(&command.resp, a);
    PANTRY_RETURN_IF_ERROR(router_.Execute({&command}, NowMicros() + timeout_));
    if (command.reply->type == REDIS_REPLY_ERROR) {
      return ErrorReply("redis cluster", args, *command.reply);
    }
    return std::move(command.reply);
  }

 private:
  static internal::ClusterSettings Settings(const OnlineStoreConfig& config) {
    internal::ClusterSettings s;
    s.seeds = config.nodes;
    s.node = internal::SettingsFor(config, "");
    return s;
  }

  internal::ClusterRouter router_;
  const Micros timeout_;
  const int slot_;
};

class RedisCoordinator final : public Coordinator {
 public:
  explicit RedisCoordinator(const OnlineStoreConfig& config) {
    if (config.type == OnlineStoreConfig::Type::kRedisCluster) {
      runner_ = std::make_unique<ClusterRunner>(config);
    } else {
      runner_ = std::make_unique<ServerRunner>(config);
    }
  }

  absl::StatusOr<std::map<std::string, Micros>> Watermarks(const std::string& project) override {
    std::lock_guard<std::mutex> lock(mu_);
    PANTRY_ASSIGN_OR_RETURN(Reply reply, runner_->Run({"HGETALL", WatermarksKey(project)}));
    std::map<std::string, Micros> out;
    if (reply->type != REDIS_REPLY_ARRAY) return out;
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
      const redisReply* k = reply->element[i];
      const redisReply* v = reply->element[i + 1];
      int64_t w = 0;
      if (absl::SimpleAtoi(internal::ReplyText(*v), &w)) {
        out[std::string(internal::ReplyText(*k))] = w;
      }
    }
    return out;
  }

  absl::StatusOr<std::optional<int64_t>> Acquire(const std::string& project,
                                                  const std::string& view,
                                                  const std::string& holder,
                                                  Micros ttl) override {
    std::lock_guard<std::mutex> lock(mu_);
    PANTRY_ASSIGN_OR_RETURN(Reply reply,
                            runner_->Run({"EVAL", kAcquire, "2", LeaseKey(project, view),
                                          LeaseSeqKey(project), holder, Millis(ttl)}));
    if (reply->integer < 0) return std::optional<int64_t>();
    return std::optional<int64_t>(reply->integer);
  }

  absl::Status Renew(const std::string& project, const std::string& view,
                     const std::string& holder, int64_t token, Micros ttl) override {
    std::lock_guard<std::mutex> lock(mu_);
    PANTRY_ASSIGN_OR_RETURN(Reply reply, runner_->Run({"EVAL", kRenew, "1", LeaseKey(project, view),
                                                       Value(holder, token), Millis(ttl)}));
    return reply->integer == 1 ? absl::OkStatus() : Lost(view);
  }

  absl::Status Release(const std::string& project, const std::string& view,
                       const std::string& holder, int64_t token) override {
    std::lock_guard<std::mutex> lock(mu_);
    return runner_->Run({"EVAL", kRelease, "1", LeaseKey(project, view), Value(holder, token)})
        .status();
  }

  absl::Status Advance(const std::string& project, const std::string& view,
                       const std::string& holder, int64_t token, Micros end) override {
    std::lock_guard<std::mutex> lock(mu_);
    PANTRY_ASSIGN_OR_RETURN(
        Reply reply,
        runner_->Run({"EVAL", kAdvance, "2", LeaseKey(project, view), WatermarksKey(project),
                      Value(holder, token), view, std::to_string(end)}));
    return reply->integer == 1 ? absl::OkStatus() : Lost(view);
  }

 private:
  static std::string Value(const std::string& holder, int64_t token) {
    return absl::StrCat(token, "/", holder);
  }
  static std::string Millis(Micros ttl) { return std::to_string(std::max<Micros>(1, ttl / 1000)); }
  static absl::Status Lost(const std::string& view) {
    return absl::FailedPreconditionError(
        absl::StrCat("the lease of view '", view, "' was lost (it expired or another run took it)"));
  }

  std::mutex mu_;
  std::unique_ptr<Runner> runner_;  // used under mu_
};

}  // namespace

std::unique_ptr<Coordinator> NewLocalCoordinator(std::string path) {
  return std::make_unique<LocalCoordinator>(std::move(path));
}

std::unique_ptr<Coordinator> NewRedisCoordinator(const OnlineStoreConfig& config) {
  return std::make_unique<RedisCoordinator>(config);
}

}  // namespace pantry::materialize
