#include "server/lineage/lineage.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace pantry::lineage {
namespace {

constexpr char kProducer[] = "urn:pantry:pantryd";
constexpr char kSchemaUrl[] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
constexpr char kErrorFacetUrl[] =
    "https://openlineage.io/spec/facets/1-0-0/ErrorMessageRunFacet.json#/$defs/"
    "ErrorMessageRunFacet";

constexpr char kSchemaFacetUrl[] =
    "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet";

nlohmann::json Datasets(const std::vector<Dataset>& sets) {
  nlohmann::json out = nlohmann::json::array();
  for (const Dataset& d : sets) {
    nlohmann::json j = {{"namespace", d.ns}, {"name", d.name}};
    if (!d.schema.empty()) {
      nlohmann::json fields = nlohmann::json::array();
      for (const auto& [name, type] : d.schema) fields.push_back({{"name", name}, {"type", type}});
      j["facets"] = {{"schema", {{"_producer", kProducer},
                                 {"_schemaURL", kSchemaFacetUrl},
                                 {"fields", fields}}}};
    }
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

std::string NewRunId() {
  std::random_device device;
  std::mt19937_64 gen((static_cast<uint64_t>(device()) << 32) ^ device() ^
                      static_cast<uint64_t>(NowMicros()));
  uint64_t hi = gen(), lo = gen();
  hi = (hi & ~uint64_t{0xF000}) | 0x4000;                      // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);  // variant 10
  char text[37];
  std::snprintf(text, sizeof(text), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xFFFF),
                static_cast<unsigned>(hi & 0xFFFF), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return text;
}

std::string ToJson(const RunEvent& event) {
  nlohmann::json run = {{"runId", event.run_id}};
  nlohmann::json facets = nlohmann::json::object();
  if (!event.error.empty()) {
    facets["errorMessage"] = {{"_producer", kProducer},
                              {"_schemaURL", kErrorFacetUrl},
                              {"message", event.error},
                              {"programmingLanguage", "C++"}};
  }
  if (!event.figures.empty()) {
    nlohmann::json figures = {{"_producer", kProducer},
                              {"_schemaURL", "urn:pantry:facets:pantry"}};
    for (const auto& [name, value] : event.figures) figures[name] = value;
    facets["pantry"] = figures;
  }
  if (!facets.empty()) run["facets"] = facets;
  nlohmann::json j = {{"eventType", event.event_type},
                      {"eventTime", FormatRfc3339(event.event_time)},
                      {"run", run},
                      {"job", {{"namespace", event.job_namespace}, {"name", event.job_name}}},
                      {"inputs", Datasets(event.inputs)},
                      {"outputs", Datasets(event.outputs)},
                      {"producer", kProducer},
                      {"schemaURL", kSchemaUrl}};
  return j.dump();
}

absl::Status LineageLog::Append(const std::string& path, const RunEvent& event) {
  const std::string line = ToJson(event) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open the lineage file ", path, ": ", std::strerror(errno)));
  }
  const bool ok =
      ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("cannot append to the lineage file ", path, ": ", std::strerror(saved)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> LineageLog::Read(const std::string& path,
                                                          const std::string& job_name,
                                                          size_t limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ifstream in(path);
  if (!in) return std::vector<std::string>();
  std::deque<std::string> kept;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    if (!job_name.empty()) {
      const auto job = j.find("job");
      if (job == j.end() || !job->is_object() || job->value("name", "") != job_name) continue;
    }
    kept.push_back(std::move(line));
    if (kept.size() > limit) kept.pop_front();
  }
  return std::vector<std::string>(kept.begin(), kept.end());
}

}  // namespace pantry::lineage
