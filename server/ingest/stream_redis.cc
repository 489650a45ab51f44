#include "server/ingest/stream_redis.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/time.h"
#include "server/online/redis_cluster.h"
#include "server/online/resp.h"

namespace pantry::ingest {
namespace {

using internal::Reply;

class SingleStreamRedis : public StreamRedis {
 public:
  explicit SingleStreamRedis(internal::RedisSettings settings) : connection_(std::move(settings)) {}

  absl::StatusOr<Reply> Run(absl::string_view /*key*/,
                            const std::vector<std::string>& args) override {
    return connection_.Run(args);
  }
  const std::string& where() const override { return connection_.settings().where; }
  bool cluster() const override { return false; }

 private:
  internal::RedisConnection connection_;
};

class ClusterStreamRedis : public StreamRedis {
 public:
  ClusterStreamRedis(internal::ClusterSettings settings, Micros timeout, std::string where)
      : router_(std::move(settings), nullptr), timeout_(timeout), where_(std::move(where)) {}

  absl::StatusOr<Reply> Run(absl::string_view key,
                            const std::vector<std::string>& args) override {
    internal::ClusterCommand command;
    command.slot = internal::KeySlot(key);
    internal::AppendArrayHeader(&command.resp, args.size());
    for (const std::string& a : args) internal::AppendBulk(&command.resp, a);
    absl::Status st = router_.Execute({&command}, NowMicros() + timeout_);
    if (!st.ok()) return st;
    return std::move(command.reply);
  }
  const std::string& where() const override { return where_; }
  bool cluster() const override { return true; }

 private:
  internal::ClusterRouter router_;
  const Micros timeout_;
  const std::string where_;
};

// The hash tag of `key` as Redis Cluster reads it, or "" when it has none.
absl::string_view HashTag(absl::string_view key) {
  const size_t open = key.find('{');
  if (open == absl::string_view::npos) return "";
  const size_t close = key.find('}', open + 1);
  if (close == absl::string_view::npos || close == open + 1) return "";
  return key.substr(open + 1, close - open - 1);
}

}  // namespace

std::unique_ptr<StreamRedis> MakeStreamRedis(const OnlineStoreConfig& store,
                                             const DataSource& source, Micros block) {
  internal::RedisSettings settings = internal::SettingsFor(store, "");
  settings.request_timeout = store.request_timeout + block;
  if (!source.stream.host.empty()) {
    settings.host = source.stream.host;
    settings.port = source.stream.port;
    settings.db = 0;
    // With online_store.tls, the stream's server is reached with the same
    // CAs and client certificate, and must carry its own host name.
    settings.tls_server_name.clear();
    settings.where = absl::StrCat("redis at ", settings.host, ":", settings.port,
                                  settings.tls != nullptr ? " (TLS)" : "");
  } else if (store.type == OnlineStoreConfig::Type::kRedisCluster) {
    internal::ClusterSettings cs;
    cs.seeds = store.nodes;
    cs.node = settings;
    std::vector<std::string> nodes;
    for (const auto& [host, port] : store.nodes) nodes.push_back(absl::StrCat(host, ":", port));
    return std::make_unique<ClusterStreamRedis>(
        std::move(cs), settings.request_timeout,
        absl::StrCat("redis cluster at ", absl::StrJoin(nodes, ",")));
  }
  return std::make_unique<SingleStreamRedis>(std::move(settings));
}

std::string AcksKey(absl::string_view stream, absl::string_view consumer) {
  absl::string_view tag = HashTag(stream);
  if (tag.empty()) tag = stream;
  return absl::StrCat("{", tag, "}:pantry-acks:", consumer);
}

std::string ReplyString(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_STRING || reply.type == REDIS_REPLY_STATUS ||
      reply.type == REDIS_REPLY_ERROR) {
    return std::string(reply.str, reply.len);
  }
  if (reply.type == REDIS_REPLY_INTEGER) return std::to_string(reply.integer);
  return "";
}

}  // namespace pantry::ingest
