#include "server/service/ingest_service.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "server/common/time.h"
#include "server/ingest/dead_letters.h"
#include "server/service/authorize.h"
#include "server/service/convert.h"

namespace pantry {

grpc::ServerUnaryReactor* IngestServiceImpl::Push(grpc::CallbackServerContext* context,
                                                  const v1::PushRequest* request,
                                                  v1::PushResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (guard_->on()) {
    std::shared_ptr<const Registry> registry = registry_->Get();
    std::optional<auth::CallAuth> call =
        BeginCall(*guard_, context, "/pantry.v1.IngestService/Push", *registry, reactor);
    if (!call || Refused(auth::RequireView(*call, *registry, request->feature_view()), reactor)) {
      return reactor;
    }
  }
  ingest::PushInput input;
  input.view = request->feature_view();
  input.partial = request->partial();
  input.push_id = request->push_id();
  switch (request->to()) {
    case v1::PushRequest::ONLINE:
      input.to = ingest::PushTarget::kOnline;
      break;
    case v1::PushRequest::OFFLINE:
      input.to = ingest::PushTarget::kOffline;
      break;
    default:
      input.to = ingest::PushTarget::kBoth;
  }
  input.rows.reserve(request->rows_size());
  for (const v1::WriteRow& row : request->rows()) {
    WriteRowInput in;
    in.event_time = row.event_timestamp_us();
    in.values.reserve(row.values_size());
    for (const auto& [name, value] : row.values()) in.values.emplace_back(name, FromProto(value));
    input.rows.push_back(std::move(in));
  }
  Micros deadline = NowMicros() + max_wait_;
  if (context->deadline() != std::chrono::system_clock::time_point::max()) {
    deadline = std::min<Micros>(deadline, std::chrono::duration_cast<std::chrono::microseconds>(
                                              context->deadline().time_since_epoch())
                                              .count());
  }
  const absl::Status queued = workers_->Submit(
      [this, reactor, response, deadline, input = std::move(input)](absl::Status start) mutable {
        if (!start.ok()) {
          reactor->Finish(ToGrpcStatus(start));
          return;
        }
        if (NowMicros() >= deadline) {
          reactor->Finish(ToGrpcStatus(
              absl::DeadlineExceededError("the push waited for a worker past its deadline")));
          return;
        }
        absl::StatusOr<ingest::PushResult> result = pusher_->Push(std::move(input), deadline);
        if (!result.ok()) {
          reactor->Finish(ToGrpcStatus(result.status()));
          return;
        }
        response->set_rows_accepted(result->accepted);
        response->set_rows_written_online(result->written_online);
        response->set_rows_skipped_older(result->skipped_older);
        response->set_log_sequence(result->lsn);
        for (const ingest::RejectedRow& r : result->rejected) {
          v1::RejectedRow* out = response->add_rejected();
          out->set_row(r.row);
          out->set_column(r.column);
          out->set_reason(r.reason);
        }
        reactor->Finish(grpc::Status::OK);
      });
  if (!queued.ok()) reactor->Finish(ToGrpcStatus(queued));
  return reactor;
}

grpc::ServerUnaryReactor* IngestServiceImpl::GetIngestStatus(
    grpc::CallbackServerContext* context, const v1::GetIngestStatusRequest* /*request*/,
    v1::GetIngestStatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  {
    std::optional<auth::CallAuth> call = BeginCall(
        *guard_, context, "/pantry.v1.IngestService/GetIngestStatus", *registry_->Get(), reactor);
    if (!call || Refused(call->RequireProject(), reactor)) return reactor;
  }
  const Micros now = NowMicros();
  for (const ingest::SourceStatus& s : streams_->Status()) {
    v1::StreamSourceStatus* out = response->add_sources();
    out->set_source(s.source);
    out->set_stream(s.stream);
    out->set_group(s.group);
    out->set_consumer(s.consumer);
    out->set_redis(s.redis);
    out->set_running(s.running);
    out->set_entries_read(s.entries);
    out->set_rows(s.rows);
    out->set_dead_letters(s.dead_letters);
    out->set_late_rows(s.late_rows);
    out->set_redelivered(s.redelivered);
    out->set_claimed(s.claimed);
    out->set_rows_per_second(s.rows_per_second);
    out->set_watermark_us(s.watermark == kNoTimestamp ? 0 : s.watermark);
    out->set_newest_event_time_us(s.newest_event_time == kNoTimestamp ? 0 : s.newest_event_time);
    out->set_pending(s.pending);
    out->set_lag(s.lag);
    out->set_seconds_behind(s.seconds_behind);
    out->set_last_error(s.last_error);
    out->set_last_error_us(s.last_error_at == kNoTimestamp ? 0 : s.last_error_at);
  }
  for (const auto& [view, newest] : streams_->freshness()->Newest()) {
    v1::ViewFreshness* out = response->add_views();
    out->set_feature_view(view);
    out->set_latest_event_time_us(newest);
    out->set_seconds_behind(static_cast<double>(now - newest) / 1e6);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* IngestServiceImpl::ListDeadLetters(
    grpc::CallbackServerContext* context, const v1::ListDeadLettersRequest* request,
    v1::ListDeadLettersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  {
    std::optional<auth::CallAuth> call = BeginCall(
        *guard_, context, "/pantry.v1.IngestService/ListDeadLetters", *registry_->Get(), reactor);
    if (!call || Refused(call->Require(auth::ResourceKind::kSource, request->source()), reactor)) {
      return reactor;
    }
  }
  const absl::Status queued = workers_->Submit([this, reactor, request, response](absl::Status start) {
    if (!start.ok()) return reactor->Finish(ToGrpcStatus(start));
    absl::StatusOr<ingest::DeadLetterPage> page = ingest::ListDeadLetters(
        *registry_->Get(), request->source(), request->limit(), request->after());
    if (!page.ok()) return reactor->Finish(ToGrpcStatus(page.status()));
    response->set_dead_letter_stream(page->stream);
    response->set_total(page->total);
    for (ingest::DeadLetterEntry& e : page->entries) {
      v1::DeadLetter* out = response->add_dead_letters();
      out->set_id(e.id);
      out->set_entry_id(e.entry_id);
      out->set_reason(e.reason);
      out->set_at(e.at);
      for (auto& [f, v] : e.fields) (*out->mutable_fields())[f] = v;
    }
    reactor->Finish(grpc::Status::OK);
  });
  if (!queued.ok()) reactor->Finish(ToGrpcStatus(queued));
  return reactor;
}

grpc::ServerUnaryReactor* IngestServiceImpl::ReplayDeadLetters(
    grpc::CallbackServerContext* context, const v1::ReplayDeadLettersRequest* request,
    v1::ReplayDeadLettersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  {
    std::optional<auth::CallAuth> call = BeginCall(
        *guard_, context, "/pantry.v1.IngestService/ReplayDeadLetters", *registry_->Get(), reactor);
    if (!call || Refused(call->Require(auth::ResourceKind::kSource, request->source()), reactor)) {
      return reactor;
    }
  }
  const absl::Status queued = workers_->Submit([this, reactor, request, response](absl::Status start) {
    if (!start.ok()) return reactor->Finish(ToGrpcStatus(start));
    const std::vector<std::string> ids(request->ids().begin(), request->ids().end());
    absl::StatusOr<ingest::ReplayResult> result =
        ingest::ReplayDeadLetters(*registry_->Get(), request->source(), ids, request->limit());
    if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
    response->set_replayed(result->replayed);
    response->set_missing(result->missing);
    reactor->Finish(grpc::Status::OK);
  });
  if (!queued.ok()) reactor->Finish(ToGrpcStatus(queued));
  return reactor;
}

}  // namespace pantry
