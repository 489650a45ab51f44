#include "client/cli/bench.h"

#include <grpcpp/alarm.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "pantry/client.h"
#include "server/service/convert.h"

namespace pantry::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Figures {
  std::string name;
  int64_t ok = 0;
  int64_t errors = 0;
  std::string first_error;
  double seconds = 0;
  std::vector<double> latencies_us;  // successful calls only
  double Rps() const { return seconds > 0 ? ok / seconds : 0; }
  double Percentile(double p) const {
    if (latencies_us.empty()) return 0;
    const size_t i = std::min(latencies_us.size() - 1,
                              static_cast<size_t>(p / 100.0 * latencies_us.size()));
    return latencies_us[i];
  }
};

// Adds `more`, another slice of the same measurement, to `into`.
void Merge(Figures* into, Figures more) {
  into->ok += more.ok;
  into->errors += more.errors;
  if (into->first_error.empty()) into->first_error = std::move(more.first_error);
  into->seconds += more.seconds;
  into->latencies_us.insert(into->latencies_us.end(), more.latencies_us.begin(),
                            more.latencies_us.end());
  std::sort(into->latencies_us.begin(), into->latencies_us.end());
}

// Slices in which the health check and GetOnlineFeatures alternate.
constexpr int kBaselineSlices = 4;

grpc::ByteBuffer Serialize(const google::protobuf::Message& m) {
  std::string bytes = m.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// One slot of the load generator: at most one call in flight at a time.
struct Slot {
  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  grpc::ByteBuffer response;
  grpc::Status status;
  Clock::time_point start;
  Clock::time_point scheduled;
  grpc::Alarm alarm;
  bool waiting_alarm = false;
};

// Drives `concurrency` slots against `method` for `seconds`, cycling through
// the pre-serialized `requests`. With rate > 0 calls start on a fixed
// schedule (open loop) as long as a slot is free.
// `token`: sent as the bearer token of every call (empty: none).
Figures Measure(const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
                const std::string& method,
                const std::vector<grpc::ByteBuffer>& requests, int concurrency, double seconds,
                double rate, const std::string& name) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  std::vector<Slot> slots(concurrency);
  Figures figures;
  figures.name = name;
  figures.latencies_us.reserve(1 << 20);
  const auto begin = Clock::now();
  const auto end = begin + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(seconds));
  const auto interval = rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(1.0 / rate))
                                 : Clock::duration::zero();
  auto next_send = begin;
  size_t next_request = 0;
  int in_flight = 0;

  // `scheduled`: when the call should have started; latency counts from
  // there, so a server that falls behind is not flattered (open loop).
  auto start_call = [&](Slot& slot, Clock::time_point scheduled) {
    slot.context = std::make_unique<grpc::ClientContext>();
    slot.context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) slot.context->AddMetadata("authorization", "Bearer " + token);
    slot.reader = stub.PrepareUnaryCall(slot.context.get(), method,
                                        requests[next_request++ % requests.size()], &cq);
    slot.start = scheduled;
    slot.reader->StartCall();
    slot.reader->Finish(&slot.response, &slot.status, &slot);
    ++in_flight;
  };
  // Starts the slot now, or arms its alarm for the next scheduled send.
  auto schedule = [&](Slot& slot) {
    const auto now = Clock::now();
    if (now >= end) return;
    if (rate <= 0) {
      start_call(slot, now);
      return;
    }
    const auto at = next_send;
    next_send += interval;
    if (at <= now) {
      start_call(slot, at);
    } else {
      slot.scheduled = at;
      slot.waiting_alarm = true;
      ++in_flight;
      slot.alarm.Set(&cq, std::chrono::system_clock::now() + (at - now), &slot);
    }
  };
  for (Slot& slot : slots) schedule(slot);
  void* tag;
  bool ok;
  while (in_flight > 0 && cq.Next(&tag, &ok)) {
    Slot& slot = *static_cast<Slot*>(tag);
    --in_flight;
    if (slot.waiting_alarm) {
      slot.waiting_alarm = false;
      // An alarm fires late by the timer's granularity; that lateness is
      // the generator's, not the server's, so latency starts now.
      if (Clock::now() < end) start_call(slot, Clock::now());
      continue;
    }
    const auto done = Clock::now();
    if (slot.status.ok()) {
      ++figures.ok;
      figures.latencies_us.push_back(
          std::chrono::duration<double, std::micro>(done - slot.start).count());
    } else {
      if (figures.errors++ == 0) figures.first_error = slot.status.error_message();
    }
    schedule(slot);
  }
  figures.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  std::sort(figures.latencies_us.begin(), figures.latencies_us.end());
  return figures;
}

Value RandomValue(ValueType type, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> real(0, 1000);
  switch (type) {
    case ValueType::kInt32: return Value::Int32(static_cast<int32_t>(rng() % 100000));
    case ValueType::kInt64: return Value::Int64(static_cast<int64_t>(rng() % 1000000));
    case ValueType::kFloat: return Value::Float(static_cast<float>(real(rng)));
    case ValueType::kDouble: return Value::Double(real(rng));
    case ValueType::kBool: return Value::Bool(rng() % 2 == 0);
    case ValueType::kString: return Value::String(absl::StrCat("s", rng() % 1000));
    case ValueType::kBytes: return Value::Bytes(absl::StrCat("b", rng() % 1000));
    case ValueType::kUnixTimestamp: return Value::UnixTimestamp(1'700'000'000'000'000 + rng() % 1000000);
    case ValueType::kFloatList: {
      std::vector<float> v(16);
      for (auto& x : v) x = static_cast<float>(real(rng));
      return Value::FloatList(std::move(v));
    }
    case ValueType::kDoubleList: return Value::DoubleList({real(rng), real(rng)});
    case ValueType::kInt64List: return Value::Int64List({1, 2, 3});
    case ValueType::kInt32List: return Value::Int32List({1, 2, 3});
    case ValueType::kBoolList: return Value::BoolList({true, false});
    case ValueType::kStringList: return Value::StringList({"a", "b"});
    case ValueType::kBytesList: return Value::BytesList({"a", "b"});
    case ValueType::kUnixTimestampList: return Value::UnixTimestampList({1, 2});
  }
  return Value::Null(type);
}

Value KeyValue(ValueType type, int64_t id) {
  switch (type) {
    case ValueType::kInt32: return Value::Int32(static_cast<int32_t>(id));
    case ValueType::kString: return Value::String(absl::StrCat("id-", id));
    case ValueType::kBytes: return Value::Bytes(absl::StrCat("id-", id));
    default: return Value::Int64(id);
  }
}

// Whether every join key and feature of `view` has a type this CLI knows.
bool KnownTypes(const v1::FeatureViewSpec& view) {
  for (const auto& k : view.join_keys()) {
    if (!FromProto(k.value_type())) return false;
  }
  for (const auto& f : view.features()) {
    if (!FromProto(f.dtype())) return false;
  }
  return true;
}

void Print(const Figures& f, int values_per_request) {
  std::cout << absl::StrFormat(
      "%-28s %10.0f req/s %12.0f values/s   p50 %7.0f us  p95 %7.0f us  p99 %7.0f us  p99.9 %7.0f us  errors %d\n",
      f.name, f.Rps(), f.Rps() * values_per_request, f.Percentile(50), f.Percentile(95),
      f.Percentile(99), f.Percentile(99.9), f.errors);
  if (f.errors > 0) std::cout << "  first error: " << f.first_error << "\n";
}

nlohmann::json ToJson(const Figures& f, int values_per_request) {
  return {{"requests_per_s", f.Rps()},
          {"values_per_s", f.Rps() * values_per_request},
          {"requests", f.ok},
          {"errors", f.errors},
          {"p50_us", f.Percentile(50)},
          {"p95_us", f.Percentile(95)},
          {"p99_us", f.Percentile(99)},
          {"p999_us", f.Percentile(99.9)}};
}

}  // namespace

namespace {

std::vector<grpc::ByteBuffer> HealthRequests() {
  std::vector<grpc::ByteBuffer> requests;
  grpc::Slice empty;
  requests.emplace_back(&empty, 1);
  return requests;
}

constexpr char kHealthName[] = "health check (gRPC ceiling)";
constexpr char kHealthMethod[] = "/grpc.health.v1.Health/Check";

// --health-only: the gRPC health check alone, for the ceiling without
// feature reads in between (and for CPU-per-call measurements around it).
int RunHealthOnly(const OnlineBenchOptions& o, const std::shared_ptr<grpc::Channel>& channel) {
  const std::vector<grpc::ByteBuffer> requests = HealthRequests();
  Measure(channel, "", kHealthMethod, requests, o.concurrency, std::min(1.0, o.duration_s / 5), o.rate,
          "warmup");
  const Figures health =
      Measure(channel, "", kHealthMethod, requests, o.concurrency, o.duration_s, o.rate, kHealthName);
  if (o.json) {
    nlohmann::json out = {{"concurrency", o.concurrency},
                          {"duration_s", o.duration_s},
                          {"rate", o.rate},
                          {"health", ToJson(health, 1)}};
    std::cout << out.dump() << "\n";
  } else {
    std::cout << "pantry bench online: health check alone, concurrency " << o.concurrency << ", "
              << o.duration_s << " s"
              << (o.rate > 0 ? absl::StrCat(", target ", o.rate, " req/s") : "") << "\n";
    Print(health, 1);
  }
  return health.errors > 0 && health.ok == 0 ? 1 : 0;
}

// The view named `name`, or when `name` is empty the first view (online,
// when `online`) with at least `features` features; nullptr when none.
const v1::FeatureViewSpec* FindView(const v1::ListFeatureViewsResponse& views,
                                    const std::string& name, int features, bool online) {
  for (const auto& v : views.feature_views()) {
    if (name.empty() ? (!online || v.online()) && v.features_size() >= features
                     : v.name() == name) {
      return &v;
    }
  }
  return nullptr;
}

}  // namespace

int RunOnlineBench(const OnlineBenchOptions& o) {
  ClientOptions client_options = o.client;
  client_options.timeout = std::chrono::seconds(30);
  auto client = Client::Create(client_options);
  if (o.health_only) return RunHealthOnly(o, client->channel());
  auto views = client->ListFeatureViews();
  if (!views.ok()) {
    std::cerr << "pantry: bench: " << views.status().message() << "\n";
    return 1;
  }
  const v1::FeatureViewSpec* view = FindView(*views, o.view, o.features, /*online=*/true);
  if (view != nullptr) {
    if (!KnownTypes(*view)) {
      std::cerr << "pantry: bench: view " << view->name() << " has a type this CLI does not know\n";
      return 2;
    }
  }
  if (view == nullptr || view->features_size() < o.features) {
    std::cerr << "pantry: bench: no online feature view "
              << (o.view.empty() ? "" : absl::StrCat("'", o.view, "' ")) << "with at least "
              << o.features << " features\n";
    return 2;
  }

  std::mt19937_64 rng(42);
  if (o.populate) {
    const int batch = 1000;
    for (int start = 1; start <= o.key_space; start += batch) {
      std::vector<WriteRow> rows;
      for (int id = start; id < start + batch && id <= o.key_space; ++id) {
        WriteRow row;
        row.event_time_us = NowMicros();
        for (const auto& k : view->join_keys()) {
          row.values.emplace_back(k.name(), KeyValue(*FromProto(k.value_type()), id));
        }
        for (const auto& f : view->features()) {
          row.values.emplace_back(f.name(), RandomValue(*FromProto(f.dtype()), rng));
        }
        rows.push_back(std::move(row));
      }
      auto written = client->WriteOnlineFeatures(view->name(), rows);
      if (!written.ok()) {
        std::cerr << "pantry: bench: populating " << view->name() << ": "
                  << written.status().message() << "\n";
        return 1;
      }
    }
  }

  // Pre-serialized requests, so the generator spends the same (small) effort
  // per call on features as on the health check.
  const v1::OnDemandViewSpec* on_demand = nullptr;
  for (const auto& v : views->on_demand_views()) {
    if (v.name() == o.on_demand) on_demand = &v;
  }
  if (!o.on_demand.empty() && on_demand == nullptr) {
    std::cerr << "pantry: bench: no on-demand view '" << o.on_demand << "'\n";
    return 2;
  }
  std::vector<grpc::ByteBuffer> requests;
  v1::GetOnlineFeaturesRequest first;
  std::uniform_int_distribution<int64_t> ids(1, o.key_space);
  for (int i = 0; i < 256; ++i) {
    v1::GetOnlineFeaturesRequest request;
    for (int f = 0; f < o.features; ++f) {
      request.mutable_features()->add_refs(absl::StrCat(view->name(), ":", view->features(f).name()));
    }
    if (on_demand != nullptr) {
      for (const auto& f : on_demand->features()) {
        request.mutable_features()->add_refs(absl::StrCat(on_demand->name(), ":", f.name()));
      }
      for (const auto& c : on_demand->request()) {
        auto& column = (*request.mutable_request_data())[c.name()];
        for (int e = 0; e < o.entities_per_request; ++e) {
          ToProto(RandomValue(*FromProto(c.dtype()), rng), column.add_val());
        }
      }
    }
    for (int e = 0; e < o.entities_per_request; ++e) {
      const int64_t id = ids(rng);
      for (const auto& k : view->join_keys()) {
        ToProto(KeyValue(*FromProto(k.value_type()), id),
                (*request.mutable_entities())[k.name()].add_val());
      }
    }
    if (i == 0) first = request;
    requests.push_back(Serialize(request));
  }
  // One checked call before measuring: the figures mean nothing if the
  // requests fail or find nothing.
  {
    auto stub = v1::FeatureService::NewStub(client->channel());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!client->options().token.empty()) {
      context.AddMetadata("authorization", "Bearer " + client->options().token);
    }
    v1::GetOnlineFeaturesResponse response;
    grpc::Status s = stub->GetOnlineFeatures(&context, first, &response);
    if (!s.ok()) {
      std::cerr << "pantry: bench: GetOnlineFeatures failed: " << s.error_message() << "\n";
      return 1;
    }
    if (o.populate) {
      for (const auto& column : response.results()) {
        for (int st : column.statuses()) {
          if (st != v1::PRESENT) {
            std::cerr << "pantry: bench: a populated value was not PRESENT\n";
            return 1;
          }
        }
      }
    }
  }

  const int values_per_request = o.features * o.entities_per_request;
  if (!o.json) {
    std::cout << "pantry bench online: view " << view->name() << ", " << o.features
              << " features x " << o.entities_per_request << " entities per request, concurrency "
              << o.concurrency << ", " << o.duration_s << " s each"
              << (o.rate > 0 ? absl::StrCat(", target ", o.rate, " req/s") : "") << "\n";
  }
  const std::vector<grpc::ByteBuffer> health_requests = HealthRequests();
  // A short warm-up so connections and caches are in their steady state.
  Measure(client->channel(), client->options().token, "/pantry.v1.FeatureService/GetOnlineFeatures", requests,
          o.concurrency, std::min(1.0, o.duration_s / 5), o.rate, "warmup");
  // With the baseline, the two alternate in slices, so that a machine whose
  // speed drifts (shared cores) weighs on both alike and the ratio holds.
  const int slices = o.health_baseline ? kBaselineSlices : 1;
  Figures health;
  health.name = kHealthName;
  Figures features;
  features.name = "get-online";
  for (int slice = 0; slice < slices; ++slice) {
    if (o.health_baseline) {
      Merge(&health, Measure(client->channel(), client->options().token, kHealthMethod, health_requests,
                             o.concurrency, o.duration_s / slices, o.rate, health.name));
    }
    Merge(&features, Measure(client->channel(), client->options().token, "/pantry.v1.FeatureService/GetOnlineFeatures",
                             requests, o.concurrency, o.duration_s / slices, o.rate, features.name));
  }
  if (o.json) {
    nlohmann::json out = {{"view", view->name()},
                          {"features", o.features},
                          {"entities_per_request", o.entities_per_request},
                          {"concurrency", o.concurrency},
                          {"duration_s", o.duration_s},
                          {"rate", o.rate},
                          {"get_online", ToJson(features, values_per_request)}};
    if (o.health_baseline) {
      out["health"] = ToJson(health, 1);
      out["ratio_to_health"] = health.Rps() > 0 ? features.Rps() / health.Rps() : 0;
    }
    std::cout << out.dump() << "\n";
  } else {
    if (o.health_baseline) Print(health, 1);
    Print(features, values_per_request);
    if (o.health_baseline && health.Rps() > 0) {
      std::cout << absl::StrFormat("ratio get-online / health check: %.2f\n",
                                   features.Rps() / health.Rps());
    }
  }
  return features.errors > 0 && features.ok == 0 ? 1 : 0;
}

int RunPushBench(const PushBenchOptions& o) {
  ClientOptions client_options = o.client;
  client_options.timeout = std::chrono::seconds(30);
  auto client = Client::Create(client_options);
  auto views = client->ListFeatureViews();
  if (!views.ok()) {
    std::cerr << "pantry: bench: " << views.status().message() << "\n";
    return 1;
  }
  const v1::FeatureViewSpec* view = FindView(*views, o.view, o.features, /*online=*/false);
  if (view == nullptr) {
    std::cerr << "pantry: bench: no feature view "
              << (o.view.empty() ? "" : absl::StrCat("'", o.view, "' ")) << "with at least "
              << o.features << " features\n";
    return 2;
  }
  if (!KnownTypes(*view)) {
    std::cerr << "pantry: bench: view " << view->name() << " has a type this CLI does not know\n";
    return 2;
  }
  // Enough distinct requests that none is sent twice in the run at up to
  // ~250,000 rows/s, each row with an event time after every earlier one.
  const int64_t needed = static_cast<int64_t>(
      std::min(200000.0, std::max(64.0, 250000.0 * (o.duration_s + 1) / o.rows_per_request)));
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> ids(1, o.key_space);
  Micros t = NowMicros() - 3600 * kMicrosPerSecond;
  std::vector<grpc::ByteBuffer> requests;
  requests.reserve(static_cast<size_t>(needed));
  for (int64_t i = 0; i < needed; ++i) {
    v1::PushRequest request;
    request.set_feature_view(view->name());
    request.set_to(o.to == "online" ? v1::PushRequest::ONLINE
                   : o.to == "offline" ? v1::PushRequest::OFFLINE
                                       : v1::PushRequest::BOTH);
    for (int r = 0; r < o.rows_per_request; ++r) {
      v1::WriteRow* row = request.add_rows();
      row->set_event_timestamp_us(++t);
      const int64_t id = ids(rng);
      for (const auto& k : view->join_keys()) {
        ToProto(KeyValue(*FromProto(k.value_type()), id), &(*row->mutable_values())[k.name()]);
      }
      for (const auto& f : view->features()) {
        ToProto(RandomValue(*FromProto(f.dtype()), rng), &(*row->mutable_values())[f.name()]);
      }
    }
    requests.push_back(Serialize(request));
  }
  if (!o.json) {
    std::cout << "pantry bench push: view " << view->name() << " (" << view->features_size()
              << " features), " << o.rows_per_request << " rows per push to " << o.to
              << ", concurrency " << o.concurrency << ", " << o.duration_s << " s"
              << (o.rate > 0 ? absl::StrCat(", target ", o.rate, " pushes/s") : "") << "\n";
  }
  const Figures f = Measure(client->channel(), client->options().token, "/pantry.v1.IngestService/Push", requests,
                            o.concurrency, o.duration_s, o.rate, "push");
  if (f.ok + f.errors > needed) {
    std::cerr << "pantry: bench: some pushes were sent twice (the run outpaced the prepared "
                 "requests); rows/s still counts every push\n";
  }
  if (o.json) {
    nlohmann::json out = {{"view", view->name()},
                          {"rows_per_request", o.rows_per_request},
                          {"concurrency", o.concurrency},
                          {"duration_s", o.duration_s},
                          {"rate", o.rate},
                          {"to", o.to},
                          {"push", ToJson(f, o.rows_per_request)}};
    out["push"]["rows_per_s"] = f.Rps() * o.rows_per_request;
    std::cout << out.dump() << "\n";
  } else {
    Print(f, o.rows_per_request);
  }
  return f.errors > 0 && f.ok == 0 ? 1 : 0;
}

}  // namespace pantry::cli
