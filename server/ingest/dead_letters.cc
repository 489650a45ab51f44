#include "server/ingest/dead_letters.h"

#include <algorithm>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/ingest/stream_redis.h"
#include "server/online/redis_cluster.h"

namespace pantry::ingest {
namespace {

using internal::Reply;

// KEYS[1]: the dead-letter stream; KEYS[2]: the source's stream; ARGV[1]:
// the dead letter's id. 1: replayed; 0: no such dead letter.
constexpr const char* kReplayScript = R"lua(
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return 0 end
local f = e[1][2]
local out = {}
for i = 1, #f, 2 do
  if string.sub(f[i], 1, 7) ~= 'pantry.' then
    out[#out + 1] = f[i]
    out[#out + 1] = f[i + 1]
  end
end
if #out > 0 then redis.call('XADD', KEYS[2], '*', unpack(out)) end
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
)lua";

constexpr int kPage = 500;

absl::StatusOr<const DataSource*> StreamSourceOf(const Registry& registry,
                                                 const std::string& name) {
  auto it = registry.sources.find(name);
  if (it == registry.sources.end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown source '", name, "'"));
  }
  if (!it->second.is_stream()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "source '", name, "' is not a stream source (type: redis_stream): it has no dead letters"));
  }
  return &it->second;
}

absl::Status Failed(const StreamRedis& redis, absl::string_view what, const redisReply& r) {
  return absl::UnavailableError(
      absl::StrCat(redis.where(), ": ", what, " failed: ", ReplyString(r)));
}

DeadLetterEntry TakeEntry(const redisReply& e) {
  DeadLetterEntry out;
  out.id = ReplyString(*e.element[0]);
  const redisReply& fields = *e.element[1];
  for (size_t f = 0; fields.type == REDIS_REPLY_ARRAY && f + 1 < fields.elements; f += 2) {
    std::string name = ReplyString(*fields.element[f]);
    std::string value = ReplyString(*fields.element[f + 1]);
    if (name == "pantry.entry_id") {
      out.entry_id = std::move(value);
    } else if (name == "pantry.reason") {
      out.reason = std::move(value);
    } else if (name == "pantry.at") {
      out.at = std::move(value);
    } else if (!absl::StartsWith(name, "pantry.")) {
      out.fields.emplace_back(std::move(name), std::move(value));
    }
  }
  return out;
}

// Entries of the dead-letter stream after `after` and up to `until` ("+":
// the end), at most `count`.
absl::StatusOr<std::vector<DeadLetterEntry>> Range(StreamRedis& redis, const std::string& key,
                                                   const std::string& after, int count,
                                                   const std::string& until = "+") {
  PANTRY_ASSIGN_OR_RETURN(
      Reply r, redis.Run(key, {"XRANGE", key, after.empty() ? "-" : absl::StrCat("(", after), until,
                               "COUNT", std::to_string(count)}));
  if (r->type != REDIS_REPLY_ARRAY) return Failed(redis, "XRANGE", *r);
  std::vector<DeadLetterEntry> out;
  for (size_t i = 0; i < r->elements; ++i) {
    const redisReply& e = *r->element[i];
    if (e.type == REDIS_REPLY_ARRAY && e.elements == 2) out.push_back(TakeEntry(e));
  }
  return out;
}

}  // namespace

absl::StatusOr<DeadLetterPage> ListDeadLetters(const Registry& registry,
                                               const std::string& source_name, int limit,
                                               const std::string& after) {
  PANTRY_ASSIGN_OR_RETURN(const DataSource* source, StreamSourceOf(registry, source_name));
  std::unique_ptr<StreamRedis> redis = MakeStreamRedis(registry.online_store, *source, 0);
  const std::string& key = source->stream.dead_letter_stream;
  DeadLetterPage page;
  page.stream = key;
  PANTRY_ASSIGN_OR_RETURN(Reply len, redis->Run(key, {"XLEN", key}));
  if (len->type != REDIS_REPLY_INTEGER) return Failed(*redis, "XLEN", *len);
  page.total = len->integer;
  PANTRY_ASSIGN_OR_RETURN(page.entries, Range(*redis, key, after, limit > 0 ? limit : 100));
  return page;
}

absl::StatusOr<ReplayResult> ReplayDeadLetters(const Registry& registry,
                                               const std::string& source_name,
                                               const std::vector<std::string>& ids, int limit) {
  PANTRY_ASSIGN_OR_RETURN(const DataSource* source, StreamSourceOf(registry, source_name));
  std::unique_ptr<StreamRedis> redis = MakeStreamRedis(registry.online_store, *source, 0);
  const std::string& dlq = source->stream.dead_letter_stream;
  const std::string& stream = source->stream.stream;
  const bool atomic = !redis->cluster() || internal::KeySlot(dlq) == internal::KeySlot(stream);
  ReplayResult result;
  // Replays the dead letter `id` (whose entry is `entry` when already read).
  auto replay = [&](const std::string& id, const DeadLetterEntry* entry) -> absl::Status {
    if (atomic) {
      PANTRY_ASSIGN_OR_RETURN(Reply r,
                              redis->Run(stream, {"EVAL", kReplayScript, "2", dlq, stream, id}));
      if (r->type != REDIS_REPLY_INTEGER) return Failed(*redis, "replaying a dead letter", *r);
      ++(r->integer == 1 ? result.replayed : result.missing);
      return absl::OkStatus();
    }
    // The keys are in two slots: added, then deleted (a crash between the
    // two replays the entry twice).
    DeadLetterEntry read;
    if (entry == nullptr) {
      PANTRY_ASSIGN_OR_RETURN(Reply r, redis->Run(dlq, {"XRANGE", dlq, id, id}));
      if (r->type != REDIS_REPLY_ARRAY) return Failed(*redis, "XRANGE", *r);
      if (r->elements == 0) {
        ++result.missing;
        return absl::OkStatus();
      }
      read = TakeEntry(*r->element[0]);
      entry = &read;
    }
    if (!entry->fields.empty()) {
      std::vector<std::string> args = {"XADD", stream, "*"};
      for (const auto& [f, v] : entry->fields) {
        args.push_back(f);
        args.push_back(v);
      }
      PANTRY_ASSIGN_OR_RETURN(Reply r, redis->Run(stream, args));
      if (r->type == REDIS_REPLY_ERROR) return Failed(*redis, "XADD", *r);
    }
    PANTRY_ASSIGN_OR_RETURN(Reply r, redis->Run(dlq, {"XDEL", dlq, id}));
    if (r->type == REDIS_REPLY_ERROR) return Failed(*redis, "XDEL", *r);
    ++result.replayed;
    return absl::OkStatus();
  };
  if (!ids.empty()) {
    for (const std::string& id : ids) PANTRY_RETURN_IF_ERROR(replay(id, nullptr));
    return result;
  }
  // Only the dead letters there now: one replayed and dead-lettered again
  // meanwhile (still bad) is not replayed twice.
  PANTRY_ASSIGN_OR_RETURN(Reply newest, redis->Run(dlq, {"XREVRANGE", dlq, "+", "-", "COUNT", "1"}));
  if (newest->type != REDIS_REPLY_ARRAY) return Failed(*redis, "XREVRANGE", *newest);
  if (newest->elements == 0) return result;
  const std::string until = ReplyString(*newest->element[0]->element[0]);
  std::string after;
  while (limit <= 0 || result.replayed < limit) {
    const int n = limit > 0 ? static_cast<int>(std::min<int64_t>(kPage, limit - result.replayed))
                            : kPage;
    PANTRY_ASSIGN_OR_RETURN(std::vector<DeadLetterEntry> page, Range(*redis, dlq, after, n, until));
    if (page.empty()) break;
    for (const DeadLetterEntry& e : page) PANTRY_RETURN_IF_ERROR(replay(e.id, &e));
    after = page.back().id;
  }
  return result;
}

}  // namespace pantry::ingest
