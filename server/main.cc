// pantryd: the Pantry daemon. Wires the registry, the online store, serving
// and the gRPC services together; the only place objects are constructed.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "server/auth/guard.h"
#include "server/common/log.h"
#include "server/common/status.h"
#include "server/ingest/ingest_log.h"
#include "server/ingest/pusher.h"
#include "server/ingest/stream_ingest.h"
#include "server/ingest/run_events.h"
#include "server/lineage/events.h"
#include "server/lineage/lineage.h"
#include "server/materialize/coordinator.h"
#include "server/materialize/jobs.h"
#include "server/metrics/grpc_interceptor.h"
#include "server/metrics/instrumented_store.h"
#include "server/metrics/metrics.h"
#include "server/tls/tls_front.h"
#include "server/offline/validate.h"
#include "server/online/online_store.h"
#include "server/registry/manager.h"
#include "server/registry/registry.h"
#include "server/service/feature_service.h"
#include "server/service/ingest_service.h"
#include "server/service/job_pool.h"
#include "server/service/materialize_service.h"
#include "server/service/registry_service.h"
#include "server/serving/online_serving.h"

namespace {

struct Options {
  std::string config;
  std::string listen = "127.0.0.1:6566";
  std::string state_dir;
  std::string port_file;
  std::string log_level = "info";
  int max_message_mb = 64;
  int offline_jobs = 1;     // point-in-time joins running at once
  int offline_queue = 16;   // joins waiting for a worker beyond those
  int offline_threads = 0;  // threads of each join; 0: hardware concurrency
  std::string temp_dir;     // streamed joins' files; empty: $TMPDIR or /tmp
  int64_t max_upload_mb = 16384;
  int materialize_threads = 0;    // threads of each materialization run; 0: cores
  int materialize_queue = 16;     // jobs that may wait
  double lease_seconds = 30;      // per-view materialization lease
  std::string replica;            // name in leases and job ids; default host-pid
  std::string metrics_listen;     // HOST:PORT of /metrics; empty: no metrics
  std::string metrics_port_file;
  std::string wal_dir;            // the push log; empty: <state-dir>/wal
  double compact_seconds = 5;     // how often the log is compacted into offline history
  int push_workers = 8;           // pushes waiting for the log's sync or Redis at once
  int push_queue = 1024;          // pushes that may wait for a worker
  std::string auth_config;        // who may do what (docs/security.md); empty: auth off
};

// What pantry_build_info says about this binary (set by server/CMakeLists.txt).
std::vector<std::pair<std::string, std::string>> BuildInfo() {
  return {{"version", PANTRY_VERSION}, {"revision", PANTRY_REVISION}};
}

// The watermarks of the online views with a source, for the metrics.
pantry::WatermarkSource ViewWatermarks(const pantry::RegistryHolder* holder,
                                       pantry::materialize::Coordinator* coordinator) {
  return [holder, coordinator]() -> absl::StatusOr<std::vector<pantry::ViewWatermark>> {
    std::shared_ptr<const pantry::Registry> registry = holder->Get();
    PANTRY_ASSIGN_OR_RETURN(auto marks, coordinator->Watermarks(registry->project));
    std::vector<pantry::ViewWatermark> out;
    for (const auto& [name, view] : registry->feature_views) {
      if (!view.online || view.source.empty()) continue;
      auto mark = marks.find(name);
      out.push_back({name, mark != marks.end() ? mark->second : pantry::kNoTimestamp,
                     view.materialize_every});
    }
    return out;
  };
}

// pantryd's metrics, when --metrics-listen asks for them (else none): they
// serve /metrics from now on; `store` is set by MeasureStore.
struct Metering {
  std::unique_ptr<pantry::Metrics> metrics;
  // With auth's tls (and tls.metrics): TLS on --metrics-listen, in front of
  // the exposer, which then listens on 127.0.0.1 only.
  std::unique_ptr<pantry::TlsFront> tls_front;
  std::unique_ptr<pantry::InstrumentedOnlineStore> instrumented;
  pantry::OnlineStore* store = nullptr;  // the store everything else uses
};

absl::StatusOr<Metering> StartMetrics(const Options& options, const pantry::RegistryHolder& holder,
                                      pantry::materialize::Coordinator* coordinator,
                                      const pantry::auth::TlsSettings* tls) {
  Metering m;
  if (options.metrics_listen.empty()) return m;
  pantry::MetricsOptions metrics_options;
  metrics_options.listen = tls != nullptr ? "127.0.0.1:0" : options.metrics_listen;
  metrics_options.build_info = BuildInfo();
  metrics_options.watermarks = ViewWatermarks(&holder, coordinator);
  PANTRY_ASSIGN_OR_RETURN(m.metrics, pantry::Metrics::Create(std::move(metrics_options)));
  m.metrics->registry()->Serving(*holder.Get(), pantry::NowMicros());
  int port = m.metrics->port();
  if (tls != nullptr) {
    pantry::TlsFrontOptions front;
    front.listen = options.metrics_listen;
    front.files.cert_file = tls->cert_file;
    front.files.key_file = tls->key_file;
    front.backend_port = port;
    PANTRY_ASSIGN_OR_RETURN(m.tls_front, pantry::TlsFront::Start(std::move(front)));
    port = m.tls_front->port();
  }
  const std::string host = options.metrics_listen.substr(0, options.metrics_listen.rfind(':'));
  spdlog::info("metrics on {}://{}:{}/metrics", tls != nullptr ? "https" : "http", host, port);
  if (!options.metrics_port_file.empty()) {
    std::ofstream(options.metrics_port_file) << port << "\n";
  }
  return m;
}

// Sets `m->store`: `inner`, measured through a wrapper when there are metrics.
void MeasureStore(pantry::OnlineStore* inner, Metering* m) {
  m->store = inner;
  if (m->metrics == nullptr) return;
  m->instrumented =
      std::make_unique<pantry::InstrumentedOnlineStore>(inner, m->metrics->online_store());
  m->store = m->instrumented.get();
}

// Applies and reloads as the registry metrics count them; none without metrics.
pantry::ApplyObserver RegistryObserver(pantry::Metrics* metrics) {
  if (metrics == nullptr) return nullptr;
  return [registry_metrics = metrics->registry()](const auto& applied) {
    if (applied.ok()) registry_metrics->Serving(**applied, pantry::NowMicros());
    registry_metrics->ApplyFinished(applied.ok());
  };
}

// Leaves out the server reflection service (linking its library registers
// it in every server).
class WithoutReflection : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
                                    return p->name() == "proto_server_reflection";
                                  }),
                   plugins->end());
  }
};

// How often pantryd re-reads its certificate, key and client CA files.
constexpr unsigned kCertificateRefreshSeconds = 5;

// The gRPC port's credentials: TLS (and client certificates verified
// against the CA, with mtls) when the auth configuration says so.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const pantry::auth::Guard& guard) {
  std::shared_ptr<const pantry::auth::AuthConfig> config = guard.config();
  if (config == nullptr || !config->tls) return grpc::InsecureServerCredentials();
  const bool mtls = config->mtls.has_value();
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      config->tls->key_file, config->tls->cert_file, mtls ? config->mtls->ca_file : "",
      kCertificateRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (mtls) {
    tls.watch_root_certs();
    // A certificate is verified when sent; calls without one may still
    // authenticate with a token.
    tls.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

int Run(const Options& options) {
  // Signals are taken by one thread with sigwait; block them everywhere else
  // before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A peer that went away (a Redis connection, a client) must fail the
  // write that finds it gone, never kill the daemon.
  signal(SIGPIPE, SIG_IGN);

  const std::string config_path = std::filesystem::absolute(options.config).string();
  const std::string state_dir =
      options.state_dir.empty()
          ? (std::filesystem::path(config_path).parent_path() / ".pantry").string()
          : options.state_dir;

  // Every repository pantryd installs (at start, on apply and on SIGHUP)
  // must fit the Parquet files its sources point to.
  const pantry::RepositoryValidator validate_sources = pantry::offline::ValidateSources;
  auto initial = pantry::RegistryManager::LoadInitial(config_path, state_dir, validate_sources);
  if (!initial.ok()) {
    spdlog::error("cannot load the feature repository:\n{}", initial.status().message());
    return 2;
  }
  spdlog::info("feature repository '{}' from {}: {} entities, {} feature views, {} services",
               (*initial)->project, (*initial)->source_file, (*initial)->entities.size(),
               (*initial)->feature_views.size(), (*initial)->feature_services.size());

  // Who may do what: loaded once, replaced on SIGHUP.
  pantry::auth::Guard guard;
  if (!options.auth_config.empty()) {
    if (absl::Status loaded = guard.Load(options.auth_config); !loaded.ok()) {
      spdlog::error("--auth-config: {}", loaded.message());
      return 2;
    }
    std::shared_ptr<const pantry::auth::AuthConfig> auth = guard.config();
    spdlog::info("auth on ({}): {} tokens, jwt {}, mtls {}, tls {}, {} roles", options.auth_config,
                 auth->tokens.size(), auth->jwt ? "yes" : "no", auth->mtls ? "yes" : "no",
                 auth->tls ? "yes" : "no", auth->policy.roles.size());
  } else {
    spdlog::warn("auth off: every caller may do everything (--auth-config turns it on)");
  }

  pantry::RegistryHolder holder(*initial);
  const pantry::OnlineStoreConfig& store_config = (*initial)->online_store;

  // Materialization: watermarks and leases live on the Redis server when
  // there is one (shared by every replica), else in the state folder.
  const bool on_redis = store_config.type == pantry::OnlineStoreConfig::Type::kRedis ||
                        store_config.type == pantry::OnlineStoreConfig::Type::kRedisCluster;
  std::unique_ptr<pantry::materialize::Coordinator> coordinator =
      on_redis
          ? pantry::materialize::NewRedisCoordinator(store_config)
          : pantry::materialize::NewLocalCoordinator(
                (std::filesystem::path(state_dir) / "watermarks.json").string());

  // Metrics, when asked for: the store reports its nodes to them and is
  // measured through a wrapper, and every gRPC request through an
  // interceptor.
  std::shared_ptr<const pantry::auth::AuthConfig> auth_at_start = guard.config();
  const pantry::auth::TlsSettings* metrics_tls =
      auth_at_start != nullptr && auth_at_start->tls && auth_at_start->tls->metrics
          ? &*auth_at_start->tls
          : nullptr;
  auto metering = StartMetrics(options, holder, coordinator.get(), metrics_tls);
  if (!metering.ok()) {
    spdlog::error("--metrics-listen: {}", metering.status().message());
    return 2;
  }
  auto created_store = pantry::CreateOnlineStore(
      store_config, (*initial)->project,
      metering->metrics ? metering->metrics->online_store() : nullptr);
  if (!created_store.ok()) {
    spdlog::error("cannot create the online store: {}", created_store.status().message());
    return 2;
  }
  std::vector<std::string> cluster_nodes;
  for (const auto& [host, port] : store_config.nodes) {
    cluster_nodes.push_back(absl::StrCat(host, ":", port));
  }
  if (store_config.type == pantry::OnlineStoreConfig::Type::kRedis) {
    spdlog::info("online store: redis at {}:{} (pool {})", store_config.host, store_config.port,
                 store_config.pool_size);
  } else if (store_config.type == pantry::OnlineStoreConfig::Type::kRedisCluster) {
    spdlog::info("online store: redis cluster, seed nodes {} (wait_replicas {})",
                 absl::StrJoin(cluster_nodes, ", "), store_config.wait_replicas);
  } else {
    spdlog::info("online store: embedded memory store");
  }
  // A store holding the project in another layout is refused at start; one
  // that cannot be reached now is checked on every connect instead.
  if (absl::Status layout =
          (*created_store)->CheckLayout(pantry::NowMicros() + 5 * pantry::kMicrosPerSecond);
      layout.code() == absl::StatusCode::kFailedPrecondition) {
    spdlog::error("online store: {}", layout.message());
    return 2;
  } else if (!layout.ok()) {
    spdlog::warn("online store: layout not checked yet: {}", layout.message());
  }
  MeasureStore(created_store->get(), &*metering);
  pantry::Metrics* const metrics = metering->metrics.get();  // null: no metrics
  pantry::OnlineStore* const store = metering->store;
  // OpenLineage events of applies (with the views' schemas), ingestion runs
  // and materialization runs.
  pantry::lineage::LineageLog lineage_log;
  pantry::ApplyObserver count_apply = RegistryObserver(metrics);
  pantry::RegistryManager manager(
      &holder, state_dir, validate_sources,
      [count_apply, &lineage_log](const auto& applied) {
        if (count_apply) count_apply(applied);
        if (!applied.ok()) return;
        const pantry::Registry& r = **applied;
        if (absl::Status s = lineage_log.Append(
                r.lineage_path, pantry::lineage::ApplyEvent(r, pantry::NowMicros()));
            !s.ok()) {
          spdlog::warn("lineage of the apply: {}", s.message());
        }
      });

  pantry::OnlineServing serving(&holder, store);
  // Point-in-time joins are long and disk- and CPU-heavy: they run here,
  // never on gRPC threads. Each uses every core by default, so one at a time
  // is the default too.
  pantry::JobPool offline_jobs("offline", options.offline_jobs, options.offline_queue);
  pantry::offline::HistoricalOptions historical_options;
  historical_options.threads =
      options.offline_threads > 0
          ? options.offline_threads
          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  spdlog::info("offline jobs: {} at once, {} may queue, {} threads each", offline_jobs.workers(),
               offline_jobs.max_queued(), historical_options.threads);
  pantry::HistoricalStreamOptions stream_options;
  if (!options.temp_dir.empty()) {
    stream_options.temp_dir = options.temp_dir;
  } else if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') {
    stream_options.temp_dir = tmp;
  }
  stream_options.max_upload_bytes = options.max_upload_mb << 20;
  if (std::error_code ec; !std::filesystem::is_directory(stream_options.temp_dir, ec)) {
    spdlog::error("temp folder {} does not exist (--temp-dir)", stream_options.temp_dir);
    return 2;
  }
  pantry::FeatureServiceImpl feature_service(&serving, store_config.request_timeout, &holder,
                                             &offline_jobs, historical_options, stream_options,
                                             &guard);
  pantry::RegistryServiceImpl registry_service(&holder, &manager, &guard);

  // Pushes: durable in the write-ahead log before they are acknowledged,
  // compacted into the views' offline history in the background.
  pantry::ingest::IngestLogOptions log_options;
  log_options.dir = !options.wal_dir.empty()
                        ? options.wal_dir
                        : (std::filesystem::path(state_dir) / "wal").string();
  log_options.compact_every = static_cast<pantry::Micros>(options.compact_seconds * 1e6);
  log_options.on_compacted = [&holder, &lineage_log,
                              dir = log_options.dir](const pantry::ingest::CompactStats& stats) {
    const std::shared_ptr<const pantry::Registry> r = holder.Get();
    for (const auto& e : pantry::ingest::IngestRunEvents(*r, stats, dir, pantry::NowMicros())) {
      if (absl::Status s = lineage_log.Append(r->lineage_path, e); !s.ok()) {
        spdlog::warn("lineage of an ingestion run: {}", s.message());
        return;
      }
    }
  };
  absl::StatusOr<std::unique_ptr<pantry::ingest::IngestLog>> ingest_log =
      pantry::ingest::IngestLog::Open(log_options, &holder, store,
                                      metrics != nullptr ? metrics->ingest() : nullptr);
  if (!ingest_log.ok()) {
    spdlog::error("{}", ingest_log.status().message());
    return 2;
  }
  (*ingest_log)->Start();
  // Stream sources: one consumer per source, logging into the same log.
  pantry::ingest::StreamIngest streams(&holder, store, ingest_log->get(),
                                       metrics != nullptr ? metrics->ingest() : nullptr);
  streams.Start();
  pantry::ingest::Pusher pusher(&holder, store, (*ingest_log)->wal(),
                                metrics != nullptr ? metrics->ingest() : nullptr,
                                streams.freshness());
  pantry::JobPool push_workers("push", options.push_workers, options.push_queue);
  pantry::IngestServiceImpl ingest_service(&pusher, &streams, &holder, &push_workers,
                                           10 * pantry::kMicrosPerSecond, &guard);
  spdlog::info("push: write-ahead log in {}, compacted every {} s, {} workers", log_options.dir,
               options.compact_seconds, options.push_workers);

  pantry::materialize::JobsOptions jobs_options;
  jobs_options.replica = options.replica;
  if (jobs_options.replica.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    jobs_options.replica = absl::StrCat(host, "-", getpid());
  }
  jobs_options.max_queued = options.materialize_queue;
  jobs_options.records_path = (std::filesystem::path(state_dir) / "jobs.jsonl").string();
  jobs_options.lease_ttl = static_cast<pantry::Micros>(options.lease_seconds * 1e6);
  jobs_options.run.threads =
      options.materialize_threads > 0
          ? options.materialize_threads
          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  jobs_options.metrics = metrics != nullptr ? metrics->materialize() : nullptr;
  // A heal (the materialization of an aggregation view) reads the offline
  // history only after every event acknowledged here is in it.
  jobs_options.run.flush_log = [log = ingest_log->get()]() -> absl::Status {
    const pantry::Micros deadline = pantry::NowMicros() + 60 * pantry::kMicrosPerSecond;
    while (true) {
      absl::StatusOr<pantry::ingest::CompactStats> compacted = log->CompactNow();
      if (!compacted.ok()) return compacted.status();
      if (compacted->segments_waiting == 0) return absl::OkStatus();
      if (pantry::NowMicros() > deadline) {
        return absl::UnavailableError(
            "the write-ahead log still holds stream batches being acknowledged after 60 s; "
            "the heal runs again at the next materialization");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };
  const std::string output_namespace =
      store_config.type == pantry::OnlineStoreConfig::Type::kRedis
          ? absl::StrCat("redis://", store_config.host, ":", store_config.port)
      : store_config.type == pantry::OnlineStoreConfig::Type::kRedisCluster
          ? absl::StrCat("redis-cluster://", absl::StrJoin(cluster_nodes, ","))
          : absl::StrCat("memory://", jobs_options.replica);
  pantry::materialize::MaterializeJobs materialize_jobs(
      &holder, store, coordinator.get(), &lineage_log, output_namespace, jobs_options);
  materialize_jobs.StartScheduler();
  pantry::MaterializationServiceImpl materialize_service(&materialize_jobs, coordinator.get(),
                                                         &lineage_log, &holder, &guard);
  spdlog::info("materialization: replica {}, {} threads per run, lease {} s",
               jobs_options.replica, jobs_options.run.threads, options.lease_seconds);

  grpc::EnableDefaultHealthCheckService(true);
  // Reflection answers without credentials: with auth on, only when the
  // auth configuration allows it.
  const bool reflection = !guard.on() || guard.config()->reflection;
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (!reflection) builder.SetOption(std::make_unique<WithoutReflection>());
  int port = 0;
  builder.AddListeningPort(options.listen, ServerCredentials(guard), &port);
  builder.SetMaxReceiveMessageSize(options.max_message_mb * 1024 * 1024);
  builder.SetMaxSendMessageSize(options.max_message_mb * 1024 * 1024);
  builder.RegisterService(&feature_service);
  builder.RegisterService(&registry_service);
  builder.RegisterService(&materialize_service);
  builder.RegisterService(&ingest_service);
  if (metrics != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(pantry::NewGrpcMetricsInterceptorFactory(metrics->grpc()));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    spdlog::error("cannot listen on {}", options.listen);
    return 2;
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  spdlog::info("pantryd listening on {}:{}", host, port);
  if (!options.port_file.empty()) {
    std::ofstream(options.port_file) << port << "\n";
  }

  std::thread signal_thread([&] {
    for (;;) {
      int sig = 0;
      sigwait(&signals, &sig);
      if (sig == SIGHUP) {
        if (guard.on()) {
          const std::shared_ptr<const pantry::auth::AuthConfig> before = guard.config();
          if (absl::Status reloaded = guard.Reload(); reloaded.ok()) {
            spdlog::info("SIGHUP: reloaded {}", options.auth_config);
            const auto after = guard.config();
            const bool same_tls = before->tls.has_value() == after->tls.has_value() &&
                                  (!after->tls || (before->tls->cert_file == after->tls->cert_file &&
                                                   before->tls->key_file == after->tls->key_file));
            if (!same_tls || before->mtls.has_value() != after->mtls.has_value()) {
              spdlog::warn("the tls or mtls settings changed: they take effect when pantryd "
                           "restarts (the files themselves are re-read every {} s)",
                           kCertificateRefreshSeconds);
            }
          } else {
            spdlog::error("SIGHUP: {} rejected, the previous auth configuration stays:\n{}",
                          options.auth_config, reloaded.message());
          }
        }
        spdlog::info("SIGHUP: reloading {}", config_path);
        auto applied = manager.ApplyFile(config_path);
        if (applied.ok()) {
          spdlog::info("reloaded feature repository: {} feature views",
                       (*applied)->feature_views.size());
        } else {
          spdlog::error("reload rejected, the previous repository keeps serving:\n{}",
                        applied.status().message());
        }
        continue;
      }
      spdlog::info("signal {}: shutting down", sig);
      // Queued joins are answered UNAVAILABLE; running ones see the pool
      // shutting down and stop at their next row group.
      offline_jobs.Shutdown();
      // A running materialization stops at its next row group; its
      // watermark stays where it was.
      materialize_jobs.Shutdown();
      if (const int running = offline_jobs.running(); running > 0) {
        spdlog::info("waiting for {} running offline job(s) to finish", running);
      }
      server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
      return;
    }
  });
  server->Wait();
  signal_thread.join();
  spdlog::info("pantryd stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"pantryd: the Pantry feature store daemon"};
  app.add_option("--config", options.config, "Feature repository YAML file")->required();
  app.add_option("--listen", options.listen, "Address to serve gRPC on (HOST:PORT; port 0 picks one)");
  app.add_option("--state-dir", options.state_dir,
                 "Folder for pantryd's state (last applied repository); default: .pantry beside "
                 "the config file");
  app.add_option("--port-file", options.port_file, "Write the port pantryd listens on to this file");
  app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--max-message-mb", options.max_message_mb, "Largest gRPC message, in MiB")
      ->check(CLI::Range(1, 1024));
  app.add_option("--offline-jobs", options.offline_jobs,
                 "Point-in-time joins (GetHistoricalFeatures) running at once")
      ->check(CLI::Range(1, 256));
  app.add_option("--offline-queue", options.offline_queue,
                 "Joins that may wait for a free slot; beyond, RESOURCE_EXHAUSTED")
      ->check(CLI::Range(0, 100000));
  app.add_option("--offline-threads", options.offline_threads,
                 "Threads each join uses (default: the number of cores)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--temp-dir", options.temp_dir,
                 "Folder for the files of streamed joins (default: $TMPDIR, else /tmp)");
  app.add_option("--max-upload-mb", options.max_upload_mb,
                 "Largest entity file a streamed join may upload, in MiB")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  app.add_option("--materialize-threads", options.materialize_threads,
                 "Threads each materialization run uses (default: the number of cores)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--materialize-queue", options.materialize_queue,
                 "Materialization jobs that may wait for the running one")
      ->check(CLI::Range(0, 100000));
  app.add_option("--lease-seconds", options.lease_seconds,
                 "How long a materialization lease lasts without renewal")
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--replica", options.replica,
                 "This pantryd's name in leases and job ids (default: HOST-PID)");
  app.add_option("--metrics-listen", options.metrics_listen,
                 "Serve Prometheus metrics at http://HOST:PORT/metrics (port 0 picks one); "
                 "default: no metrics");
  app.add_option("--metrics-port-file", options.metrics_port_file,
                 "Write the port metrics are served on to this file (useful with port 0)");
  app.add_option("--wal-dir", options.wal_dir,
                 "Folder of the write-ahead log of pushes (default: STATE_DIR/wal)");
  app.add_option("--compact-seconds", options.compact_seconds,
                 "How often pushed rows are compacted from the log into the offline history")
      ->check(CLI::Range(0.01, 3600.0));
  app.add_option("--push-workers", options.push_workers,
                 "Pushes in progress at once (each waits for the log's sync and the online store)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--push-queue", options.push_queue,
                 "Pushes that may wait for a worker; beyond, RESOURCE_EXHAUSTED")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--auth-config", options.auth_config,
                 "Auth configuration: tokens, JWT, mTLS, roles, TLS (docs/security.md); "
                 "without it every caller may do everything");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  // gRPC locks absl::Mutex on every call; Debian's Abseil checks each lock
  // for deadlock cycles, which costs several percent of CPU for nothing in
  // production.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return Run(options);
}
