// Registry lookups, feature references, LoadRegistryFile and RegistryHolder.
#include "server/registry/registry.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pantry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::string_view kRepo = R"(project: fraud
entities:
  - {name: user, join_keys: [user_id], value_type: INT64}
sources:
  - {name: txn_src, path: data/txn.parquet, timestamp_field: ts}
feature_views:
  - name: user_stats
    entities: [user]
    source: txn_src
    schema:
      - {name: txn_count_7d, dtype: INT64}
      - {name: avg_amount_7d, dtype: DOUBLE}
feature_services:
  - {name: fraud_v1, features: ["user_stats:*"]}
)";

std::shared_ptr<const Registry> Load() {
  auto r = ParseRegistry(kRepo, "repo.yaml", "/repo");
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::make_shared<const Registry>();
}

std::vector<std::string> Strings(const std::vector<FeatureRef>& refs) {
  std::vector<std::string> out;
  for (const FeatureRef& r : refs) out.push_back(r.ToString());
  return out;
}

// A fresh directory under the test's temp folder, removed at the end.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern =
        absl::StrCat(base != nullptr ? base : std::filesystem::temp_directory_path().string(),
                     "/pantry_registry_XXXXXX");
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Registry, FindReturnsTheNamedObjectOrNull) {
  auto reg = Load();
  ASSERT_NE(reg->FindEntity("user"), nullptr);
  EXPECT_EQ(reg->FindEntity("user")->name, "user");
  EXPECT_EQ(reg->FindEntity("merchant"), nullptr);
  ASSERT_NE(reg->FindFeatureView("user_stats"), nullptr);
  EXPECT_EQ(reg->FindFeatureView("user_stats")->name, "user_stats");
  EXPECT_EQ(reg->FindFeatureView("user"), nullptr);
  ASSERT_NE(reg->FindFeatureService("fraud_v1"), nullptr);
  EXPECT_EQ(reg->FindFeatureService("fraud_v2"), nullptr);
  EXPECT_EQ(reg->FindFeatureService(""), nullptr);
}

TEST(Registry, FeatureIndexIsSchemaPositionOrMinusOne) {
  auto reg = Load();
  const FeatureView* v = reg->FindFeatureView("user_stats");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->FeatureIndex("txn_count_7d"), 0);
  EXPECT_EQ(v->FeatureIndex("avg_amount_7d"), 1);
  EXPECT_EQ(v->FeatureIndex("missing"), -1);
  EXPECT_EQ(v->FeatureIndex(""), -1);
}

TEST(Registry, ResolveFeatureRefAppendsOneFeature) {
  auto reg = Load();
  std::vector<FeatureRef> out = {{"x", "y"}};
  ASSERT_TRUE(reg->ResolveFeatureRef("user_stats:avg_amount_7d", &out).ok());
  EXPECT_THAT(Strings(out), ElementsAre("x:y", "user_stats:avg_amount_7d"));
}

TEST(Registry, ResolveFeatureRefExpandsWildcardInSchemaOrder) {
  auto reg = Load();
  std::vector<FeatureRef> out;
  ASSERT_TRUE(reg->ResolveFeatureRef("user_stats:*", &out).ok());
  EXPECT_THAT(Strings(out), ElementsAre("user_stats:txn_count_7d", "user_stats:avg_amount_7d"));
  EXPECT_EQ(out[0].view, "user_stats");
  EXPECT_EQ(out[0].feature, "txn_count_7d");
}

TEST(Registry, ResolveFeatureRefRejectsMalformedReferences) {
  auto reg = Load();
  for (absl::string_view ref : {"abc", ":x", "x:", "a:b:c", "", ":"}) {
    std::vector<FeatureRef> out;
    const absl::Status st = reg->ResolveFeatureRef(ref, &out);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << ref;
    EXPECT_EQ(st.message(),
              absl::StrCat("malformed feature reference '", ref, "': expected view:feature"));
    EXPECT_TRUE(out.empty());
  }
}

TEST(Registry, ResolveFeatureRefNamesUnknownViewOrFeature) {
  auto reg = Load();
  std::vector<FeatureRef> out;
  absl::Status st = reg->ResolveFeatureRef("x:y", &out);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "unknown feature view 'x' in reference 'x:y'");
  st = reg->ResolveFeatureRef("user_stats:y", &out);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "unknown feature 'y' in feature view 'user_stats'");
  EXPECT_TRUE(out.empty());
}

TEST(LoadRegistryFile, MissingFileIsNotFoundNamingThePathAndCause) {
  TempDir dir;
  const std::string path = dir.path() + "/nope.yaml";
  auto r = LoadRegistryFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            absl::StrCat("cannot read feature repository '", path, "': No such file or directory"));
}

TEST(LoadRegistryFile, DirectoryIsNotFound) {
  TempDir dir;
  auto r = LoadRegistryFile(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("Is a directory"));
}

TEST(LoadRegistryFile, RelativePathsResolveAgainstTheFilesFolder) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/repo/feature_repo.yaml";
  std::filesystem::create_directories(dir.path() + "/repo");
  { std::ofstream(path) << kRepo; }
  auto r = LoadRegistryFile(path);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string folder = std::filesystem::path(dir.path() + "/repo").lexically_normal();
  EXPECT_EQ((*r)->source_file, path);
  EXPECT_EQ((*r)->base_dir, folder);
  EXPECT_EQ((*r)->yaml, kRepo);
  EXPECT_EQ((*r)->sources.at("txn_src").path, folder + "/data/txn.parquet");
  EXPECT_EQ((*r)->offline_store.path, folder + "/offline");
}

TEST(Registry, OfflineMemoryBudgetTakesSizesWithUnits) {
  const std::string base = std::string(kRepo) + "offline_store: {memory_budget: ";
  auto r = ParseRegistry(base + "512MiB}\n", "repo.yaml", "/repo");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->offline_store.memory_budget_bytes, int64_t{512} << 20);
  auto gb = ParseRegistry(base + "3GB}\n", "repo.yaml", "/repo");
  ASSERT_TRUE(gb.ok()) << gb.status();
  EXPECT_EQ((*gb)->offline_store.memory_budget_bytes, int64_t{3'000'000'000});
  EXPECT_EQ(Load()->offline_store.memory_budget_bytes, int64_t{2} << 30);
  auto bad = ParseRegistry(base + "lots}\n", "repo.yaml", "/repo");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("offline_store.memory_budget"));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("'lots' is not a size"));
  auto tiny = ParseRegistry(base + "10KiB}\n", "repo.yaml", "/repo");
  ASSERT_FALSE(tiny.ok());
  EXPECT_THAT(std::string(tiny.status().message()), HasSubstr("at least 1MiB"));
}

TEST(LoadRegistryFile, ErrorsNameTheFileAsGiven) {
  TempDir dir;
  const std::string path = dir.path() + "/bad.yaml";
  { std::ofstream(path) << "project: p\nentites: []\n"; }
  auto r = LoadRegistryFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith(absl::StrCat(path, ":2:1: entites: unknown key")));
}

TEST(RegistryHolder, SetReplacesTheSnapshotWhileOldOnesStayValid) {
  auto first = Load();
  RegistryHolder holder(first);
  std::shared_ptr<const Registry> held = holder.Get();
  EXPECT_EQ(held, first);

  auto next = std::make_shared<Registry>();
  next->project = "next";
  holder.Set(next);
  EXPECT_EQ(holder.Get()->project, "next");
  EXPECT_EQ(held->project, "fraud");
}

}  // namespace
}  // namespace pantry
