#include "client/cli/parquet_bench.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/parquet/reader.h"
#include "server/parquet/writer.h"

namespace pantry::cli {
namespace {

using parquet::Column;
using parquet::ColumnData;
using parquet::FileReader;

double PeakRssMiB() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// Folds every value of a chunk into `acc`, so no decoded value is dead.
double Aggregate(const ColumnData& d) {
  double acc = 0;
  for (uint8_t b : d.bools) acc += b;
  for (int32_t v : d.i32) acc += v;
  int64_t s64 = 0;
  for (int64_t v : d.i64) s64 += v;
  acc += static_cast<double>(s64);
  for (float v : d.f32) acc += v;
  for (double v : d.f64) acc += v;
  acc += static_cast<double>(d.bytes.data_size());
  for (int16_t l : d.def_levels) acc += l;
  return acc;
}

int Fail(const absl::Status& s) {
  std::cerr << "pantry bench parquet: " << s << "\n";
  return 1;
}

void Report(const ParquetBenchOptions& o, int64_t rows, double seconds, double extra,
            uint64_t bytes) {
  const double rss = PeakRssMiB();
  if (o.json) {
    nlohmann::ordered_json j;
    j["mode"] = o.mode;
    j["file"] = o.file;
    j["threads"] = o.threads;
    j["rows"] = rows;
    j["seconds"] = seconds;
    j["rows_per_second"] = rows / seconds;
    j["peak_rss_mib"] = rss;
    j["bytes"] = bytes;
    j["checksum"] = extra;
    std::cout << j.dump() << "\n";
    return;
  }
  std::cout << "pantry parquet " << o.mode << ": " << rows << " rows in " << seconds << " s ("
            << static_cast<int64_t>(rows / seconds) << " rows/s, " << o.threads
            << " threads), peak RSS " << rss << " MiB, " << bytes << " bytes\n";
}

int Scan(const ParquetBenchOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  auto reader = FileReader::Open(o.file);
  if (!reader.ok()) return Fail(reader.status());
  const int groups = (*reader)->num_row_groups();
  const int columns = static_cast<int>((*reader)->schema().columns().size());
  std::atomic<int> next{0};
  std::mutex mu;
  absl::Status error;
  double total = 0;
  auto work = [&] {
    ColumnData data;
    double acc = 0;
    for (;;) {
      const int task = next.fetch_add(1);
      if (task >= groups * columns) break;
      absl::Status s = (*reader)->ReadColumn(task / columns, task % columns, &data);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (error.ok()) error = s;
        break;
      }
      acc += Aggregate(data);
    }
    std::lock_guard<std::mutex> lock(mu);
    total += acc;
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < o.threads; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (!error.ok()) return Fail(error);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Report(o, (*reader)->num_rows(), seconds, total, (*reader)->file_size());
  return 0;
}

absl::StatusOr<parquet::Codec> ParseCodec(const std::string& name) {
  if (name == "snappy") return parquet::Codec::kSnappy;
  if (name == "zstd") return parquet::Codec::kZstd;
  if (name == "gzip") return parquet::Codec::kGzip;
  if (name == "none" || name == "uncompressed") return parquet::Codec::kUncompressed;
  if (name == "lz4") return parquet::Codec::kLz4Raw;
  if (name == "brotli") return parquet::Codec::kBrotli;
  return absl::InvalidArgumentError(absl::StrCat("unknown codec '", name, "'"));
}

int Write(const ParquetBenchOptions& o) {
  auto codec = ParseCodec(o.codec);
  if (!codec.ok()) return Fail(codec.status());
  auto reader = FileReader::Open(o.file);
  if (!reader.ok()) return Fail(reader.status());
  // Load everything first: the timing covers writing only.
  const auto& schema = (*reader)->schema().columns();
  std::vector<std::vector<ColumnData>> groups((*reader)->num_row_groups());
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    groups[g].resize(schema.size());
    for (size_t c = 0; c < schema.size(); ++c) {
      absl::Status s = (*reader)->ReadColumn(g, static_cast<int>(c), &groups[g][c]);
      if (!s.ok()) return Fail(s);
    }
  }
  std::vector<parquet::ColumnSpec> specs(schema.begin(), schema.end());
  parquet::WriterOptions options;
  options.codec = *codec;
  options.row_group_rows = 122880;  // DuckDB's default row group size
  options.threads = o.threads;
  const std::string out = o.out.empty() ? o.file + ".pantry-write.parquet" : o.out;
  const auto start = std::chrono::steady_clock::now();
  auto writer = parquet::FileWriter::Create(out, specs, options);
  if (!writer.ok()) return Fail(writer.status());
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    absl::Status s = (*writer)->Write(std::move(groups[g]), (*reader)->row_group_rows(g));
    if (!s.ok()) return Fail(s);
  }
  absl::Status s = (*writer)->Close();
  if (!s.ok()) return Fail(s);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  struct stat st;
  uint64_t bytes = 0;
  if (::stat(out.c_str(), &st) == 0) bytes = static_cast<uint64_t>(st.st_size);
  Report(o, (*reader)->num_rows(), seconds, 0, bytes);
  if (!o.keep) ::unlink(out.c_str());
  return 0;
}

}  // namespace

int RunParquetBench(const ParquetBenchOptions& options) {
  if (options.threads < 1) {
    std::cerr << "pantry bench parquet: --threads must be >= 1\n";
    return 2;
  }
  if (options.mode == "scan") return Scan(options);
  if (options.mode == "write") return Write(options);
  std::cerr << "pantry bench parquet: --mode is scan or write\n";
  return 2;
}

}  // namespace pantry::cli
