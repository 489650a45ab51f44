// The Redis connection of one stream source: a single server, or a Redis
// Cluster (the command goes to the master of its key's slot, following
// MOVED and ASK). One connection, used by one consumer thread at a time;
// separate from the online store's pool, so that a consumer blocked in
// XREADGROUP never holds a serving connection.
#ifndef PANTRY_SERVER_INGEST_STREAM_REDIS_H_
#define PANTRY_SERVER_INGEST_STREAM_REDIS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/online/redis_conn.h"
#include "server/registry/registry.h"

namespace pantry::ingest {

class StreamRedis {
 public:
  virtual ~StreamRedis() = default;
  // Runs `args` on the node holding `key` and returns its reply, which may
  // be an error reply (the caller tells BUSYGROUP from a failure).
  // UNAVAILABLE when no reply came (the connection is made again next time).
  // Not thread-safe.
  virtual absl::StatusOr<internal::Reply> Run(absl::string_view key,
                                              const std::vector<std::string>& args) = 0;
  // "redis at HOST:PORT" or "redis cluster at ...", for messages.
  virtual const std::string& where() const = 0;
  // Whether keys must share a hash slot to be used by one script.
  virtual bool cluster() const = 0;
};

// The Redis of `source`: its `redis:` address, else the online store's
// (with the online store's user, password and timeouts). `block` is the
// longest a blocking read of the consumer waits; requests time out after
// that plus the store's request timeout.
std::unique_ptr<StreamRedis> MakeStreamRedis(const OnlineStoreConfig& store,
                                             const DataSource& source, Micros block);

// The key a stream source keeps its acknowledgement decisions in for
// `consumer`: in the stream's hash slot ("{<tag>}:pantry-acks:<consumer>",
// the tag being the stream key's own hash tag or the whole key).
std::string AcksKey(absl::string_view stream, absl::string_view consumer);

// The text of a reply (a string, status or error); "" otherwise.
std::string ReplyString(const redisReply& reply);

}  // namespace pantry::ingest

#endif  // PANTRY_SERVER_INGEST_STREAM_REDIS_H_
