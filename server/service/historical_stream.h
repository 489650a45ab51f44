// HistoricalStream: the reactor of one StreamHistoricalFeatures call, a
// point-in-time join whose entity file is uploaded in the stream and whose
// result file is sent back in it, for callers that share no file system with
// pantryd.
//
// The call's life: the first message (the request) is checked against the
// registry snapshot of the call's start and a private folder is made under
// the temp folder; the entity file's pieces are appended to a file there as
// they arrive (bounded by max_upload_bytes); when the client half-closes, the
// join is queued on the offline job pool (RunHistoricalJob: it stops when the
// call is cancelled, its deadline passes or pantryd shuts down); the result
// file is then read back in chunk_bytes pieces, one write at a time, and the
// stats close the stream. The folder is removed when the call ends, however
// it ends.
#ifndef PANTRY_SERVER_SERVICE_HISTORICAL_STREAM_H_
#define PANTRY_SERVER_SERVICE_HISTORICAL_STREAM_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "pantry/v1/serving.pb.h"
#include "server/auth/guard.h"
#include "server/common/time.h"
#include "server/offline/historical.h"
#include "server/registry/registry.h"
#include "server/service/job_pool.h"

namespace pantry {

// How error messages name the call's files, which the caller knows by other
// names (the SDK puts its own paths back in their place).
inline constexpr char kUploadedEntityFile[] = "<uploaded entity file>";
inline constexpr char kStreamedResultFile[] = "<result file>";

struct HistoricalStreamOptions {
  // Where each call makes its private folder (pantryd --temp-dir).
  std::string temp_dir = "/tmp";
  // Largest entity file a call may upload (pantryd --max-upload-mb).
  int64_t max_upload_bytes = int64_t{16} << 30;
  // Size of the result pieces sent back.
  int64_t chunk_bytes = int64_t{1} << 20;
};

// A stream refused before anything is read (no valid credentials).
class RefusedStream final
    : public grpc::ServerBidiReactor<v1::HistoricalUpload, v1::HistoricalDownload> {
 public:
  explicit RefusedStream(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

class HistoricalStream final
    : public grpc::ServerBidiReactor<v1::HistoricalUpload, v1::HistoricalDownload> {
 public:
  // Starts reading. `jobs` is borrowed and must outlive the call.
  // `call` authorizes the features the request names (read_offline).
  HistoricalStream(grpc::CallbackServerContext* context, std::shared_ptr<const Registry> registry,
                   JobPool* jobs, offline::HistoricalOptions options,
                   const HistoricalStreamOptions& stream_options, auth::CallAuth call);
  ~HistoricalStream() override;

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

 private:
  absl::Status Begin();        // the first message
  absl::Status Append();       // an entity file piece
  void Queue();                // the upload is complete: queue the join
  void Run(absl::Status start);  // the job
  void SendNext();             // the next result piece, or the stats and the end
  void Fail(const absl::Status& status);
  void CloseFiles();

  grpc::CallbackServerContext* const context_;
  const std::shared_ptr<const Registry> registry_;
  JobPool* const jobs_;
  const offline::HistoricalOptions options_;
  const HistoricalStreamOptions stream_options_;
  const Micros arrived_;
  auth::CallAuth call_;

  v1::HistoricalUpload in_;
  v1::HistoricalDownload out_;
  bool begun_ = false;
  offline::HistoricalRequest request_;
  std::string dir_;           // the call's private folder; empty until made
  int upload_fd_ = -1;
  int64_t uploaded_ = 0;      // bytes of the entity file received
  int result_fd_ = -1;
  int64_t result_size_ = 0;
  int64_t sent_ = 0;          // bytes of the result sent
  v1::GetHistoricalFeaturesResponse done_;
  std::atomic<bool> finished_{false};
};

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVICE_HISTORICAL_STREAM_H_
