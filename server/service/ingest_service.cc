#include "server/service/ingest_service.h"

#include <algorithm>
#include <chrono>

#include "server/common/time.h"
#include "server/service/convert.h"

namespace pantry {

grpc::ServerUnaryReactor* IngestServiceImpl::Push(grpc::CallbackServerContext* context,
                                                  const v1::PushRequest* request,
                                                  v1::PushResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
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

}  // namespace pantry
