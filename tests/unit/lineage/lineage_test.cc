// OpenLineage events: their JSON, and the JSON-lines log.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <cctype>
#include <set>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/lineage/lineage.h"

namespace pantry::lineage {
namespace {

namespace fs = std::filesystem;

RunEvent Event(const std::string& type, const std::string& job) {
  RunEvent e;
  e.event_type = type;
  e.event_time = 1767225600LL * kMicrosPerSecond;
  e.run_id = NewRunId();
  e.job_namespace = "pantry://fraud";
  e.job_name = job;
  e.inputs = {{"file", "/data/txn/part-0.parquet"}};
  e.outputs = {{"redis://127.0.0.1:6379", "fraud.user_stats"}};
  return e;
}

// xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx, lower-case hex.
bool IsUuid4(const std::string& id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (id[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
    if (!dash && std::isupper(static_cast<unsigned char>(id[i]))) return false;
  }
  return id[14] == '4' && std::string("89ab").find(id[19]) != std::string::npos;
}

TEST(Lineage, RunIdsAreVersion4Uuids) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewRunId();
    EXPECT_TRUE(IsUuid4(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(Lineage, EventsFollowTheRunEventSchema) {
  RunEvent e = Event("FAIL", "materialize.user_stats");
  e.error = "redis at 127.0.0.1:6379: Connection refused";
  e.figures = {{"rows_written", 7}};
  const nlohmann::json j = nlohmann::json::parse(ToJson(e));
  EXPECT_EQ(j["eventType"], "FAIL");
  EXPECT_EQ(j["eventTime"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(j["run"]["runId"], e.run_id);
  EXPECT_EQ(j["job"]["namespace"], "pantry://fraud");
  EXPECT_EQ(j["job"]["name"], "materialize.user_stats");
  EXPECT_EQ(j["inputs"][0]["namespace"], "file");
  EXPECT_EQ(j["inputs"][0]["name"], "/data/txn/part-0.parquet");
  EXPECT_EQ(j["outputs"][0]["name"], "fraud.user_stats");
  EXPECT_EQ(j["run"]["facets"]["errorMessage"]["message"], e.error);
  EXPECT_EQ(j["run"]["facets"]["errorMessage"]["programmingLanguage"], "C++");
  EXPECT_EQ(j["run"]["facets"]["pantry"]["rows_written"], 7);
  EXPECT_TRUE(j["producer"].is_string());
  EXPECT_EQ(j["schemaURL"], "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent");
}

TEST(Lineage, LogAppendsAndReadsBackByJobAndLimit) {
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("pantry_lineage_", ::getpid());
  fs::remove_all(dir);
  const std::string path = (dir / "sub" / "lineage.jsonl").string();
  LineageLog log;
  auto none = log.Read(path, "", 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(log.Append(path, Event("START", i % 2 ? "materialize.a" : "materialize.b")).ok());
  }
  // A line cut short by a crash is skipped.
  std::ofstream(path, std::ios::app) << "{\"eventType\": \"STA";
  auto all = log.Read(path, "", 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);
  auto a = log.Read(path, "materialize.a", 100);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(), 2u);
  auto last = log.Read(path, "materialize.b", 2);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 2u);
  EXPECT_EQ((*last)[1], (*all)[4]);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pantry::lineage
