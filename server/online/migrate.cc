#include "server/online/migrate.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "server/common/sigpipe.h"
#include "server/common/status.h"
#include "server/online/online_store.h"
#include "server/online/redis_conn.h"
#include "server/online/row.h"
#include "server/value/encoding.h"

namespace pantry {
namespace {

using internal::Reply;
using internal::ReplyText;

// Deletes a layout-1 hash only when it still has the fields and event times
// that were migrated. KEYS[1]: the hash; ARGV: its field count, then
// ("#ts:<view>", event time) pairs. 1: deleted; 0: changed meanwhile.
constexpr absl::string_view kDeleteIfUnchanged = R"lua(
if redis.call('HLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return 0 end
end
redis.call('DEL', KEYS[1])
return 1
)lua";

// A hash changed by a writer this many times in a row is given up on.
constexpr int kMaxRounds = 10;
// Passes over the keyspace before concluding that writers keep adding
// layout-1 hashes.
constexpr int kMaxPasses = 5;
// Failures named in the error.
constexpr size_t kNamedFailures = 5;

// One view of a layout-1 hash.
struct HashView {
  std::string name;
  std::string ts_text;  // as stored, for the unchanged check
  Micros ts = 0;
  std::vector<std::pair<std::string, std::string>> features;  // name, encoding
};

struct Hash {
  std::string key;
  size_t fields = 0;
  Micros pttl = -1;  // remaining expiry in ms; negative: none
  std::vector<HashView> views;
};

// Reads the fields of a layout-1 hash ("#ts:<view>", "<view>:<feature>").
// Features of a view without an event time were never visible and are
// dropped. DATA_LOSS for what Pantry cannot read.
absl::Status ParseHash(const redisReply& all, Hash* hash) {
  if (all.type != REDIS_REPLY_ARRAY) {
    return absl::DataLossError(absl::StrCat("key ", hash->key, ": not a hash"));
  }
  hash->fields = all.elements / 2;
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> features;
  for (size_t i = 0; i + 1 < all.elements; i += 2) {
    absl::string_view field = ReplyText(*all.element[i]);
    const absl::string_view value = ReplyText(*all.element[i + 1]);
    if (absl::ConsumePrefix(&field, "#ts:")) {
      HashView view;
      view.name = std::string(field);
      view.ts_text = std::string(value);
      const auto res = std::from_chars(value.data(), value.data() + value.size(), view.ts);
      if (res.ec != std::errc() || res.ptr != value.data() + value.size()) {
        return absl::DataLossError(absl::StrCat("key ", hash->key, ": field #ts:", view.name,
                                                " holds \"", value, "\", not an event time"));
      }
      hash->views.push_back(std::move(view));
      continue;
    }
    const size_t colon = field.find(':');
    if (colon == absl::string_view::npos) {
      return absl::DataLossError(
          absl::StrCat("key ", hash->key, ": field '", field, "' is not <view>:<feature>"));
    }
    auto size = EncodedValueSize(value);
    if (!size.ok() || *size != value.size()) {
      return absl::DataLossError(absl::StrCat("key ", hash->key, ": field '", field,
                                              "' does not hold one encoded value"));
    }
    features.push_back({std::string(field.substr(0, colon)),
                        {std::string(field.substr(colon + 1)), std::string(value)}});
  }
  for (auto& [view_name, feature] : features) {
    for (HashView& view : hash->views) {
      if (view.name == view_name) {
        view.features.push_back(std::move(feature));
        break;
      }
    }
  }
  return absl::OkStatus();
}

// The row key of `view` for the layout-1 hash `key` of `prefix`
// ("<project>:"). Layout 1 escaped the entity text as layout 2 does except
// for braces; '%' was escaped, so escaping them now is unambiguous.
std::string RowKeyOf(absl::string_view key, absl::string_view prefix, absl::string_view view) {
  std::string out(prefix);
  out.push_back('{');
  for (char c : key.substr(prefix.size())) {
    if (c == '{') {
      out.append("%7B");
    } else if (c == '}') {
      out.append("%7D");
    } else {
      out.push_back(c);
    }
  }
  out.append("}:");
  out.append(view.data(), view.size());
  return out;
}

class Migrator {
 public:
  Migrator(internal::RedisLink* c, const internal::RedisSettings& settings, std::string row_sha,
           std::string prefix, const MigrationOptions& options)
      : c_(c),
        settings_(settings),
        row_sha_(std::move(row_sha)),
        prefix_(std::move(prefix)),
        options_(options) {}

  absl::Status LoadScripts() {
    PANTRY_ASSIGN_OR_RETURN(Reply sha, Run({"SCRIPT", "LOAD", std::string(kDeleteIfUnchanged)}));
    delete_sha_ = std::string(ReplyText(*sha));
    return absl::OkStatus();
  }

  // One pass over the keyspace; returns whether it found layout-1 hashes.
  absl::StatusOr<bool> Pass() {
    ++progress_.pass;
    progress_.keys_scanned = 0;
    bool found = false;
    std::string cursor = "0";
    const std::string match = absl::StrCat(prefix_, "*");
    do {
      PANTRY_ASSIGN_OR_RETURN(
          Reply page,
          Run({"SCAN", cursor, "MATCH", match, "COUNT", std::to_string(options_.scan_count)}));
      if (page->type != REDIS_REPLY_ARRAY || page->elements != 2) {
        return absl::UnavailableError(absl::StrCat(settings_.where, ": unexpected SCAN reply"));
      }
      cursor = std::string(ReplyText(*page->element[0]));
      const redisReply& keys = *page->element[1];
      std::vector<std::string> hashes;
      for (size_t i = 0; i < keys.elements; ++i) {
        const absl::string_view key = ReplyText(*keys.element[i]);
        if (internal::IsHashLayoutKey(key, prefix_)) hashes.emplace_back(key);
      }
      found = found || !hashes.empty();
      PANTRY_RETURN_IF_ERROR(MigrateHashes(std::move(hashes)));
      progress_.keys_scanned += static_cast<int64_t>(keys.elements);
      if (options_.progress) options_.progress(progress_);
      if (options_.stop && options_.stop()) {
        return absl::CancelledError("migration stopped; run it again to finish");
      }
    } while (cursor != "0");
    return found;
  }

  MigrationProgress& progress() { return progress_; }
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  absl::Status MigrateHashes(std::vector<std::string> keys) {
    for (int round = 0; !keys.empty(); ++round) {
      if (round == kMaxRounds) {
        return absl::FailedPreconditionError(absl::StrCat(
            "hash ", keys[0], " changed under the migration ", kMaxRounds,
            " times in a row; stop every older pantryd writing to it and run again"));
      }
      if (round > 0) progress_.hashes_retried += static_cast<int64_t>(keys.size());
      PANTRY_ASSIGN_OR_RETURN(std::vector<Hash> hashes, ReadHashes(keys));
      PANTRY_RETURN_IF_ERROR(WriteRows(&hashes));
      PANTRY_ASSIGN_OR_RETURN(keys, DeleteUnchanged(hashes));
    }
    return absl::OkStatus();
  }

  // Reads `keys`; those gone meanwhile are left out, those Pantry cannot
  // read are recorded as failures and left in place.
  absl::StatusOr<std::vector<Hash>> ReadHashes(const std::vector<std::string>& keys) {
    for (const std::string& key : keys) {
      Append({"HGETALL", key});
      Append({"PTTL", key});
    }
    PANTRY_ASSIGN_OR_RETURN(std::vector<Reply> replies, Replies());
    std::vector<Hash> hashes;
    for (size_t i = 0; i < keys.size(); ++i) {
      Hash hash;
      hash.key = keys[i];
      const redisReply& all = *replies[2 * i];
      if (all.type == REDIS_REPLY_ARRAY && all.elements == 0) continue;  // deleted meanwhile
      if (absl::Status status = ParseHash(all, &hash); !status.ok()) {
        failures_.emplace_back(status.message());
        continue;
      }
      const redisReply& pttl = *replies[2 * i + 1];
      if (pttl.type == REDIS_REPLY_INTEGER) hash.pttl = pttl.integer;
      hashes.push_back(std::move(hash));
    }
    return hashes;
  }

  // Writes the rows of every hash, newer-wins. A hash whose row key holds
  // something else is recorded as a failure and not deleted.
  absl::Status WriteRows(std::vector<Hash>* hashes) {
    std::vector<std::pair<size_t, const HashView*>> sent;
    for (size_t h = 0; h < hashes->size(); ++h) {
      const Hash& hash = (*hashes)[h];
      for (const HashView& view : hash.views) {
        Micros expiry_ms = 0;
        if (hash.pttl > 0) {
          expiry_ms = hash.pttl;
        } else if (auto it = options_.online_ttls.find(view.name);
                   it != options_.online_ttls.end() && it->second > 0) {
          expiry_ms = (it->second + 999) / 1000;
        }
        Append({"EVALSHA", row_sha_, "1", RowKeyOf(hash.key, prefix_, view.name),
                std::to_string(expiry_ms), PackRow(view.ts, view.features)});
        sent.emplace_back(h, &view);
      }
    }
    PANTRY_ASSIGN_OR_RETURN(std::vector<Reply> replies, Replies());
    std::vector<bool> failed(hashes->size(), false);
    for (size_t i = 0; i < sent.size(); ++i) {
      const redisReply& reply = *replies[i];
      const Hash& hash = (*hashes)[sent[i].first];
      if (reply.type == REDIS_REPLY_ERROR) {
        return absl::UnavailableError(
            absl::StrCat(settings_.where, ": row write failed: ", ReplyText(reply)));
      }
      const long long code = reply.type == REDIS_REPLY_ARRAY && reply.elements == 1 &&
                                     reply.element[0]->type == REDIS_REPLY_INTEGER
                                 ? reply.element[0]->integer
                                 : -1;
      if (code == 1) {
        ++progress_.rows_written;
      } else if (code == 0) {
        ++progress_.rows_skipped;
      } else if (!failed[sent[i].first]) {
        failed[sent[i].first] = true;
        failures_.push_back(absl::StrCat("key ", hash.key, ": its row key ",
                                         RowKeyOf(hash.key, prefix_, sent[i].second->name),
                                         " holds a value that is not a Pantry row"));
      }
    }
    std::vector<Hash> kept;
    for (size_t h = 0; h < hashes->size(); ++h) {
      if (!failed[h]) kept.push_back(std::move((*hashes)[h]));
    }
    *hashes = std::move(kept);
    return absl::OkStatus();
  }

  // Deletes every hash still as read; returns the keys changed meanwhile.
  absl::StatusOr<std::vector<std::string>> DeleteUnchanged(const std::vector<Hash>& hashes) {
    if (options_.before_delete && !hashes.empty()) {
      std::vector<std::string> keys;
      for (const Hash& hash : hashes) keys.push_back(hash.key);
      options_.before_delete(keys);
    }
    for (const Hash& hash : hashes) {
      std::vector<std::string> args{"EVALSHA", delete_sha_, "1", hash.key,
                                    std::to_string(hash.fields)};
      for (const HashView& view : hash.views) {
        args.push_back(absl::StrCat("#ts:", view.name));
        args.push_back(view.ts_text);
      }
      Append(args);
    }
    PANTRY_ASSIGN_OR_RETURN(std::vector<Reply> replies, Replies());
    std::vector<std::string> changed;
    for (size_t i = 0; i < hashes.size(); ++i) {
      const redisReply& reply = *replies[i];
      if (reply.type == REDIS_REPLY_ERROR) {
        return absl::UnavailableError(
            absl::StrCat(settings_.where, ": delete of ", hashes[i].key, ": ", ReplyText(reply)));
      }
      if (reply.type == REDIS_REPLY_INTEGER && reply.integer == 1) {
        ++progress_.hashes_migrated;
      } else {
        changed.push_back(hashes[i].key);
      }
    }
    return changed;
  }

  void Append(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    c_->AppendArgv(static_cast<int>(args.size()), argv.data(), lengths.data());
    ++appended_;
  }

  // The replies of every appended command, in order.
  absl::StatusOr<std::vector<Reply>> Replies() {
    std::vector<Reply> replies;
    replies.reserve(appended_);
    absl::Status status;
    for (; appended_ > 0; --appended_) {
      redisReply* reply = nullptr;
      if (status.ok() && !c_->GetReply(&reply)) {
        status = absl::UnavailableError(absl::StrCat(settings_.where, ": ", c_->errstr()));
      }
      if (status.ok()) replies.emplace_back(reply);
    }
    if (!status.ok()) return status;
    return replies;
  }

  absl::StatusOr<Reply> Run(const std::vector<std::string>& args) {
    std::vector<absl::string_view> views(args.begin(), args.end());
    return internal::RunCommand(c_, settings_, views, args[0]);
  }

  internal::RedisLink* const c_;
  const internal::RedisSettings& settings_;
  const std::string row_sha_;
  const std::string prefix_;
  const MigrationOptions& options_;
  std::string delete_sha_;
  size_t appended_ = 0;
  MigrationProgress progress_;
  std::vector<std::string> failures_;
};

}  // namespace

absl::StatusOr<MigrationProgress> MigrateToRows(const OnlineStoreConfig& config,
                                                absl::string_view project,
                                                const MigrationOptions& options) {
  if (config.type == OnlineStoreConfig::Type::kRedisCluster) {
    return absl::InvalidArgumentError(
        "the online store is a Redis Cluster: Pantry has only ever written rows (layout 2) to a "
        "cluster, so there is nothing to migrate");
  }
  if (config.type != OnlineStoreConfig::Type::kRedis) {
    return absl::InvalidArgumentError(
        "the online store is not Redis (online_store.type): there is nothing to migrate");
  }
  const SigpipeGuard no_sigpipe;
  // No layout check on this connection: it is the one that changes layouts.
  const internal::RedisSettings settings = internal::SettingsFor(config, "");
  std::string row_sha;
  PANTRY_ASSIGN_OR_RETURN(internal::Context context, internal::OpenRedis(settings, &row_sha));
  internal::RedisLink* c = context.get();
  const std::string layout_key = LayoutKey(project);
  PANTRY_ASSIGN_OR_RETURN(Reply layout,
                          internal::RunCommand(c, settings, {"GET", layout_key}, "GET"));
  if (layout->type == REDIS_REPLY_STRING) {
    const absl::string_view version = ReplyText(*layout);
    if (version != kLayoutVersion && version != "migrating") {
      return absl::FailedPreconditionError(absl::StrCat(
          settings.where, ": project '", project, "' is in online layout '", version,
          "', which this pantry does not know; use the pantry that wrote it"));
    }
  }
  // While the rows are incomplete, pantryd must not serve them; a project
  // already serving layout 2 (stray hashes of an older pantryd) keeps serving.
  const bool serving = layout->type == REDIS_REPLY_STRING && ReplyText(*layout) == kLayoutVersion;
  if (!serving) {
    PANTRY_RETURN_IF_ERROR(
        internal::RunCommand(c, settings, {"SET", layout_key, "migrating"}, "SET").status());
  }
  PANTRY_ASSIGN_OR_RETURN(Reply size, internal::RunCommand(c, settings, {"DBSIZE"}, "DBSIZE"));
  const std::string prefix = absl::StrCat(project, ":");
  Migrator migrator(c, settings, row_sha, prefix, options);
  migrator.progress().keys_total = size->type == REDIS_REPLY_INTEGER ? size->integer : 0;
  PANTRY_RETURN_IF_ERROR(migrator.LoadScripts());
  for (int pass = 0;; ++pass) {
    if (pass == kMaxPasses) {
      return absl::FailedPreconditionError(absl::StrCat(
          "layout-1 hashes of project '", project, "' kept appearing over ", kMaxPasses,
          " passes: an older pantryd is still writing them; stop it and run again"));
    }
    PANTRY_ASSIGN_OR_RETURN(const bool found, migrator.Pass());
    if (!migrator.failures().empty()) break;
    if (!found) break;
  }
  if (!migrator.failures().empty()) {
    const auto& failures = migrator.failures();
    std::vector<std::string> named(failures.begin(),
                                   failures.begin() + std::min(failures.size(), kNamedFailures));
    return absl::DataLossError(absl::StrCat(
        failures.size(), " hash(es) could not be migrated and were left in place (",
        absl::StrJoin(named, "; "), failures.size() > kNamedFailures ? "; ..." : "",
        "). Fix or delete them, then run the migration again; pantryd serves once it completes"));
  }
  // Materialization's watermarks and token counter move to their layout-2
  // names (they carry the cluster hash tag now). Leases are not moved: no
  // older pantryd runs any more.
  PANTRY_RETURN_IF_ERROR(internal::RenameOldCoordinationKeys(c, settings, project));
  PANTRY_RETURN_IF_ERROR(
      internal::RunCommand(c, settings, {"SET", layout_key, kLayoutVersion}, "SET").status());
  return migrator.progress();
}

}  // namespace pantry
