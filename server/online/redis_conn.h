// Connection set-up and reply helpers shared by Pantry's Redis code (the
// online store, its migration, later the cluster router). Internal to
// server/online.
#ifndef PANTRY_SERVER_ONLINE_REDIS_CONN_H_
#define PANTRY_SERVER_ONLINE_REDIS_CONN_H_

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/time.h"
#include "server/online/online_store.h"
#include "server/registry/registry.h"
#include "server/tls/tls.h"

namespace pantry::internal {

// What a connection needs to know.
struct RedisSettings {
  std::string host;
  int port = 0;
  std::string username;
  std::string password;
  int db = 0;
  Micros connect_timeout = 0;
  Micros request_timeout = 0;
  int max_pending = 1;  // per connection (the store's queue bound)
  std::string where;    // "redis at HOST:PORT", the prefix of every message
  // Whose layout key OpenRedis checks; empty: no check (migration).
  std::string project;
  // TLS (online_store.tls): the context every connection shares, and the
  // name Redis' certificate must carry (empty: `host`).
  std::shared_ptr<const TlsContext> tls;
  std::string tls_server_name;
  // Why the settings cannot be used: unusable online_store.tls files, an
  // unset password_env or an unreadable password_file (INVALID_ARGUMENT
  // naming the file or variable); every OpenRedis then fails with it.
  absl::Status config_error;
};

// The settings of `config` for `project`, with `where` filled in, the
// password taken from where the config says, and the TLS context loaded (or
// config_error set).
RedisSettings SettingsFor(const OnlineStoreConfig& config, absl::string_view project);

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// One connection to Redis. hiredis formats the commands and parses the
// replies (RESP); the bytes go over the socket, or through a TLS session
// when one is given. Everything that talks to Redis goes through this, so
// that no byte bypasses TLS.
class RedisLink {
 public:
  // Owns `c` (connected) and `tls` (its session, or null for plain TCP).
  RedisLink(redisContext* c, std::unique_ptr<TlsSession> tls) : c_(c), tls_(std::move(tls)) {}
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Queues commands already in RESP (`resp`), or one command of `argc`
  // arguments; false when out of memory.
  bool Append(absl::string_view resp);
  bool AppendArgv(int argc, const char** argv, const size_t* lengths);
  // Sends everything queued; false on an I/O error (err() and errstr()).
  bool Flush();
  // Sends what is queued, then waits for the next reply; false on an I/O
  // or protocol error, with errno EAGAIN when request_timeout passed.
  bool GetReply(redisReply** reply);
  // Append, Flush and GetReply; null on an error.
  Reply Command(int argc, const char** argv, const size_t* lengths);

  int err() const { return c_->err; }
  const char* errstr() const { return c_->errstr; }
  bool tls() const { return tls_ != nullptr; }
  redisContext* hiredis() { return c_; }

 private:
  // Records an error the way hiredis does (errno untouched).
  void SetError(int type, absl::string_view message);

  redisContext* const c_;
  std::unique_ptr<TlsSession> tls_;
  std::string out_;  // with TLS: commands not sent yet (hiredis' obuf is unused)
};
using Context = std::unique_ptr<RedisLink>;

absl::string_view ReplyText(const redisReply& reply);
// INTERNAL: Redis answered `reply` (an error) to a command.
absl::Status ErrorReplyStatus(absl::string_view where, const redisReply& reply);
// INTERNAL: a reply of a type `command` never gives.
absl::Status UnexpectedReplyStatus(absl::string_view where, absl::string_view command,
                                   const redisReply& reply);

// Takes one element of an MGET of row keys into `result`: nil (no row
// stored) or a row, unpacked for the read's features. DATA_LOSS or
// FAILED_PRECONDITION (from UnpackRow) prefixed with `where`.
absl::Status TakeRowReply(const ViewRead& read, const redisReply& row, absl::string_view where,
                          ViewReadResult* result);

// Counts the write script's outcome for `write` (one element of its reply)
// into `result`, or returns FAILED_PRECONDITION naming the view and key
// when the script refused the key.
absl::Status TakeWriteOutcome(const ViewWrite& write, size_t index, const redisReply& outcome,
                              absl::string_view where, WriteResult* result);

// Runs one blocking command; `name` (not the arguments, which may hold the
// password) names it in errors. UNAVAILABLE on I/O failure or an error
// reply.
absl::StatusOr<Reply> RunCommand(RedisLink* c, const RedisSettings& settings,
                                 std::vector<absl::string_view> args, absl::string_view name);

// Whether `key` is an entity hash of the layout before rows (layout 1) of
// the project `prefix` names ("<project>:"): "<project>:<join key>=...".
// Rows are "<project>:{...", coordination keys "<project>:#...".
bool IsHashLayoutKey(absl::string_view key, absl::string_view prefix);

// FAILED_PRECONDITION: project `project` is not served, because `why`;
// says to migrate.
absl::Status LayoutRefusal(absl::string_view where, absl::string_view project,
                           absl::string_view why);
// OK when `version` (the value of the layout key) is kLayoutVersion, else
// the refusal naming it.
absl::Status CheckLayoutVersion(absl::string_view where, absl::string_view project,
                                absl::string_view version);

// Renames materialization's watermarks and token counter from their names
// before the cluster hash tag (`<project>:#watermarks`, `<project>:#lease-seq`)
// to WatermarksKey / LeaseSeqKey, each only when the old key exists and the
// new name is free (one script per key, atomic; a no-op once done).
absl::Status RenameOldCoordinationKeys(RedisLink* c, const RedisSettings& settings,
                                       absl::string_view project);

// Checks the project's layout key (LayoutKey): kLayoutVersion serves;
// absent, the keyspace is scanned for layout-1 hashes of the project and,
// when there are none, the key is set. Once the layout serves, renames old
// coordination keys (RenameOldCoordinationKeys). FAILED_PRECONDITION (saying
// what to do) when the project is in another layout or being migrated;
// UNAVAILABLE.
absl::Status CheckLayoutOn(RedisLink* c, const RedisSettings& settings);

// Connects with the settings' timeouts, enables keepalive, does the TLS
// handshake (when the settings have TLS), authenticates,
// selects the database, checks the layout (unless `settings.project` is
// empty) and loads kRowWriteScript, whose SHA goes to `script_sha`.
absl::StatusOr<Context> OpenRedis(const RedisSettings& settings, std::string* script_sha);

// One blocking connection to a single Redis (OpenRedis' settings), made on
// first use and again after an I/O error. Not thread-safe.
class RedisConnection {
 public:
  explicit RedisConnection(RedisSettings settings) : settings_(std::move(settings)) {}
  // The reply to `args`, which may be an error reply; UNAVAILABLE naming
  // the server when none came (or it cannot be reached).
  absl::StatusOr<Reply> Run(const std::vector<std::string>& args);
  const RedisSettings& settings() const { return settings_; }

 private:
  const RedisSettings settings_;
  Context context_;
};

}  // namespace pantry::internal

#endif  // PANTRY_SERVER_ONLINE_REDIS_CONN_H_
