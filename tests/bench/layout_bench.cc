// Compares online store layouts on a real redis-server: redis-server CPU per
// write and per read, and memory per entity, for one 10-feature view.
//
//   layout_bench --port P [--entities N]
//
// Layouts (docs/redis-layout.md, "Why this layout"):
//   v1      one hash per entity, a field per feature and "#ts:<view>" (the
//           layout before format 1 rows), newer-wins by a Lua script;
//   row     one string per entity and view holding the packed row (the
//           chosen layout: kRowWriteScript);
//   hash    one hash per entity, a field per view holding the packed row;
// and the references: plain 10-field HSET and HMGET of the same 10 fields,
// pipelined like the rest. The server must be private to the benchmark: it
// is flushed.
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/online/redis_scripts.h"
#include "server/online/row.h"
#include "server/value/encoding.h"

namespace {

using pantry::Value;

constexpr int kFeatures = 10;
constexpr absl::string_view kView = "user_stats";

// The newer-wins script of the layout before rows (one HSET per key).
constexpr absl::string_view kV1Script = R"lua(
local function newer(a, b)
  local an, bn = a:byte(1) == 45, b:byte(1) == 45
  if an ~= bn then return bn end
  if #a ~= #b then return (#a > #b) ~= an end
  if an then return a < b end
  return a > b
end
local expiry = tonumber(ARGV[1])
local out = {}
local a, k = 2, 1
while k <= #KEYS do
  local field, n, m = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local names = a + 3
  local args = {field, false}
  for j = 1, n do args[2 * j + 1] = ARGV[names + j - 1] end
  a = names + n
  for _ = 1, m do
    local key, ts = KEYS[k], ARGV[a]
    local cur = redis.call('HGET', key, field)
    if cur and not newer(ts, cur) then
      out[k] = 0
    else
      args[2] = ts
      for j = 1, n do args[2 * j + 2] = ARGV[a + j] end
      redis.call('HSET', key, unpack(args))
      if expiry > 0 then redis.call('PEXPIRE', key, expiry) end
      out[k] = 1
    end
    a = a + 1 + n
    k = k + 1
  end
end
return out
)lua";

// One hash per entity, one field per view holding the row.
constexpr absl::string_view kHashScript = R"lua(
local field = ARGV[1]
local out = {}
for k = 1, #KEYS do
  local px, row = ARGV[2 * k], ARGV[2 * k + 1]
  local cur = redis.call('HGET', KEYS[k], field)
  if cur and #cur >= 9 then
    local nh, nl = struct.unpack('>I4I4', row, 2)
    local ch, cl = struct.unpack('>I4I4', cur, 2)
    if nh < ch or (nh == ch and nl <= cl) then
      out[k] = 0
    end
  end
  if not out[k] then
    redis.call('HSET', KEYS[k], field, row)
    if px ~= '0' then redis.call('PEXPIRE', KEYS[k], px) end
    out[k] = 1
  end
end
return out
)lua";

class Redis {
 public:
  explicit Redis(int port) : c_(redisConnect("127.0.0.1", port)) {
    if (c_ == nullptr || c_->err) {
      std::fprintf(stderr, "cannot connect to 127.0.0.1:%d\n", port);
      std::exit(2);
    }
  }
  ~Redis() { redisFree(c_); }

  void Append(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(c_, static_cast<int>(args.size()), argv.data(), lens.data());
    ++pending_;
  }
  // Reads every pending reply; exits on an error reply.
  void Flush() {
    for (; pending_ > 0; --pending_) {
      redisReply* r = nullptr;
      if (redisGetReply(c_, reinterpret_cast<void**>(&r)) != REDIS_OK) Die(c_->errstr);
      if (r->type == REDIS_REPLY_ERROR) Die(r->str);
      freeReplyObject(r);
    }
  }
  std::string Text(const std::vector<std::string>& args) {
    Append(args);
    redisReply* r = nullptr;
    --pending_;
    if (redisGetReply(c_, reinterpret_cast<void**>(&r)) != REDIS_OK) Die(c_->errstr);
    std::string out = r->str == nullptr ? std::to_string(r->integer) : std::string(r->str, r->len);
    freeReplyObject(r);
    return out;
  }
  double Info(absl::string_view section, absl::string_view field) {
    for (absl::string_view line : absl::StrSplit(Text({"INFO", std::string(section)}), "\r\n")) {
      if (absl::ConsumePrefix(&line, field) && absl::ConsumePrefix(&line, ":")) {
        return std::strtod(std::string(line).c_str(), nullptr);
      }
    }
    Die(absl::StrCat("INFO has no ", field).c_str());
    return 0;
  }
  double Cpu() { return Info("cpu", "used_cpu_user") + Info("cpu", "used_cpu_sys"); }

 private:
  [[noreturn]] static void Die(const char* what) {
    std::fprintf(stderr, "redis: %s\n", what);
    std::exit(1);
  }
  redisContext* c_;
  int pending_ = 0;
};

std::string FeatureName(int j) { return absl::StrCat("feature_", j < 10 ? "0" : "", j); }

std::vector<std::string> Encodings(int64_t i) {
  std::vector<std::string> out;
  for (int j = 0; j < kFeatures; ++j) {
    out.push_back(pantry::EncodeValue(Value::Double(static_cast<double>(i * 31 + j) / 7)));
  }
  return out;
}

std::string Row(int64_t i, int64_t ts) {
  std::vector<std::pair<std::string, std::string>> values;
  const auto enc = Encodings(i);
  for (int j = 0; j < kFeatures; ++j) values.emplace_back(FeatureName(j), enc[j]);
  return pantry::PackRow(ts, values);
}

std::string EntityKey(int64_t i) { return absl::StrCat("shop:user_id=", i); }
std::string RowKey(int64_t i) { return absl::StrCat("shop:{user_id=", i, "}:", kView); }

struct Layout {
  std::string name;
  // Appends the commands writing entities [first, last) at `ts`.
  std::function<void(Redis&, int64_t, int64_t, int64_t)> write;
  std::function<void(Redis&, int64_t, int64_t)> read;  // reads [first, last)
  std::function<std::string(int64_t)> key;             // the key of entity i
};

struct Figures {
  double load_us = 0, write_us = 0, skip_us = 0, read_us = 0, bytes = 0, memory_usage = 0;
};

Figures Measure(Redis& r, const Layout& l, int64_t n, int64_t batch) {
  r.Text({"FLUSHALL"});
  const double mem0 = r.Info("memory", "used_memory");
  Figures f;
  auto run_writes = [&](int64_t ts) {
    const double cpu0 = r.Cpu();
    for (int64_t i = 0; i < n; i += batch * 16) {
      for (int64_t b = i; b < std::min(n, i + batch * 16); b += batch) {
        l.write(r, b, std::min(n, b + batch), ts);
      }
      r.Flush();
    }
    return (r.Cpu() - cpu0) * 1e6 / static_cast<double>(n);
  };
  f.load_us = run_writes(1767225600000000);
  f.bytes = (r.Info("memory", "used_memory") - mem0) / static_cast<double>(n);
  f.write_us = run_writes(1767225600000000 + 3600000000);
  f.skip_us = run_writes(1767225600000000);
  f.memory_usage = std::stod(r.Text({"MEMORY", "USAGE", l.key(n / 2)}));
  const double cpu0 = r.Cpu();
  for (int64_t i = 0; i < n; i += 1000) {
    l.read(r, i, std::min(n, i + 1000));
    r.Flush();
  }
  f.read_us = (r.Cpu() - cpu0) * 1e6 / static_cast<double>(n);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 6379;
  int64_t n = 200000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--port") port = std::atoi(argv[i + 1]);
    if (flag == "--entities") n = std::atoll(argv[i + 1]);
  }
  Redis r(port);
  const std::string v1_sha = r.Text({"SCRIPT", "LOAD", std::string(kV1Script)});
  const std::string row_sha = r.Text({"SCRIPT", "LOAD", std::string(pantry::kRowWriteScript)});
  const std::string hash_sha = r.Text({"SCRIPT", "LOAD", std::string(kHashScript)});
  std::vector<std::string> fields;
  for (int j = 0; j < kFeatures; ++j) fields.push_back(absl::StrCat(kView, ":", FeatureName(j)));

  Layout v1{"v1 (hash per entity, field per feature)",
            [&](Redis& r, int64_t first, int64_t last, int64_t ts) {
              std::vector<std::string> a{"EVALSHA", v1_sha, std::to_string(last - first)};
              for (int64_t i = first; i < last; ++i) a.push_back(EntityKey(i));
              a.insert(a.end(), {"0", absl::StrCat("#ts:", kView), std::to_string(kFeatures),
                                 std::to_string(last - first)});
              a.insert(a.end(), fields.begin(), fields.end());
              for (int64_t i = first; i < last; ++i) {
                a.push_back(std::to_string(ts));
                for (auto& e : Encodings(i)) a.push_back(e);
              }
              r.Append(a);
            },
            [&](Redis& r, int64_t first, int64_t last) {
              for (int64_t i = first; i < last; ++i) {
                std::vector<std::string> a{"HMGET", EntityKey(i), absl::StrCat("#ts:", kView)};
                a.insert(a.end(), fields.begin(), fields.end());
                r.Append(a);
              }
            },
            EntityKey};
  auto row_write = [&](int64_t per_call) {
    return [&, per_call](Redis& r, int64_t first, int64_t last, int64_t ts) {
      for (int64_t c = first; c < last; c += per_call) {
        const int64_t end = std::min(last, c + per_call);
        std::vector<std::string> a{"EVALSHA", row_sha, std::to_string(end - c)};
        for (int64_t i = c; i < end; ++i) a.push_back(RowKey(i));
        for (int64_t i = c; i < end; ++i) a.insert(a.end(), {"0", Row(i, ts)});
        r.Append(a);
      }
    };
  };
  auto row_get = [&](Redis& r, int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) r.Append({"GET", RowKey(i)});
  };
  Layout row64{"row (string per entity and view), 64 keys per script, GET", row_write(64), row_get,
               RowKey};
  Layout row1{"row, 1 key per script (a cluster's slots), GET", row_write(1), row_get, RowKey};
  Layout row_mget{"row, 64 keys per script, MGET of 100 keys", row_write(64),
                  [&](Redis& r, int64_t first, int64_t last) {
                    for (int64_t c = first; c < last; c += 100) {
                      std::vector<std::string> a{"MGET"};
                      for (int64_t i = c; i < std::min(last, c + 100); ++i) a.push_back(RowKey(i));
                      r.Append(a);
                    }
                  },
                  RowKey};
  Layout hash{"hash (hash per entity, field per view), 64 keys per script, HGET",
              [&](Redis& r, int64_t first, int64_t last, int64_t ts) {
                std::vector<std::string> a{"EVALSHA", hash_sha, std::to_string(last - first)};
                for (int64_t i = first; i < last; ++i) a.push_back(EntityKey(i));
                a.push_back(std::string(kView));
                for (int64_t i = first; i < last; ++i) a.insert(a.end(), {"0", Row(i, ts)});
                r.Append(a);
              },
              [&](Redis& r, int64_t first, int64_t last) {
                for (int64_t i = first; i < last; ++i) {
                  r.Append({"HGET", EntityKey(i), std::string(kView)});
                }
              },
              EntityKey};
  std::vector<std::string> plain_fields;
  for (int j = 0; j < kFeatures; ++j) plain_fields.push_back(FeatureName(j));
  Layout plain{"reference: plain 10-field HSET, HMGET of the 10 fields",
               [&](Redis& r, int64_t first, int64_t last, int64_t) {
                 for (int64_t i = first; i < last; ++i) {
                   std::vector<std::string> a{"HSET", EntityKey(i)};
                   const auto enc = Encodings(i);
                   for (int j = 0; j < kFeatures; ++j) a.insert(a.end(), {plain_fields[j], enc[j]});
                   r.Append(a);
                 }
               },
               [&](Redis& r, int64_t first, int64_t last) {
                 for (int64_t i = first; i < last; ++i) {
                   std::vector<std::string> a{"HMGET", EntityKey(i)};
                   a.insert(a.end(), plain_fields.begin(), plain_fields.end());
                   r.Append(a);
                 }
               },
               EntityKey};

  std::printf("%lld entities, one view of %d DOUBLE features; redis-server CPU in us per "
              "entity, memory in bytes per entity\n\n",
              static_cast<long long>(n), kFeatures);
  std::printf("| layout | first write | newer write | older (skipped) | read | used_memory "
              "| MEMORY USAGE |\n|---|---|---|---|---|---|---|\n");
  for (const Layout* l : {&plain, &v1, &row64, &row1, &row_mget, &hash}) {
    const Figures f = Measure(r, *l, n, 64);
    std::printf("| %s | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f |\n", l->name.c_str(), f.load_us,
                f.write_us, f.skip_us, f.read_us, f.bytes, f.memory_usage);
    std::fflush(stdout);
  }
  r.Text({"FLUSHALL"});
  return 0;
}
