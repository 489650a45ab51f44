#include "server/online/redis_conn.h"

#include "server/common/sigpipe.h"

#include <hiredis/read.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/common/file.h"
#include "server/common/status.h"
#include "server/online/online_store.h"
#include "server/online/redis_scripts.h"
#include "server/online/row.h"

namespace pantry::internal {
namespace {

timeval ToTimeval(Micros us) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(us / kMicrosPerSecond);
  tv.tv_usec = static_cast<suseconds_t>(us % kMicrosPerSecond);
  return tv;
}

}  // namespace

absl::string_view ReplyText(const redisReply& reply) {
  return reply.str == nullptr ? absl::string_view() : absl::string_view(reply.str, reply.len);
}

absl::Status ErrorReplyStatus(absl::string_view where, const redisReply& reply) {
  return absl::InternalError(absl::StrCat(where, ": ", ReplyText(reply)));
}

absl::Status UnexpectedReplyStatus(absl::string_view where, absl::string_view command,
                                   const redisReply& reply) {
  return absl::InternalError(
      absl::StrCat(where, ": unexpected reply type ", reply.type, " to ", command));
}

RedisSettings SettingsFor(const OnlineStoreConfig& config, absl::string_view project) {
  RedisSettings settings;
  settings.host = config.host;
  settings.port = config.port;
  settings.username = config.username;
  settings.password = config.password;
  if (!config.password_env.empty()) {
    const char* value = std::getenv(config.password_env.c_str());
    if (value == nullptr || *value == '\0') {
      settings.config_error = absl::InvalidArgumentError(
          absl::StrCat("online_store.password_env: the environment variable ",
                       config.password_env, value == nullptr ? " is not set" : " is empty"));
    } else {
      settings.password = value;
    }
  } else if (!config.password_file.empty()) {
    absl::StatusOr<std::string> password = ReadSecretFile(config.password_file, "password file");
    if (password.ok()) {
      settings.password = *std::move(password);
    } else {
      settings.config_error = absl::InvalidArgumentError(
          absl::StrCat("online_store.password_file: ", password.status().message()));
    }
  }
  settings.db = config.db;
  settings.connect_timeout = config.connect_timeout;
  settings.request_timeout = config.request_timeout;
  settings.where = absl::StrCat("redis at ", config.host, ":", config.port);
  settings.project = std::string(project);
  if (config.tls.enabled) {
    absl::StatusOr<std::shared_ptr<const TlsContext>> tls = TlsContext::Client(
        {.ca_file = config.tls.ca_file, .cert_file = config.tls.cert_file,
         .key_file = config.tls.key_file});
    if (tls.ok()) {
      settings.tls = *std::move(tls);
    } else if (settings.config_error.ok()) {
      settings.config_error =
          absl::InvalidArgumentError(absl::StrCat("online_store.tls: ", tls.status().message()));
    }
    settings.tls_server_name = config.tls.server_name;
    settings.where = absl::StrCat("redis at ", config.host, ":", config.port, " (TLS)");
  }
  return settings;
}

// --- RedisLink ---------------------------------------------------------------

RedisLink::~RedisLink() {
  if (tls_ != nullptr) {
    if (c_->err == 0) tls_->Close();
    tls_.reset();
  }
  redisFree(c_);
}

void RedisLink::SetError(int type, absl::string_view message) {
  c_->err = type;
  const size_t n = std::min(message.size(), sizeof(c_->errstr) - 1);
  std::memcpy(c_->errstr, message.data(), n);
  c_->errstr[n] = '\0';
}

bool RedisLink::Append(absl::string_view resp) {
  if (tls_ == nullptr) return redisAppendFormattedCommand(c_, resp.data(), resp.size()) == REDIS_OK;
  out_.append(resp.data(), resp.size());
  return true;
}

bool RedisLink::AppendArgv(int argc, const char** argv, const size_t* lengths) {
  if (tls_ == nullptr) return redisAppendCommandArgv(c_, argc, argv, lengths) == REDIS_OK;
  char* cmd = nullptr;
  const long long n = redisFormatCommandArgv(&cmd, argc, argv, lengths);
  if (n < 0) return false;
  out_.append(cmd, static_cast<size_t>(n));
  redisFreeCommand(cmd);
  return true;
}

bool RedisLink::Flush() {
  if (tls_ == nullptr) {
    int done = 0;
    while (!done) {
      if (redisBufferWrite(c_, &done) != REDIS_OK) return false;
    }
    return true;
  }
  if (out_.empty()) return true;
  const bool ok = tls_->Write(out_.data(), out_.size()) >= 0;
  if (!ok) SetError(REDIS_ERR_IO, tls_->error());
  // Like hiredis' own buffer, a large one is not kept.
  constexpr size_t kMaxKept = size_t{1} << 20;
  if (out_.capacity() > kMaxKept) {
    std::string().swap(out_);
  } else {
    out_.clear();
  }
  return ok;
}

bool RedisLink::GetReply(redisReply** reply) {
  if (tls_ == nullptr) return redisGetReply(c_, reinterpret_cast<void**>(reply)) == REDIS_OK;
  *reply = nullptr;
  if (c_->err != 0) return false;
  auto from_reader = [&]() {
    void* r = nullptr;
    if (redisReaderGetReply(c_->reader, &r) != REDIS_OK) {
      SetError(REDIS_ERR_PROTOCOL, c_->reader->errstr);
      return false;
    }
    *reply = static_cast<redisReply*>(r);
    return true;
  };
  if (!from_reader()) return false;
  if (*reply != nullptr) return true;
  if (!Flush()) return false;
  char buf[16 * 1024];
  while (*reply == nullptr) {
    const ssize_t n = tls_->Read(buf, sizeof(buf));
    if (n <= 0) {
      const int saved = errno;
      SetError(n == 0 ? REDIS_ERR_EOF : REDIS_ERR_IO,
               n == 0 ? "Server closed the connection" : tls_->error());
      errno = saved;
      return false;
    }
    if (redisReaderFeed(c_->reader, buf, static_cast<size_t>(n)) != REDIS_OK) {
      SetError(REDIS_ERR_PROTOCOL, c_->reader->errstr);
      return false;
    }
    if (!from_reader()) return false;
  }
  return true;
}

Reply RedisLink::Command(int argc, const char** argv, const size_t* lengths) {
  redisReply* r = nullptr;
  if (!AppendArgv(argc, argv, lengths) || !GetReply(&r)) return nullptr;
  return Reply(r);
}

absl::Status TakeRowReply(const ViewRead& read, const redisReply& row, absl::string_view where,
                          ViewReadResult* result) {
  if (row.type == REDIS_REPLY_NIL) {
    result->values.resize(read.feature_ids.size());
    return absl::OkStatus();
  }
  if (row.type != REDIS_REPLY_STRING) return UnexpectedReplyStatus(where, "MGET", row);
  absl::Status status = UnpackRow(ReplyText(row), read.feature_ids, read.view, read.key,
                                  &result->event_time, &result->values);
  if (!status.ok()) return absl::Status(status.code(), absl::StrCat(where, ": ", status.message()));
  result->found = true;
  return absl::OkStatus();
}

absl::Status TakeWriteOutcome(const ViewWrite& write, size_t index, const redisReply& outcome,
                              absl::string_view where, WriteResult* result) {
  const long long code = outcome.type == REDIS_REPLY_INTEGER ? outcome.integer : -1;
  if (code == 1) {
    ++result->written;
    return absl::OkStatus();
  }
  if (code == 0) {
    ++result->skipped_older;
    result->skipped.push_back(index);
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      where, ": feature view '", write.view, "': key ", write.key,
      code == 3 ? " holds another Redis type, not a Pantry row"
                : " holds a string that is not a row Pantry can read (a newer row format, "
                  "or not written by Pantry)",
      "; the row was not written"));
}

// Runs one command; `name` (not the arguments, which may hold the password)
// names it in errors. An error reply is UNAVAILABLE: set-up failed.
absl::StatusOr<Reply> RunCommand(RedisLink* c, const RedisSettings& settings,
                                 std::vector<absl::string_view> args, absl::string_view name) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (absl::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  Reply reply = c->Command(static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (reply == nullptr) {
    return absl::UnavailableError(absl::StrCat(settings.where, ": ", c->errstr()));
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    return absl::UnavailableError(
        absl::StrCat(settings.where, ": ", name, " failed: ", ReplyText(*reply)));
  }
  return reply;
}

bool IsHashLayoutKey(absl::string_view key, absl::string_view prefix) {
  if (!absl::ConsumePrefix(&key, prefix) || key.empty()) return false;
  return key[0] != '{' && key[0] != '#' && absl::StrContains(key, '=');
}

absl::Status LayoutRefusal(absl::string_view where, absl::string_view project,
                           absl::string_view why) {
  return absl::FailedPreconditionError(absl::StrCat(
      where, ": project '", project, "' ", why,
      ". Stop every older pantryd, then run 'pantry online migrate --config "
      "<feature_repo.yaml>' to rewrite it in place (docs/redis-layout.md, \"Migrating\")"));
}

absl::Status CheckLayoutVersion(absl::string_view where, absl::string_view project,
                                absl::string_view version) {
  if (version == kLayoutVersion) return absl::OkStatus();
  if (version == "migrating") {
    return LayoutRefusal(where, project, "is being migrated to the row layout");
  }
  return LayoutRefusal(where, project,
                       absl::StrCat("is in online layout '", version,
                                    "', which this pantryd does not serve (it serves layout ",
                                    kLayoutVersion, ")"));
}

absl::Status RenameOldCoordinationKeys(RedisLink* c, const RedisSettings& settings,
                                       absl::string_view project) {
  static constexpr char kRenameUnlessTaken[] =
      "if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('EXISTS', KEYS[2]) == 0 then "
      "redis.call('RENAME', KEYS[1], KEYS[2]) return 1 end return 0";
  for (const auto& [old_key, new_key] :
       {std::pair{absl::StrCat(project, ":#watermarks"), WatermarksKey(project)},
        std::pair{absl::StrCat(project, ":#lease-seq"), LeaseSeqKey(project)}}) {
    PANTRY_RETURN_IF_ERROR(
        RunCommand(c, settings, {"EVAL", kRenameUnlessTaken, "2", old_key, new_key},
                   "EVAL (rename)")
            .status());
  }
  return absl::OkStatus();
}

absl::Status CheckLayoutOn(RedisLink* c, const RedisSettings& settings) {
  const std::string layout_key = LayoutKey(settings.project);
  auto refuse = [&](absl::string_view why) {
    return LayoutRefusal(settings.where, settings.project, why);
  };
  for (int attempt = 0; attempt < 2; ++attempt) {
    PANTRY_ASSIGN_OR_RETURN(Reply layout, RunCommand(c, settings, {"GET", layout_key}, "GET"));
    if (layout->type == REDIS_REPLY_STRING) {
      PANTRY_RETURN_IF_ERROR(
          CheckLayoutVersion(settings.where, settings.project, ReplyText(*layout)));
      // A layout-2 store written before the coordination keys had their hash
      // tag keeps its watermarks.
      return RenameOldCoordinationKeys(c, settings, settings.project);
    }
    if (attempt > 0) break;
    const std::string prefix = absl::StrCat(settings.project, ":");
    const std::string match = absl::StrCat(prefix, "*");
    std::string cursor = "0";
    do {
      PANTRY_ASSIGN_OR_RETURN(
          Reply page,
          RunCommand(c, settings, {"SCAN", cursor, "MATCH", match, "COUNT", "1000"}, "SCAN"));
      if (page->type != REDIS_REPLY_ARRAY || page->elements != 2) {
        return absl::UnavailableError(absl::StrCat(settings.where, ": unexpected SCAN reply"));
      }
      cursor = std::string(ReplyText(*page->element[0]));
      const redisReply& keys = *page->element[1];
      for (size_t i = 0; i < keys.elements; ++i) {
        const absl::string_view key = ReplyText(*keys.element[i]);
        if (IsHashLayoutKey(key, prefix)) {
          return refuse(absl::StrCat("holds online data in the layout before rows (e.g. hash '",
                                     key, "'), which this pantryd does not serve"));
        }
      }
    } while (cursor != "0");
    PANTRY_RETURN_IF_ERROR(
        RunCommand(c, settings, {"SET", layout_key, kLayoutVersion, "NX"}, "SET").status());
  }
  return absl::UnavailableError(absl::StrCat(settings.where, ": ", layout_key, " vanished"));
}

absl::StatusOr<Context> OpenRedis(const RedisSettings& settings, std::string* script_sha) {
  PANTRY_RETURN_IF_ERROR(settings.config_error);
  redisContext* raw = settings.connect_timeout > 0
                          ? redisConnectWithTimeout(settings.host.c_str(), settings.port,
                                                    ToTimeval(settings.connect_timeout))
                          : redisConnect(settings.host.c_str(), settings.port);
  if (raw == nullptr) return absl::UnavailableError(absl::StrCat(settings.where, ": out of memory"));
  if (raw->err) {
    const std::string message = raw->errstr;
    redisFree(raw);
    return absl::UnavailableError(absl::StrCat(settings.where, ": ", message));
  }
  std::unique_ptr<TlsSession> tls;
  if (settings.tls != nullptr) {
    // The handshake is bounded by connect_timeout, what follows by
    // request_timeout.
    if (settings.connect_timeout > 0) redisSetTimeout(raw, ToTimeval(settings.connect_timeout));
    absl::StatusOr<std::unique_ptr<TlsSession>> session = TlsSession::Connect(
        *settings.tls, raw->fd,
        settings.tls_server_name.empty() ? settings.host : settings.tls_server_name);
    if (!session.ok()) {
      redisFree(raw);
      return absl::UnavailableError(
          absl::StrCat(settings.where, ": TLS: ", session.status().message()));
    }
    tls = *std::move(session);
  }
  Context context = std::make_unique<RedisLink>(raw, std::move(tls));
  RedisLink* c = context.get();
  auto set_up = [&]() -> absl::Status {
    if (settings.request_timeout > 0 &&
        redisSetTimeout(raw, ToTimeval(settings.request_timeout)) != REDIS_OK) {
      return absl::UnavailableError(absl::StrCat(settings.where, ": ", c->errstr()));
    }
    redisEnableKeepAlive(raw);
    if (!settings.password.empty()) {
      std::vector<absl::string_view> auth{"AUTH"};
      if (!settings.username.empty()) auth.push_back(settings.username);
      auth.push_back(settings.password);
      PANTRY_RETURN_IF_ERROR(RunCommand(c, settings, auth, "AUTH").status());
    }
    if (settings.db != 0) {
      PANTRY_RETURN_IF_ERROR(
          RunCommand(c, settings, {"SELECT", std::to_string(settings.db)}, "SELECT").status());
    }
    if (!settings.project.empty()) PANTRY_RETURN_IF_ERROR(CheckLayoutOn(c, settings));
    PANTRY_ASSIGN_OR_RETURN(Reply sha,
                            RunCommand(c, settings, {"SCRIPT", "LOAD", kRowWriteScript},
                                       "SCRIPT LOAD"));
    script_sha->assign(sha->str, sha->len);
    return absl::OkStatus();
  };
  PANTRY_RETURN_IF_ERROR(set_up());
  return context;
}

absl::StatusOr<Reply> RedisConnection::Run(const std::vector<std::string>& args) {
  const SigpipeGuard no_sigpipe;
  if (context_ == nullptr) {
    std::string sha;
    PANTRY_ASSIGN_OR_RETURN(context_, OpenRedis(settings_, &sha));
  }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  Reply reply = context_->Command(static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (reply == nullptr) {
    const std::string message = context_->errstr();
    context_.reset();
    return absl::UnavailableError(absl::StrCat(settings_.where, ": ", message));
  }
  return reply;
}

}  // namespace pantry::internal
