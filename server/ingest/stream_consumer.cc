#include "server/ingest/stream_consumer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "server/common/log.h"
#include "server/common/status.h"
#include "server/ingest/log_batch.h"
#include "server/online/redis_cluster.h"
#include "server/serving/aggregations.h"
#include "server/serving/online_serving.h"
#include "server/value/json_values.h"
#include "spdlog/spdlog.h"

namespace pantry::ingest {

using internal::Reply;

// KEYS[1]: the stream; KEYS[2]: AcksKey. ARGV[1]: group; ARGV[2]: consumer;
// ARGV[3]: the batch's LSN; ARGV[4], ARGV[5]: its lowest and highest entry
// id; ARGV[6...]: its entry ids. Returns one '1' (acked
// here: this copy counts) or '0' per entry, recorded under the LSN so that
// asking again gives the same answer.
const char* const StreamConsumer::kAckScript = R"lua(
local prev = redis.call('HGET', KEYS[2], ARGV[3])
if prev then return prev end
local lo, hi = ARGV[4], ARGV[5]
-- This consumer's pending entries between the batch's lowest and highest id.
local mine = {}
local from = lo
while true do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], from, hi, 1000, ARGV[2])
  for _, e in ipairs(p) do mine[e[1]] = true end
  if #p < 1000 then break end
  from = '(' .. p[#p][1]
end
local out, acked = {}, {}
for i = 6, #ARGV do
  if mine[ARGV[i]] then
    mine[ARGV[i]] = nil  -- an id listed twice counts once
    acked[#acked + 1] = ARGV[i]
    out[#out + 1] = '1'
  else
    out[#out + 1] = '0'
  end
end
for i = 1, #acked, 1000 do
  redis.call('XACK', KEYS[1], ARGV[1], unpack(acked, i, math.min(i + 999, #acked)))
end
local decision = table.concat(out)
redis.call('HSET', KEYS[2], ARGV[3], decision)
return decision
)lua";

namespace {

constexpr Micros kMaxRetryPause = 5 * kMicrosPerSecond;
constexpr Micros kRateWindow = 60 * kMicrosPerSecond;
constexpr size_t kCommandChunk = 512;  // ids per XACK / HDEL
constexpr absl::string_view kRecordTooLarge = "the entry is too large for one log record";

bool IsError(const redisReply& r) { return r.type == REDIS_REPLY_ERROR; }

// The millisecond part of an entry id ("1700000000000-3").
int64_t IdMillis(absl::string_view id) {
  int64_t ms = 0;
  (void)absl::SimpleAtoi(id.substr(0, id.find('-')), &ms);
  return ms;
}

}  // namespace


namespace {

// Entries of an XREADGROUP stream element's list, or of XAUTOCLAIM's.
absl::Status TakeEntries(const redisReply& list, absl::string_view where,
                         std::vector<StreamEntry>* out) {
  if (list.type != REDIS_REPLY_ARRAY) {
    return absl::InternalError(absl::StrCat(where, ": unexpected entry list"));
  }
  for (size_t i = 0; i < list.elements; ++i) {
    const redisReply& e = *list.element[i];
    if (e.type != REDIS_REPLY_ARRAY || e.elements != 2 ||
        e.element[0]->type != REDIS_REPLY_STRING) {
      return absl::InternalError(absl::StrCat(where, ": unexpected stream entry"));
    }
    StreamEntry entry;
    entry.id.assign(e.element[0]->str, e.element[0]->len);
    const redisReply& fields = *e.element[1];
    if (fields.type != REDIS_REPLY_ARRAY) {
      entry.deleted = true;
    } else {
      for (size_t f = 0; f + 1 < fields.elements; f += 2) {
        entry.fields.emplace_back(ReplyString(*fields.element[f]),
                                  ReplyString(*fields.element[f + 1]));
      }
    }
    out->push_back(std::move(entry));
  }
  return absl::OkStatus();
}

// An entry decoded by its source's schema: a value per column, and its
// event time. nullopt with *why set when it cannot be.
struct Decoded {
  std::map<std::string, Value, std::less<>> columns;
  Micros event_time = 0;
};

std::optional<Decoded> DecodeEntry(const DataSource& source, const StreamEntry& entry,
                                   std::string* why) {
  auto column_of = [&](const std::string& field) -> const std::string& {
    auto it = source.stream.field_map.find(field);
    return it == source.stream.field_map.end() ? field : it->second;
  };
  std::map<std::string, std::string, std::less<>> texts;   // column -> text
  std::map<std::string, nlohmann::json, std::less<>> json;  // column -> JSON value
  bool from_json = entry.fields.size() == 1 && entry.fields[0].first == "json" &&
                   source.FindColumn(column_of("json")) == nullptr;
  if (from_json) {
    nlohmann::json object = nlohmann::json::parse(entry.fields[0].second, nullptr, false);
    if (object.is_discarded() || !object.is_object()) {
      *why = "field 'json' does not hold a JSON object";
      return std::nullopt;
    }
    for (auto& [k, v] : object.items()) json[column_of(k)] = std::move(v);
  } else {
    for (const auto& [field, text] : entry.fields) texts[column_of(field)] = text;
  }
  auto has = [&](const std::string& c) { return from_json ? json.count(c) > 0 : texts.count(c) > 0; };
  auto value = [&](const std::string& c, ValueType type) -> absl::StatusOr<Value> {
    if (from_json) return JsonToValue(json.find(c)->second, type);
    return FieldTextToValue(texts.find(c)->second, type);
  };
  auto field_name = [&](const std::string& column) {
    for (const auto& [field, c] : source.stream.field_map) {
      if (c == column) return absl::StrCat("field '", field, "' (column '", column, "')");
    }
    return absl::StrCat("field '", column, "'");
  };

  Decoded out;
  for (const SourceColumn& c : source.schema) {
    if (!has(c.name)) {
      *why = absl::StrCat("lacks ", field_name(c.name));
      return std::nullopt;
    }
    absl::StatusOr<Value> v = value(c.name, c.dtype);
    if (!v.ok()) {
      *why = absl::StrCat(field_name(c.name), ": ", v.status().message());
      return std::nullopt;
    }
    out.columns.emplace(c.name, *std::move(v));
  }
  const std::string& ts = source.timestamp_field;
  if (auto it = out.columns.find(ts); it != out.columns.end()) {
    absl::StatusOr<Value> t = it->second.is_null() ? absl::InvalidArgumentError("null")
                                                   : it->second.CastTo(ValueType::kUnixTimestamp);
    if (!t.ok()) {
      *why = absl::StrCat(field_name(ts), ": not an event time");
      return std::nullopt;
    }
    out.event_time = t->get<int64_t>();
  } else {
    if (!has(ts)) {
      *why = absl::StrCat("lacks ", field_name(ts), ", the event time");
      return std::nullopt;
    }
    absl::StatusOr<Value> t = value(ts, ValueType::kUnixTimestamp);
    if (!t.ok() || t->is_null()) {
      *why = absl::StrCat(field_name(ts), ": ",
                          t.ok() ? "empty" : std::string(t.status().message()));
      return std::nullopt;
    }
    out.event_time = t->get<int64_t>();
  }
  return out;
}

}  // namespace

StreamConsumer::StreamConsumer(std::string source, std::string consumer,
                               const RegistryHolder* registry, OnlineStore* store, Wal* wal,
                               StreamLedger* ledger, std::unique_ptr<StreamRedis> redis,
                               IngestMetrics* metrics, ViewFreshness* freshness,
                               StreamConsumerOptions options)
    : source_(std::move(source)),
      consumer_(std::move(consumer)),
      registry_(registry),
      store_(store),
      wal_(wal),
      ledger_(ledger),
      redis_(std::move(redis)),
      metrics_(metrics),
      freshness_(freshness),
      options_(options) {
  status_.source = source_;
  status_.consumer = consumer_;
  status_.redis = redis_->where();
}

StreamConsumer::~StreamConsumer() { Stop(); }

void StreamConsumer::Start() {
  {
    std::lock_guard<std::mutex> lock(status_mu_);
    status_.running = true;
  }
  thread_ = std::thread([this] { Run(); });
}

void StreamConsumer::Stop() {
  {
    std::lock_guard<std::mutex> lock(wait_mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(status_mu_);
  status_.running = false;
}

bool StreamConsumer::Pause(Micros pause) {
  std::unique_lock<std::mutex> lock(wait_mu_);
  return !wake_.wait_for(lock, std::chrono::microseconds(pause), [&] { return stopping_.load(); });
}

SourceStatus StreamConsumer::Status() const {
  std::lock_guard<std::mutex> lock(status_mu_);
  SourceStatus out = status_;
  const Micros now = NowMicros();
  int64_t rows = 0;
  for (const auto& [at, n] : rate_) {
    if (at >= now - kRateWindow) rows += n;
  }
  out.rows_per_second = static_cast<double>(rows) / (kRateWindow / 1e6);
  return out;
}

void StreamConsumer::Failed(const absl::Status& st) {
  spdlog::warn("stream source '{}': {}", source_, st);
  std::lock_guard<std::mutex> lock(status_mu_);
  status_.last_error = std::string(st.message());
  status_.last_error_at = NowMicros();
  if (metrics_ != nullptr) metrics_->Error(source_);
}

void StreamConsumer::Run() {
  Micros pause = options_.retry_pause;
  while (!stopping()) {
    const absl::Status st = Step();
    if (st.ok()) {
      pause = options_.retry_pause;
      continue;
    }
    Failed(st);
    if (!Pause(pause)) break;
    pause = std::min(pause * 2, kMaxRetryPause);
  }
}

absl::Status StreamConsumer::Step() {
  const std::shared_ptr<const Registry> registry = registry_->Get();
  auto it = registry->sources.find(source_);
  if (it == registry->sources.end() || !it->second.is_stream()) {
    // The manager stops this consumer; until then there is nothing to do.
    Pause(options_.block);
    return absl::OkStatus();
  }
  const DataSource& source = it->second;
  if (!prepared_) {
    PANTRY_RETURN_IF_ERROR(Prepare(source));
    prepared_ = true;
  }
  PANTRY_RETURN_IF_ERROR(Forget(source));
  const Micros now = NowMicros();
  if (now >= next_status_) {
    PANTRY_RETURN_IF_ERROR(RefreshLag(source));
    next_status_ = now + options_.status_every;
  }
  const int count = source.stream.batch;
  if (now >= next_claim_) {
    PANTRY_ASSIGN_OR_RETURN(
        Reply r, redis_->Run(source.stream.stream,
                             {"XAUTOCLAIM", source.stream.stream, source.stream.group, consumer_,
                              std::to_string(source.stream.claim_idle / 1000), claim_cursor_,
                              "COUNT", std::to_string(count)}));
    if (IsError(*r) || r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
      return absl::UnavailableError(
          absl::StrCat(redis_->where(), ": XAUTOCLAIM failed: ", ReplyString(*r)));
    }
    claim_cursor_ = ReplyString(*r->element[0]);
    std::vector<Entry> claimed;
    PANTRY_RETURN_IF_ERROR(TakeEntries(*r->element[1], redis_->where(), &claimed));
    if (claim_cursor_ == "0-0") next_claim_ = now + source.stream.claim_idle / 2;
    if (!claimed.empty()) {
      spdlog::info("stream source '{}': claimed {} entries idle for {} ms from other consumers",
                   source_, claimed.size(), source.stream.claim_idle / 1000);
      {
        std::lock_guard<std::mutex> lock(status_mu_);
        status_.claimed += static_cast<int64_t>(claimed.size());
      }
      if (metrics_ != nullptr) metrics_->Claimed(source_, static_cast<int64_t>(claimed.size()));
      return Process(source, std::move(claimed));
    }
  }
  PANTRY_ASSIGN_OR_RETURN(
      Reply r, redis_->Run(source.stream.stream,
                           {"XREADGROUP", "GROUP", source.stream.group, consumer_, "COUNT",
                            std::to_string(count), "BLOCK",
                            std::to_string(std::max<Micros>(options_.block / 1000, 1)),
                            "STREAMS", source.stream.stream,
                            own_pending_ ? pending_cursor_ : std::string(">")}));
  if (IsError(*r)) {
    if (absl::StartsWith(ReplyString(*r), "NOGROUP")) prepared_ = false;  // deleted: make it again
    return absl::UnavailableError(
        absl::StrCat(redis_->where(), ": XREADGROUP failed: ", ReplyString(*r)));
  }
  std::vector<Entry> entries;
  if (r->type == REDIS_REPLY_ARRAY) {
    for (size_t s = 0; s < r->elements; ++s) {
      const redisReply& stream = *r->element[s];
      if (stream.type == REDIS_REPLY_ARRAY && stream.elements == 2) {
        PANTRY_RETURN_IF_ERROR(TakeEntries(*stream.element[1], redis_->where(), &entries));
      }
    }
  }
  if (own_pending_) {
    if (entries.empty()) {
      own_pending_ = false;  // this consumer's history is read: new entries from now on
      return absl::OkStatus();
    }
    pending_cursor_ = entries.back().id;
  }
  if (entries.empty()) return absl::OkStatus();
  return Process(source, std::move(entries));
}

absl::Status StreamConsumer::Prepare(const DataSource& source) {
  const StreamSource& st = source.stream;
  const std::string acks = AcksKey(st.stream, consumer_);
  if (redis_->cluster() && internal::KeySlot(acks) != internal::KeySlot(st.stream)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stream key '", st.stream, "' has braces that are not a hash tag; on a Redis Cluster "
        "give it a hash tag such as {", st.stream, "}"));
  }
  PANTRY_ASSIGN_OR_RETURN(
      Reply r, redis_->Run(st.stream, {"XGROUP", "CREATE", st.stream, st.group, "0", "MKSTREAM"}));
  if (IsError(*r) && !absl::StartsWith(ReplyString(*r), "BUSYGROUP")) {
    return absl::UnavailableError(absl::StrCat(redis_->where(), ": XGROUP CREATE ", st.stream,
                                               " ", st.group, " failed: ", ReplyString(*r)));
  }
  // Batches logged before a restart are decided before anything new is read.
  int64_t batches = 0, counted = 0, elsewhere = 0;
  for (auto& [lsn, ids] : ledger_->Recovering(source_)) {
    PANTRY_ASSIGN_OR_RETURN(std::string decision, Decide(source, lsn, ids));
    const int64_t here = std::count(decision.begin(), decision.end(), '1');
    ++batches;
    counted += here;
    elsewhere += static_cast<int64_t>(ids.size()) - here;
    ledger_->Decide(lsn, std::move(decision));
  }
  if (batches > 0) {
    spdlog::info("stream source '{}': {} batches logged before the restart acknowledged: {} "
                 "entries count here, {} were taken over by another consumer",
                 source_, batches, counted, elsewhere);
  }
  // Decisions of batches already compacted (a crash before they were
  // forgotten) are dropped.
  PANTRY_ASSIGN_OR_RETURN(Reply keys, redis_->Run(st.stream, {"HKEYS", acks}));
  if (keys->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < keys->elements; ++i) {
      uint64_t lsn = 0;
      if (absl::SimpleAtoi(ReplyString(*keys->element[i]), &lsn) &&
          ledger_->Decision(lsn).empty()) {
        to_forget_.push_back(lsn);
      }
    }
  }
  own_pending_ = true;
  pending_cursor_ = "0";
  return absl::OkStatus();
}

absl::StatusOr<std::string> StreamConsumer::Decide(const DataSource& source, uint64_t lsn,
                                                   const std::vector<std::string>& ids) {
  if (ids.empty()) return std::string();
  const StreamSource& st = source.stream;
  auto key = [](const std::string& id) {
    uint64_t ms = 0, seq = 0;
    const size_t dash = id.find('-');
    (void)absl::SimpleAtoi(absl::string_view(id).substr(0, dash), &ms);
    if (dash != std::string::npos) (void)absl::SimpleAtoi(absl::string_view(id).substr(dash + 1), &seq);
    return std::pair(ms, seq);
  };
  const auto [lo, hi] = std::minmax_element(
      ids.begin(), ids.end(),
      [&](const std::string& a, const std::string& b) { return key(a) < key(b); });
  std::vector<std::string> args = {"EVAL",    kAckScript, "2",      st.stream,
                                   AcksKey(st.stream, consumer_), st.group, consumer_,
                                   std::to_string(lsn), *lo, *hi};
  args.insert(args.end(), ids.begin(), ids.end());
  PANTRY_ASSIGN_OR_RETURN(Reply r, redis_->Run(st.stream, args));
  if (r->type != REDIS_REPLY_STRING || r->len != ids.size()) {
    return absl::UnavailableError(absl::StrCat(redis_->where(), ": acknowledging batch ", lsn,
                                               " of stream '", st.stream,
                                               "' failed: ", ReplyString(*r)));
  }
  return std::string(r->str, r->len);
}

absl::Status StreamConsumer::Forget(const DataSource& source) {
  std::vector<uint64_t> more = ledger_->TakeForgotten(source_);
  to_forget_.insert(to_forget_.end(), more.begin(), more.end());
  while (!to_forget_.empty()) {
    const size_t n = std::min(to_forget_.size(), kCommandChunk);
    std::vector<std::string> args = {"HDEL", AcksKey(source.stream.stream, consumer_)};
    for (size_t i = to_forget_.size() - n; i < to_forget_.size(); ++i) {
      args.push_back(std::to_string(to_forget_[i]));
    }
    PANTRY_ASSIGN_OR_RETURN(Reply r, redis_->Run(source.stream.stream, args));
    if (IsError(*r)) {
      return absl::UnavailableError(
          absl::StrCat(redis_->where(), ": HDEL failed: ", ReplyString(*r)));
    }
    to_forget_.resize(to_forget_.size() - n);
  }
  return absl::OkStatus();
}

absl::Status StreamConsumer::Ack(const DataSource& source, const std::vector<std::string>& ids) {
  for (size_t first = 0; first < ids.size(); first += kCommandChunk) {
    std::vector<std::string> args = {"XACK", source.stream.stream, source.stream.group};
    for (size_t i = first; i < std::min(ids.size(), first + kCommandChunk); ++i) {
      args.push_back(ids[i]);
    }
    PANTRY_ASSIGN_OR_RETURN(Reply r, redis_->Run(source.stream.stream, args));
    if (IsError(*r)) {
      return absl::UnavailableError(
          absl::StrCat(redis_->where(), ": XACK failed: ", ReplyString(*r)));
    }
  }
  return absl::OkStatus();
}

absl::Status StreamConsumer::DeadLetter(const DataSource& source,
                                        const std::vector<Entry>& entries,
                                        const std::vector<std::string>& reasons) {
  const std::string at = FormatRfc3339(NowMicros());
  for (size_t i = 0; i < entries.size(); ++i) {
    std::vector<std::string> args = {"XADD",          source.stream.dead_letter_stream,
                                     "*",             "pantry.source",
                                     source_,         "pantry.entry_id",
                                     entries[i].id,   "pantry.reason",
                                     reasons[i],      "pantry.at",
                                     at};
    for (const auto& [f, v] : entries[i].fields) {
      args.push_back(f);
      args.push_back(v);
    }
    PANTRY_ASSIGN_OR_RETURN(Reply r, redis_->Run(source.stream.dead_letter_stream, args));
    if (IsError(*r)) {
      return absl::UnavailableError(absl::StrCat(redis_->where(), ": XADD to dead-letter stream '",
                                                 source.stream.dead_letter_stream,
                                                 "' failed: ", ReplyString(*r)));
    }
  }
  return absl::OkStatus();
}

absl::Status StreamConsumer::RefreshLag(const DataSource& source) {
  const StreamSource& st = source.stream;
  PANTRY_ASSIGN_OR_RETURN(Reply groups, redis_->Run(st.stream, {"XINFO", "GROUPS", st.stream}));
  PANTRY_ASSIGN_OR_RETURN(Reply info, redis_->Run(st.stream, {"XINFO", "STREAM", st.stream}));
  int64_t pending = -1, lag = -1;
  std::string delivered, last_generated;
  auto fields = [](const redisReply& map, auto&& each) {
    if (map.type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i + 1 < map.elements; i += 2) {
      each(ReplyString(*map.element[i]), *map.element[i + 1]);
    }
  };
  if (groups->type == REDIS_REPLY_ARRAY) {
    for (size_t g = 0; g < groups->elements; ++g) {
      std::string name;
      int64_t p = -1, l = -1;
      std::string d;
      fields(*groups->element[g], [&](const std::string& k, const redisReply& v) {
        if (k == "name") name = ReplyString(v);
        if (k == "pending" && v.type == REDIS_REPLY_INTEGER) p = v.integer;
        if (k == "lag" && v.type == REDIS_REPLY_INTEGER) l = v.integer;
        if (k == "last-delivered-id") d = ReplyString(v);
      });
      if (name == st.group) {
        pending = p;
        lag = l;
        delivered = d;
      }
    }
  }
  fields(*info, [&](const std::string& k, const redisReply& v) {
    if (k == "last-generated-id") last_generated = ReplyString(v);
  });
  double behind = -1;
  if (!delivered.empty() && !last_generated.empty()) {
    behind = lag == 0 ? 0.0
                      : std::max<int64_t>(0, IdMillis(last_generated) - IdMillis(delivered)) / 1e3;
  }
  std::lock_guard<std::mutex> lock(status_mu_);
  status_.stream = st.stream;
  status_.group = st.group;
  status_.pending = pending;
  status_.lag = lag;
  status_.seconds_behind = behind;
  if (metrics_ != nullptr) metrics_->Lag(source_, pending, lag, behind);
  return absl::OkStatus();
}

absl::Status StreamConsumer::Process(const DataSource& source, const std::vector<Entry>& entries) {
  const absl::Status st = ProcessBatch(source, entries);
  if (!absl::IsInvalidArgument(st) || !absl::StartsWith(st.message(), kRecordTooLarge)) return st;
  if (entries.size() == 1) {
    PANTRY_RETURN_IF_ERROR(DeadLetter(source, entries, {std::string(st.message())}));
    return Ack(source, {entries[0].id});
  }
  const auto middle = entries.begin() + static_cast<std::ptrdiff_t>(entries.size() / 2);
  PANTRY_RETURN_IF_ERROR(Process(source, std::vector<Entry>(entries.begin(), middle)));
  return Process(source, std::vector<Entry>(middle, entries.end()));
}

absl::Status StreamConsumer::ProcessBatch(const DataSource& read_as,
                                          const std::vector<Entry>& entries) {
  // The registry now: an apply may have come while the read was blocked.
  const std::shared_ptr<const Registry> registry = registry_->Get();
  const auto now_as = registry->sources.find(source_);
  const DataSource& source = now_as != registry->sources.end() && now_as->second.is_stream()
                                 ? now_as->second
                                 : read_as;
  std::vector<const FeatureView*> views;
  for (const auto& [name, view] : registry->feature_views) {
    if (view.source == source_) views.push_back(&view);
  }
  const Micros now = NowMicros();
  const Micros latest_allowed = source.max_future > 0 ? now + source.max_future
                                                      : now + kMaxEventTimeAhead;
  std::vector<WriteRowChecker> checkers;
  checkers.reserve(views.size());
  for (const FeatureView* v : views) checkers.emplace_back(*v, latest_allowed);
  Micros watermark;
  {
    std::lock_guard<std::mutex> lock(status_mu_);
    watermark = status_.watermark;
  }

  StreamBatch batch;
  batch.source = source_;
  batch.logged_at = now;
  batch.views.resize(views.size());
  for (size_t v = 0; v < views.size(); ++v) {
    LogBatch& b = batch.views[v].batch;
    b.view = views[v]->name;
    b.online = views[v]->online;
    b.logged_at = now;  // the created timestamp of the rows offline
    for (const JoinKey& k : views[v]->join_keys) b.columns.push_back(k.name);
    for (const Feature& f : views[v]->written_columns()) b.columns.push_back(f.name);
  }
  std::vector<std::vector<CheckedRow>> online_rows(views.size());
  std::vector<Entry> dead;
  std::vector<std::string> reasons;
  std::vector<std::string> deleted;  // trimmed while pending: nothing to ingest
  int64_t late = 0, rows = 0;
  Micros newest = kNoTimestamp;
  for (const Entry& entry : entries) {
    if (entry.deleted) {
      deleted.push_back(entry.id);
      continue;
    }
    std::string why;
    std::optional<Decoded> decoded = DecodeEntry(source, entry, &why);
    std::vector<CheckedRow> checked(views.size());
    for (size_t v = 0; decoded && v < views.size(); ++v) {
      WriteRowInput input;
      input.event_time = decoded->event_time;
      for (const JoinKey& k : views[v]->join_keys) {
        input.values.emplace_back(k.name, decoded->columns.at(k.name));
      }
      for (const Feature& f : views[v]->written_columns()) {
        input.values.emplace_back(f.name, decoded->columns.at(f.name));
      }
      if (std::optional<RowProblem> problem = checkers[v].Check(input, &checked[v])) {
        why = absl::StrCat("feature view '", views[v]->name, "'",
                           problem->column.empty() ? ""
                                                   : absl::StrCat(", column '", problem->column, "'"),
                           ": ", problem->reason);
        if (decoded->event_time > latest_allowed && source.max_future > 0) {
          why = absl::StrCat("event time ", FormatRfc3339(decoded->event_time),
                             " is more than max_future (", source.max_future / kMicrosPerSecond,
                             "s) ahead of pantryd's clock");
        }
        decoded.reset();
      }
    }
    if (!decoded) {
      dead.push_back(entry);
      reasons.push_back(std::move(why));
      continue;
    }
    const uint32_t index = static_cast<uint32_t>(batch.entry_ids.size());
    batch.entry_ids.push_back(entry.id);
    if (watermark != kNoTimestamp && decoded->event_time < watermark) ++late;
    newest = std::max(newest, decoded->event_time);
    for (size_t v = 0; v < views.size(); ++v) {
      LogRow row;
      row.event_time = checked[v].event_time;
      row.values.reserve(checked[v].keys.size() + checked[v].features.size());
      for (const Value& k : checked[v].keys) row.values.push_back(k);
      for (const Value& f : checked[v].features) row.values.push_back(f);
      batch.views[v].batch.rows.push_back(std::move(row));
      batch.views[v].entry_of_row.push_back(index);
      if (views[v]->online) online_rows[v].push_back(std::move(checked[v]));
      ++rows;
    }
  }

  std::string decision;
  if (!batch.entry_ids.empty()) {
    // 2. Durable, then online.
    std::string record;
    EncodeStreamBatch(batch, &record);
    ledger_->Appending();
    absl::StatusOr<uint64_t> appended = wal_->Append(record);
    if (!appended.ok()) {
      ledger_->NotAppended();
      if (absl::IsInvalidArgument(appended.status())) {  // over the record limit
        return absl::InvalidArgumentError(
            absl::StrCat(kRecordTooLarge, ": ", appended.status().message()));
      }
      return appended.status();
    }
    const uint64_t lsn = *appended;
    ledger_->Logged(lsn, source_, batch.entry_ids.size());
    std::vector<ViewWrite> writes;
    std::vector<size_t> aggregation_views;  // written by their events, each on its own
    for (size_t v = 0; v < views.size(); ++v) {
      if (online_rows[v].empty()) continue;
      if (views[v]->is_aggregation()) {
        aggregation_views.push_back(v);
        continue;
      }
      std::vector<ViewWrite> w = OnlineWrites(*registry, *views[v], online_rows[v]);
      std::move(w.begin(), w.end(), std::back_inserter(writes));
    }
    Micros pause = options_.retry_pause;
    while (!writes.empty() || !aggregation_views.empty()) {
      const Micros deadline = NowMicros() + 10 * kMicrosPerSecond;
      absl::StatusOr<WriteResult> written =
          writes.empty() ? absl::StatusOr<WriteResult>(WriteResult())
                         : store_->WriteSync(writes, deadline);
      // Applying events again is harmless: a state counts each event once.
      for (size_t a = 0; a < aggregation_views.size() && written.ok(); ++a) {
        const size_t v = aggregation_views[a];
        written = WriteCheckedRowsSync(store_, *registry, *views[v], online_rows[v], NowMicros(),
                                       deadline);
      }
      if (written.ok()) break;
      Failed(absl::Status(written.status().code(),
                          absl::StrCat("writing online (the batch is logged, LSN ", lsn,
                                       "; retrying): ", written.status().message())));
      // Stopped: the batch is decided at the next start, after the log's
      // rows were written online again.
      if (!Pause(pause)) return absl::OkStatus();
      pause = std::min(pause * 2, kMaxRetryPause);
    }
    // 3. Acknowledged, deciding which copy counts.
    pause = options_.retry_pause;
    while (true) {
      absl::StatusOr<std::string> d = Decide(source, lsn, batch.entry_ids);
      if (d.ok()) {
        decision = *std::move(d);
        break;
      }
      Failed(d.status());
      if (!Pause(pause)) return absl::OkStatus();
      pause = std::min(pause * 2, kMaxRetryPause);
    }
    ledger_->Decide(lsn, decision);
  }
  // Bad entries: to the dead-letter stream, then acknowledged.
  if (!dead.empty()) PANTRY_RETURN_IF_ERROR(DeadLetter(source, dead, reasons));
  std::vector<std::string> ack = deleted;
  for (const Entry& e : dead) ack.push_back(e.id);
  if (!ack.empty()) PANTRY_RETURN_IF_ERROR(Ack(source, ack));

  const int64_t redelivered = std::count(decision.begin(), decision.end(), '0');
  std::lock_guard<std::mutex> lock(status_mu_);
  status_.entries += static_cast<int64_t>(entries.size());
  status_.rows += rows;
  status_.dead_letters += static_cast<int64_t>(dead.size());
  status_.late_rows += late;
  status_.redelivered += redelivered;
  if (newest != kNoTimestamp &&
      (status_.newest_event_time == kNoTimestamp || newest > status_.newest_event_time)) {
    status_.newest_event_time = newest;
    status_.watermark = newest - source.allowed_lateness;
  }
  rate_.emplace_back(now, rows);
  while (!rate_.empty() && rate_.front().first < now - kRateWindow) rate_.pop_front();
  if (metrics_ != nullptr) {
    metrics_->Consumed(source_, static_cast<int64_t>(batch.entry_ids.size()) - redelivered,
                       static_cast<int64_t>(dead.size()), redelivered, late);
    if (status_.watermark != kNoTimestamp) metrics_->Watermark(source_, status_.watermark);
  }
  for (size_t v = 0; v < views.size(); ++v) {
    if (newest == kNoTimestamp || !views[v]->online) continue;
    if (metrics_ != nullptr) metrics_->Fresh(views[v]->name, newest);
    if (freshness_ != nullptr) freshness_->Saw(views[v]->name, newest);
  }
  return absl::OkStatus();
}

}  // namespace pantry::ingest
