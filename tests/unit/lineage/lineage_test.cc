// OpenLineage events: their JSON, and the JSON-lines log.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <cctype>
#include <set>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/lineage/events.h"
#include "server/lineage/lineage.h"
#include "server/registry/registry.h"

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
  e.inputs = {{"file", "/data/txn/part-0.parquet", {}}};
  e.outputs = {{"redis://127.0.0.1:6379", "fraud.user_stats", {}}};
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

TEST(Lineage, AnApplyEventCarriesTheViewsSchemas) {
  auto registry = ParseRegistry(
      "project: p\n"
      "entities: [{name: user, join_keys: [user_id], value_type: INT64}]\n"
      "sources: [{name: s, type: push, timestamp_field: ts,\n"
      "           schema: [{name: user_id, dtype: INT64}, {name: a, dtype: DOUBLE}]}]\n"
      "feature_views: [{name: v, entities: [user], source: s, schema: [{name: a, dtype: DOUBLE}]}]\n"
      "on_demand_views: [{name: d, inputs: {features: [v:a]},\n"
      "                   features: [{name: twice, dtype: DOUBLE, expr: \"v.a * 2\"}]}]\n",
      "repo.yaml", "/repo");
  ASSERT_TRUE(registry.ok()) << registry.status();
  const nlohmann::json j = nlohmann::json::parse(ToJson(ApplyEvent(**registry, 1'800'000'000'000'000)));
  EXPECT_EQ(j["job"]["name"], "apply");
  EXPECT_EQ(j["job"]["namespace"], "pantry://p");
  EXPECT_EQ(j["eventType"], "COMPLETE");
  EXPECT_EQ(j["inputs"][0]["name"], "repo.yaml");
  ASSERT_EQ(j["outputs"].size(), 2u);
  EXPECT_EQ(j["outputs"][0]["name"], "p.v");
  const nlohmann::json& fields = j["outputs"][0]["facets"]["schema"]["fields"];
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0], nlohmann::json({{"name", "user_id"}, {"type", "INT64"}}));
  EXPECT_EQ(fields[1], nlohmann::json({{"name", "a"}, {"type", "DOUBLE"}}));
  EXPECT_EQ(j["outputs"][1]["name"], "p.d");
  EXPECT_EQ(j["outputs"][1]["facets"]["schema"]["fields"][0]["name"], "twice");
  EXPECT_TRUE(j["outputs"][0]["facets"]["schema"].contains("_schemaURL"));
}

}  // namespace
}  // namespace pantry::lineage
