#include "server/service/historical_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/auth/resources.h"
#include "server/common/log.h"
#include "server/common/status.h"
#include "server/service/convert.h"
#include "server/service/historical_job.h"

namespace pantry {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  const int e = errno;
  const std::string message = absl::StrCat(what, " '", path, "': ", std::strerror(e));
  // A full temp folder is a capacity problem, not a fault.
  if (e == ENOSPC || e == EDQUOT) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

}  // namespace

HistoricalStream::HistoricalStream(grpc::CallbackServerContext* context,
                                   std::shared_ptr<const Registry> registry, JobPool* jobs,
                                   offline::HistoricalOptions options,
                                   const HistoricalStreamOptions& stream_options,
                                   auth::CallAuth call)
    : context_(context),
      registry_(std::move(registry)),
      jobs_(jobs),
      options_(std::move(options)),
      stream_options_(stream_options),
      arrived_(NowMicros()),
      call_(std::move(call)) {
  StartRead(&in_);
}

HistoricalStream::~HistoricalStream() { CloseFiles(); }

void HistoricalStream::CloseFiles() {
  if (upload_fd_ >= 0) ::close(upload_fd_);
  if (result_fd_ >= 0) ::close(result_fd_);
  upload_fd_ = result_fd_ = -1;
}

void HistoricalStream::Fail(const absl::Status& status) {
  if (finished_.exchange(true)) return;
  std::string message(status.message());
  // The caller never saw the temp folder: name its files as the caller knows them.
  if (!dir_.empty()) {
    message = absl::StrReplaceAll(message, {{request_.entities_path, kUploadedEntityFile},
                                            {request_.output_path, kStreamedResultFile}});
  }
  Finish(ToGrpcStatus(absl::Status(status.code(), message)));
}

void HistoricalStream::OnReadDone(bool ok) {
  if (finished_) return;
  if (!ok) {
    // The client half-closed (or the call broke: then Finish is a no-op for
    // it, but still ends the reactor).
    if (context_->IsCancelled()) {
      Fail(absl::CancelledError("the call was cancelled during the upload"));
    } else if (!begun_) {
      Fail(absl::InvalidArgumentError(
          "the stream ended before its first message: send the request, then the entity file"));
    } else {
      Queue();
    }
    return;
  }
  absl::Status s = begun_ ? Append() : Begin();
  if (!s.ok()) {
    Fail(s);
    return;
  }
  StartRead(&in_);
}

absl::Status HistoricalStream::Begin() {
  if (in_.part_case() != v1::HistoricalUpload::kRequest) {
    return absl::InvalidArgumentError(
        "the first message of the stream must be the request, before any entity file piece");
  }
  absl::StatusOr<offline::HistoricalRequest> request =
      HistoricalFromProto(in_.request(), HistoricalPaths::kForbidden);
  if (!request.ok()) return request.status();
  PANTRY_RETURN_IF_ERROR(
      auth::RequireFeatures(call_, *registry_, request->feature_refs, request->feature_service));
  PANTRY_RETURN_IF_ERROR(CheckFeatures(*registry_, *request));
  request_ = *std::move(request);
  std::string pattern =
      (std::filesystem::path(stream_options_.temp_dir) / "pantry-join-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    return Errno("cannot make a folder in the temp folder", stream_options_.temp_dir);
  }
  dir_ = buffer.data();
  request_.entities_path = (std::filesystem::path(dir_) / "entities.parquet").string();
  request_.output_path = (std::filesystem::path(dir_) / "result.parquet").string();
  upload_fd_ = ::open(request_.entities_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (upload_fd_ < 0) return Errno("cannot create", request_.entities_path);
  begun_ = true;
  return absl::OkStatus();
}

absl::Status HistoricalStream::Append() {
  if (in_.part_case() != v1::HistoricalUpload::kEntitiesChunk) {
    return absl::InvalidArgumentError(
        "only the first message of the stream may be a request; the others carry the entity "
        "file");
  }
  const std::string& piece = in_.entities_chunk();
  if (uploaded_ + static_cast<int64_t>(piece.size()) > stream_options_.max_upload_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the entity file is larger than pantryd takes in a stream (",
                     stream_options_.max_upload_bytes >> 20,
                     " MiB, --max-upload-mb); put it where pantryd can read it and pass its "
                     "path instead"));
  }
  size_t done = 0;
  while (done < piece.size()) {
    const ssize_t n = ::write(upload_fd_, piece.data() + done, piece.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write the uploaded entity file to", request_.entities_path);
    }
    done += static_cast<size_t>(n);
  }
  uploaded_ += static_cast<int64_t>(piece.size());
  return absl::OkStatus();
}

void HistoricalStream::Queue() {
  ::close(upload_fd_);
  upload_fd_ = -1;
  spdlog::info("streamed historical join of {} uploaded bytes requested ({} running, {} waiting)",
               uploaded_, jobs_->running(), jobs_->queued());
  absl::Status queued = jobs_->Submit([this](absl::Status start) { Run(std::move(start)); });
  if (!queued.ok()) {
    spdlog::warn("streamed historical join rejected: {}", queued);
    Fail(queued);
  }
}

void HistoricalStream::Run(absl::Status start) {
  absl::StatusOr<HistoricalOutcome> outcome =
      RunHistoricalJob(std::move(start), context_, *jobs_, *registry_, request_, options_,
                       arrived_, absl::StrCat("of a streamed entity file (", uploaded_, " bytes)"));
  if (!outcome.ok()) {
    Fail(outcome.status());
    return;
  }
  ToProto(*outcome, &done_);
  result_fd_ = ::open(request_.output_path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (result_fd_ < 0 || ::fstat(result_fd_, &st) != 0) {
    Fail(Errno("cannot read back the result", request_.output_path));
    return;
  }
  result_size_ = st.st_size;
  SendNext();
}

void HistoricalStream::SendNext() {
  if (sent_ >= result_size_) {
    out_.Clear();
    *out_.mutable_done() = done_;
    if (!finished_.exchange(true)) StartWriteAndFinish(&out_, grpc::WriteOptions(), grpc::Status::OK);
    return;
  }
  const int64_t want = std::min(stream_options_.chunk_bytes, result_size_ - sent_);
  std::string* piece = out_.mutable_result_chunk();
  piece->resize(static_cast<size_t>(want));
  int64_t got = 0;
  while (got < want) {
    const ssize_t n = ::pread(result_fd_, piece->data() + got, static_cast<size_t>(want - got),
                              static_cast<off_t>(sent_ + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      Fail(Errno("cannot read back the result", request_.output_path));
      return;
    }
    got += n;
  }
  sent_ += want;
  StartWrite(&out_);
}

void HistoricalStream::OnWriteDone(bool ok) {
  if (finished_) return;
  if (!ok) {
    Fail(absl::CancelledError("the call ended while the result was being sent"));
    return;
  }
  SendNext();
}

void HistoricalStream::OnDone() {
  CloseFiles();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (ec) spdlog::warn("cannot remove the temp folder {}: {}", dir_, ec.message());
  }
  delete this;
}

}  // namespace pantry
