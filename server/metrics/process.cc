#include "server/metrics/process.h"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace pantry {
namespace {

std::string ReadAll(const char* path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

prometheus::MetricFamily Family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return {name, help, type, {m}};
}

// The fields of /proc/self/stat after the command name (which may hold
// spaces and parentheses, so the split starts after the last ')'); field 3
// of proc(5) is the first.
std::vector<absl::string_view> StatFields(const std::string& stat) {
  const size_t end = stat.rfind(')');
  if (end == std::string::npos || end + 2 > stat.size()) return {};
  return absl::StrSplit(absl::string_view(stat).substr(end + 2), ' ', absl::SkipEmpty());
}

std::optional<double> BootTime() {
  std::istringstream in(ReadAll("/proc/stat"));
  for (std::string line; std::getline(in, line);) {
    double btime = 0;
    if (line.rfind("btime ", 0) == 0 && absl::SimpleAtod(line.substr(6), &btime)) return btime;
  }
  return std::nullopt;
}

class ProcessCollector : public prometheus::Collectable {
 public:
  ProcessCollector()
      : ticks_(static_cast<double>(sysconf(_SC_CLK_TCK))),
        page_bytes_(static_cast<double>(sysconf(_SC_PAGESIZE))) {
    // The start time does not change: read it once.
    const std::string stat = ReadAll("/proc/self/stat");
    const std::vector<absl::string_view> f = StatFields(stat);
    double start_ticks = 0;
    std::optional<double> boot = BootTime();
    if (f.size() > 19 && boot && ticks_ > 0 && absl::SimpleAtod(f[19], &start_ticks)) {
      start_seconds_ = *boot + start_ticks / ticks_;
    }
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    const std::string stat = ReadAll("/proc/self/stat");
    const std::vector<absl::string_view> f = StatFields(stat);
    // proc(5): utime is field 14, stime 15, vsize 23, rss 24 (pages).
    double utime = 0, stime = 0, vsize = 0, rss = 0;
    if (f.size() > 21 && ticks_ > 0 && absl::SimpleAtod(f[11], &utime) &&
        absl::SimpleAtod(f[12], &stime)) {
      out.push_back(Family("process_cpu_seconds_total", "User and system CPU time spent in seconds",
                           MetricType::Counter, (utime + stime) / ticks_));
    }
    if (f.size() > 21 && absl::SimpleAtod(f[20], &vsize)) {
      out.push_back(Family("process_virtual_memory_bytes", "Virtual memory size in bytes",
                           MetricType::Gauge, vsize));
    }
    if (f.size() > 21 && absl::SimpleAtod(f[21], &rss)) {
      out.push_back(Family("process_resident_memory_bytes", "Resident memory size in bytes",
                           MetricType::Gauge, rss * page_bytes_));
    }
    if (f.size() > 17) {
      double threads = 0;
      if (absl::SimpleAtod(f[17], &threads)) {
        out.push_back(
            Family("process_threads", "Threads of the process", MetricType::Gauge, threads));
      }
    }
    if (start_seconds_) {
      out.push_back(Family("process_start_time_seconds",
                           "Start time of the process since unix epoch in seconds",
                           MetricType::Gauge, *start_seconds_));
    }
    std::error_code ec;
    double fds = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
      ++fds;
    }
    if (!ec) {
      out.push_back(
          Family("process_open_fds", "Number of open file descriptors", MetricType::Gauge, fds));
    }
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      out.push_back(Family("process_max_fds", "Maximum number of open file descriptors",
                           MetricType::Gauge, static_cast<double>(limit.rlim_cur)));
    }
    return out;
  }

 private:
  const double ticks_;
  const double page_bytes_;
  std::optional<double> start_seconds_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> NewProcessCollector() {
  return std::make_shared<ProcessCollector>();
}

}  // namespace pantry
