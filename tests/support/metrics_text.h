// Reading Prometheus text expositions in tests.
#pragma once

#include <optional>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"

namespace pantry::testing {

// The value of `series` in a text exposition: the metric name with its
// labels exactly as exposed (prometheus-cpp sorts them by name), e.g.
// `pantry_grpc_requests_total{code="OK",method="/x.Y/Z"}`. Nullopt when the
// series is absent.
inline std::optional<double> SeriesValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      double value = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) return value;
    }
  }
  return std::nullopt;
}

}  // namespace pantry::testing
