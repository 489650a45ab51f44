#include "pantry/client.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/common/status.h"
#include "server/service/convert.h"
#include "server/service/historical_stream.h"

namespace pantry {

absl::string_view ValueStatusName(ValueStatus status) {
  switch (status) {
    case ValueStatus::kPresent: return "PRESENT";
    case ValueStatus::kNullValue: return "NULL_VALUE";
    case ValueStatus::kNotFound: return "NOT_FOUND";
    case ValueStatus::kOutsideMaxAge: return "OUTSIDE_MAX_AGE";
  }
  return "UNKNOWN";
}

std::unique_ptr<Client> Client::Create(ClientOptions options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_mb * 1024 * 1024);
  args.SetMaxSendMessageSize(options.max_message_mb * 1024 * 1024);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_ca_pem;
    ssl.pem_cert_chain = options.tls_cert_pem;
    ssl.pem_private_key = options.tls_key_pem;
    credentials = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) args.SetSslTargetNameOverride(options.tls_server_name);
  }
  auto channel = grpc::CreateCustomChannel(options.address, credentials, args);
  return std::unique_ptr<Client>(new Client(std::move(options), std::move(channel)));
}

Client::Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      features_(v1::FeatureService::NewStub(channel_)),
      registry_(v1::RegistryService::NewStub(channel_)),
      materialize_(v1::MaterializationService::NewStub(channel_)),
      ingest_(v1::IngestService::NewStub(channel_)) {}

void Client::Authorize(grpc::ClientContext* context) const {
  if (!options_.token.empty()) context->AddMetadata("authorization", "Bearer " + options_.token);
}

template <typename Call>
absl::Status Client::WithRetries(Call call) {
  return WithRetries(std::move(call), options_.timeout);
}

template <typename Call>
absl::Status Client::WithRetries(Call call, std::chrono::milliseconds timeout) {
  auto backoff = options_.initial_backoff;
  grpc::Status status;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    Authorize(&context);
    status = call(&context);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || attempt >= options_.max_attempts) {
      break;
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  if (status.ok()) return absl::OkStatus();
  std::string message = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE && message.find("pantryd") == std::string::npos &&
      message.find("redis") == std::string::npos) {
    message = absl::StrCat("pantryd at ", options_.address, " unavailable: ", message);
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), message);
}

absl::StatusOr<OnlineFeatures> Client::GetOnlineFeatures(const OnlineQuery& query) {
  v1::GetOnlineFeaturesRequest request;
  if (!query.feature_service.empty()) {
    request.set_feature_service(query.feature_service);
  } else {
    for (const auto& f : query.features) request.mutable_features()->add_refs(f);
  }
  request.set_full_feature_names(query.full_feature_names);
  for (const auto& [name, values] : query.entities) {
    auto& column = (*request.mutable_entities())[name];
    for (const Value& v : values) ToProto(v, column.add_val());
  }
  for (const auto& [name, values] : query.request_data) {
    auto& column = (*request.mutable_request_data())[name];
    for (const Value& v : values) ToProto(v, column.add_val());
  }
  v1::GetOnlineFeaturesResponse response;
  absl::Status status = WithRetries([&](grpc::ClientContext* context) {
    return features_->GetOnlineFeatures(context, request, &response);
  });
  if (!status.ok()) return status;

  OnlineFeatures out;
  out.feature_names.assign(response.metadata().feature_names().begin(),
                           response.metadata().feature_names().end());
  out.feature_refs.assign(response.metadata().feature_refs().begin(),
                          response.metadata().feature_refs().end());
  out.rows = query.entities.empty() ? 0 : query.entities[0].second.size();
  out.columns.resize(response.results_size());
  for (int f = 0; f < response.results_size(); ++f) {
    const auto& vec = response.results(f);
    if (static_cast<size_t>(vec.values_size()) != out.rows ||
        static_cast<size_t>(vec.statuses_size()) != out.rows) {
      return absl::InternalError("pantryd returned a response of the wrong shape");
    }
    auto& column = out.columns[f];
    column.resize(out.rows);
    for (size_t r = 0; r < out.rows; ++r) {
      column[r].value = FromProto(vec.values(static_cast<int>(r)));
      switch (vec.statuses(static_cast<int>(r))) {
        case v1::PRESENT: column[r].status = ValueStatus::kPresent; break;
        case v1::NULL_VALUE: column[r].status = ValueStatus::kNullValue; break;
        case v1::OUTSIDE_MAX_AGE: column[r].status = ValueStatus::kOutsideMaxAge; break;
        default: column[r].status = ValueStatus::kNotFound; break;
      }
      if (vec.event_timestamps_us_size() > static_cast<int>(r)) {
        column[r].event_time_us = vec.event_timestamps_us(static_cast<int>(r));
      }
    }
  }
  return out;
}

absl::StatusOr<WriteSummary> Client::WriteOnlineFeatures(const std::string& view,
                                                         const std::vector<WriteRow>& rows) {
  v1::WriteOnlineFeaturesRequest request;
  request.set_feature_view(view);
  for (const WriteRow& row : rows) {
    auto* r = request.add_rows();
    r->set_event_timestamp_us(row.event_time_us);
    for (const auto& [name, value] : row.values) ToProto(value, &(*r->mutable_values())[name]);
  }
  v1::WriteOnlineFeaturesResponse response;
  absl::Status status = WithRetries([&](grpc::ClientContext* context) {
    return features_->WriteOnlineFeatures(context, request, &response);
  });
  if (!status.ok()) return status;
  return WriteSummary{response.rows_written(), response.rows_skipped_older()};
}

absl::StatusOr<PushSummary> Client::Push(const std::string& view, const std::vector<WriteRow>& rows,
                                         PushOptions options) {
  v1::PushRequest request;
  request.set_feature_view(view);
  request.set_partial(options.partial);
  request.set_to(options.to == PushTarget::kOnline    ? v1::PushRequest::ONLINE
                 : options.to == PushTarget::kOffline ? v1::PushRequest::OFFLINE
                                                      : v1::PushRequest::BOTH);
  std::random_device rd;
  request.set_push_id(absl::StrCat(absl::Hex(rd()), absl::Hex(rd()), absl::Hex(rd()),
                                   absl::Hex(rd())));
  for (const WriteRow& row : rows) {
    auto* r = request.add_rows();
    r->set_event_timestamp_us(row.event_time_us);
    for (const auto& [name, value] : row.values) ToProto(value, &(*r->mutable_values())[name]);
  }
  v1::PushResponse response;
  absl::Status status = WithRetries(
      [&](grpc::ClientContext* context) { return ingest_->Push(context, request, &response); });
  if (!status.ok()) return status;
  PushSummary out{response.rows_accepted(), response.rows_written_online(),
                  response.rows_skipped_older(), response.log_sequence(), {}};
  for (const v1::RejectedRow& r : response.rejected()) {
    out.rejected.push_back({r.row(), r.column(), r.reason()});
  }
  return out;
}

namespace {

v1::GetHistoricalFeaturesRequest HistoricalRequestProto(const HistoricalQuery& query) {
  v1::GetHistoricalFeaturesRequest request;
  if (!query.feature_service.empty()) {
    request.set_feature_service(query.feature_service);
  } else {
    for (const auto& f : query.features) request.mutable_features()->add_refs(f);
  }
  request.set_full_feature_names(query.full_feature_names);
  request.set_timestamp_column(query.timestamp_column);
  return request;
}

HistoricalResult HistoricalResultFrom(const v1::GetHistoricalFeaturesResponse& response) {
  HistoricalResult out;
  out.output_path = response.output_path();
  out.entity_rows = response.stats().entity_rows();
  out.feature_rows_scanned = response.stats().feature_rows_scanned();
  out.row_groups_skipped = response.stats().row_groups_skipped();
  out.files_skipped = response.stats().files_skipped();
  out.values_found = response.stats().values_found();
  out.queued = std::chrono::microseconds(response.queued_us());
  out.run = std::chrono::microseconds(response.run_us());
  return out;
}

absl::Status LocalError(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " '", path, "': ", std::strerror(errno)));
}

// The local side of a streamed join: a temp file beside the output, made
// fresh for each attempt and removed unless committed.
class LocalResult {
 public:
  explicit LocalResult(std::string path) : path_(std::move(path)) {}
  ~LocalResult() { Discard(); }
  absl::Status Open() {
    Discard();
    std::string pattern = path_ + ".pantry-tmp-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    fd_ = ::mkstemp(name.data());
    if (fd_ < 0) return LocalError("cannot create a temp file beside", path_);
    temp_ = name.data();
    return absl::OkStatus();
  }
  absl::Status Append(const std::string& piece) {
    size_t done = 0;
    while (done < piece.size()) {
      const ssize_t n = ::write(fd_, piece.data() + done, piece.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return LocalError("cannot write", temp_);
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }
  absl::Status Commit() {
    if (::fchmod(fd_, 0644) != 0 || ::fsync(fd_) != 0) return LocalError("cannot write", temp_);
    ::close(fd_);
    fd_ = -1;
    if (::rename(temp_.c_str(), path_.c_str()) != 0) return LocalError("cannot rename onto", path_);
    temp_.clear();
    return absl::OkStatus();
  }

 private:
  void Discard() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!temp_.empty()) ::unlink(temp_.c_str());
    temp_.clear();
  }
  std::string path_;
  std::string temp_;
  int fd_ = -1;
};

}  // namespace

absl::StatusOr<HistoricalResult> Client::GetHistoricalFeatures(const HistoricalQuery& query) {
  v1::GetHistoricalFeaturesRequest request = HistoricalRequestProto(query);
  request.set_entities_path(query.entities_path);
  request.set_output_path(query.output_path);
  v1::GetHistoricalFeaturesResponse response;
  absl::Status status = WithRetries(
      [&](grpc::ClientContext* context) {
        return features_->GetHistoricalFeatures(context, request, &response);
      },
      query.timeout);
  if (!status.ok()) return status;
  return HistoricalResultFrom(response);
}

absl::StatusOr<HistoricalResult> Client::StreamHistoricalFeatures(const HistoricalQuery& query) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(query.entities_path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("entity file '", query.entities_path, "' does not exist or is not a file"));
  }
  const fs::path output = fs::absolute(query.output_path, ec).lexically_normal();
  if (ec || !output.has_filename() || !fs::is_directory(output.parent_path(), ec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "output file '", query.output_path, "': its folder does not exist or it names a folder"));
  }
  if (fs::equivalent(output, query.entities_path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "output file '", query.output_path, "' is the entity file: it would be replaced"));
  }
  v1::HistoricalUpload first;
  *first.mutable_request() = HistoricalRequestProto(query);
  LocalResult result(output.string());
  v1::GetHistoricalFeaturesResponse done;
  absl::Status local;  // a local failure, which ends the call
  absl::Status status = WithRetries(
      [&](grpc::ClientContext* context) -> grpc::Status {
        done.Clear();
        local = result.Open();
        if (!local.ok()) return grpc::Status(grpc::StatusCode::CANCELLED, "");
        auto stream = features_->StreamHistoricalFeatures(context);
        bool open = stream->Write(first);
        const int fd = ::open(query.entities_path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
          local = LocalError("cannot read", query.entities_path);
          context->TryCancel();
        }
        v1::HistoricalUpload piece;
        std::string* bytes = piece.mutable_entities_chunk();
        constexpr size_t kPiece = size_t{1} << 20;
        while (open && fd >= 0) {
          bytes->resize(kPiece);
          const ssize_t n = ::read(fd, bytes->data(), kPiece);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) {
            local = LocalError("cannot read", query.entities_path);
            context->TryCancel();
            break;
          }
          if (n == 0) break;
          bytes->resize(static_cast<size_t>(n));
          open = stream->Write(piece);  // false: pantryd ended the call; Finish says why
        }
        if (fd >= 0) ::close(fd);
        if (open) stream->WritesDone();
        v1::HistoricalDownload in;
        bool got_done = false;
        while (stream->Read(&in)) {
          if (in.part_case() == v1::HistoricalDownload::kResultChunk && local.ok() && !got_done) {
            local = result.Append(in.result_chunk());
            if (!local.ok()) context->TryCancel();
          } else if (in.part_case() == v1::HistoricalDownload::kDone) {
            done = in.done();
            got_done = true;
          }
        }
        grpc::Status finished = stream->Finish();
        if (finished.ok() && local.ok() && !got_done) {
          return grpc::Status(grpc::StatusCode::INTERNAL,
                              "pantryd ended the stream without its closing message");
        }
        return finished;
      },
      query.timeout);
  if (!local.ok()) return local;
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrReplaceAll(status.message(),
                                            {{kUploadedEntityFile, query.entities_path},
                                             {kStreamedResultFile, query.output_path}}));
  }
  PANTRY_RETURN_IF_ERROR(result.Commit());
  HistoricalResult out = HistoricalResultFrom(done);
  out.output_path = output.string();
  return out;
}

absl::StatusOr<v1::Job> Client::Materialize(const std::vector<std::string>& views,
                                             int64_t start_us, int64_t end_us) {
  v1::MaterializeRequest request;
  for (const std::string& v : views) request.add_views(v);
  request.set_start_us(start_us);
  request.set_end_us(end_us);
  v1::Job job;
  PANTRY_RETURN_IF_ERROR(WithRetries(
      [&](grpc::ClientContext* context) { return materialize_->Materialize(context, request, &job); }));
  return job;
}

absl::StatusOr<v1::Job> Client::MaterializeIncremental(const std::vector<std::string>& views,
                                                        int64_t end_us) {
  v1::MaterializeIncrementalRequest request;
  for (const std::string& v : views) request.add_views(v);
  request.set_end_us(end_us);
  v1::Job job;
  PANTRY_RETURN_IF_ERROR(WithRetries([&](grpc::ClientContext* context) {
    return materialize_->MaterializeIncremental(context, request, &job);
  }));
  return job;
}

absl::StatusOr<v1::Job> Client::GetJob(const std::string& id) {
  v1::GetJobRequest request;
  request.set_id(id);
  v1::Job job;
  PANTRY_RETURN_IF_ERROR(WithRetries(
      [&](grpc::ClientContext* context) { return materialize_->GetJob(context, request, &job); }));
  return job;
}

absl::StatusOr<v1::ListJobsResponse> Client::ListJobs() {
  v1::ListJobsResponse response;
  PANTRY_RETURN_IF_ERROR(WithRetries([&](grpc::ClientContext* context) {
    return materialize_->ListJobs(context, v1::ListJobsRequest(), &response);
  }));
  return response;
}

absl::StatusOr<v1::Job> Client::CancelJob(const std::string& id) {
  v1::CancelJobRequest request;
  request.set_id(id);
  v1::Job job;
  PANTRY_RETURN_IF_ERROR(WithRetries(
      [&](grpc::ClientContext* context) { return materialize_->CancelJob(context, request, &job); }));
  return job;
}

absl::StatusOr<v1::GetIngestStatusResponse> Client::GetIngestStatus() {
  v1::GetIngestStatusResponse response;
  PANTRY_RETURN_IF_ERROR(WithRetries([&](grpc::ClientContext* context) {
    return ingest_->GetIngestStatus(context, v1::GetIngestStatusRequest(), &response);
  }));
  return response;
}

absl::StatusOr<v1::ListDeadLettersResponse> Client::ListDeadLetters(const std::string& source,
                                                                    int limit,
                                                                    const std::string& after) {
  v1::ListDeadLettersRequest request;
  request.set_source(source);
  request.set_limit(limit);
  request.set_after(after);
  v1::ListDeadLettersResponse response;
  PANTRY_RETURN_IF_ERROR(WithRetries([&](grpc::ClientContext* context) {
    return ingest_->ListDeadLetters(context, request, &response);
  }));
  return response;
}

absl::StatusOr<v1::ReplayDeadLettersResponse> Client::ReplayDeadLetters(
    const std::string& source, const std::vector<std::string>& ids, int limit) {
  v1::ReplayDeadLettersRequest request;
  request.set_source(source);
  for (const std::string& id : ids) request.add_ids(id);
  request.set_limit(limit);
  v1::ReplayDeadLettersResponse response;
  // A retry is harmless: each dead letter moves once (a second try finds it
  // gone).
  PANTRY_RETURN_IF_ERROR(WithRetries([&](grpc::ClientContext* context) {
    return ingest_->ReplayDeadLetters(context, request, &response);
  }));
  return response;
}

absl::StatusOr<v1::ListWatermarksResponse> Client::ListWatermarks() {
  v1::ListWatermarksResponse response;
  PANTRY_RETURN_IF_ERROR(WithRetries([&](grpc::ClientContext* context) {
    return materialize_->ListWatermarks(context, v1::ListWatermarksRequest(), &response);
  }));
  return response;
}

absl::StatusOr<v1::ListLineageResponse> Client::ListLineage(const std::string& view, int limit) {
  v1::ListLineageRequest request;
  request.set_view(view);
  request.set_limit(limit);
  v1::ListLineageResponse response;
  PANTRY_RETURN_IF_ERROR(WithRetries([&](grpc::ClientContext* context) {
    return materialize_->ListLineage(context, request, &response);
  }));
  return response;
}

absl::StatusOr<v1::ApplyResponse> Client::Apply(const std::string& yaml,
                                                const std::string& base_dir,
                                                const std::string& source_name) {
  v1::ApplyRequest request;
  request.set_yaml(yaml);
  request.set_base_dir(base_dir);
  request.set_source_name(source_name);
  v1::ApplyResponse response;
  absl::Status status = WithRetries(
      [&](grpc::ClientContext* context) { return registry_->Apply(context, request, &response); });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::ListEntitiesResponse> Client::ListEntities() {
  v1::ListEntitiesResponse response;
  absl::Status status = WithRetries([&](grpc::ClientContext* context) {
    return registry_->ListEntities(context, v1::ListEntitiesRequest(), &response);
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::ListFeatureViewsResponse> Client::ListFeatureViews() {
  v1::ListFeatureViewsResponse response;
  absl::Status status = WithRetries([&](grpc::ClientContext* context) {
    return registry_->ListFeatureViews(context, v1::ListFeatureViewsRequest(), &response);
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::FeatureViewSpec> Client::GetFeatureView(const std::string& name) {
  v1::GetFeatureViewRequest request;
  request.set_name(name);
  v1::FeatureViewSpec response;
  absl::Status status = WithRetries([&](grpc::ClientContext* context) {
    return registry_->GetFeatureView(context, request, &response);
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::ListFeatureServicesResponse> Client::ListFeatureServices() {
  v1::ListFeatureServicesResponse response;
  absl::Status status = WithRetries([&](grpc::ClientContext* context) {
    return registry_->ListFeatureServices(context, v1::ListFeatureServicesRequest(), &response);
  });
  if (!status.ok()) return status;
  return response;
}

absl::Status Client::CheckHealth() {
  // grpc.health.v1.HealthCheckRequest{service: ""} encodes to zero bytes; the
  // response HealthCheckResponse{status: SERVING} encodes to 08 01.
  grpc::GenericStub stub(channel_);
  grpc::ByteBuffer response;
  absl::Status status = WithRetries([&](grpc::ClientContext* context) {
    grpc::Slice empty;
    grpc::ByteBuffer request(&empty, 1);
    grpc::CompletionQueue cq;
    auto call = stub.PrepareUnaryCall(context, "/grpc.health.v1.Health/Check", request, &cq);
    call->StartCall();
    grpc::Status s;
    call->Finish(&response, &s, reinterpret_cast<void*>(1));
    void* tag;
    bool ok;
    cq.Next(&tag, &ok);
    return s;
  });
  if (!status.ok()) return status;
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (bytes != std::string("\x08\x01", 2)) return absl::UnavailableError("pantryd is not serving");
  return absl::OkStatus();
}

}  // namespace pantry
