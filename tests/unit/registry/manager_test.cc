#include "server/registry/manager.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pantry {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr char kRepo[] =
    "project: p\n"
    "entities:\n  - {name: user, join_keys: [user_id], value_type: INT64}\n"
    "feature_views:\n  - name: VIEW\n    entities: [user]\n    ttl: 1d\n"
    "    schema: [{name: f, dtype: INT64}]\n";

std::string Repo(const std::string& view) {
  std::string s = kRepo;
  s.replace(s.find("VIEW"), 4, view);
  return s;
}

class RegistryManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pantry-manager-XXXXXX";
    dir_ = mkdtemp(tmpl);
    config_ = dir_ / "repo.yaml";
    std::ofstream(config_) << Repo("from_file");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_, config_;
};

TEST_F(RegistryManagerTest, AppliedRepositoryIsServedAndSurvivesRestart) {
  auto initial = RegistryManager::LoadInitial(config_, dir_ / "state");
  ASSERT_TRUE(initial.ok()) << initial.status();
  EXPECT_NE((*initial)->FindFeatureView("from_file"), nullptr);
  RegistryHolder holder(*initial);
  RegistryManager manager(&holder, dir_ / "state");
  ASSERT_TRUE(manager.Apply(Repo("applied"), "client.yaml", "/data").ok());
  EXPECT_NE(holder.Get()->FindFeatureView("applied"), nullptr);

  auto restarted = RegistryManager::LoadInitial(config_, dir_ / "state");
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_NE((*restarted)->FindFeatureView("applied"), nullptr);
  EXPECT_EQ((*restarted)->base_dir, "/data");
  EXPECT_EQ((*restarted)->source_file, "client.yaml");
}

TEST_F(RegistryManagerTest, InvalidApplyChangesNothing) {
  RegistryHolder holder(*RegistryManager::LoadInitial(config_, dir_ / "state"));
  RegistryManager manager(&holder, dir_ / "state");
  std::string bad = Repo("v");
  bad.replace(bad.find("ttl: 1d"), 7, "ttl: 1x");
  auto applied = manager.Apply(bad, "bad.yaml", "/data");
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument);
  // Line numbers are those of the file as the user wrote it.
  EXPECT_THAT(applied.status().message(), HasSubstr("bad.yaml:7:"));
  EXPECT_NE(holder.Get()->FindFeatureView("from_file"), nullptr);
  EXPECT_FALSE(fs::exists(dir_ / "state" / "applied_repository.yaml"));
}

TEST_F(RegistryManagerTest, ChangingTheOnlineStoreNeedsARestart) {
  RegistryHolder holder(*RegistryManager::LoadInitial(config_, dir_ / "state"));
  RegistryManager manager(&holder, dir_ / "state");
  auto applied = manager.Apply("online_store: {type: redis, address: 127.0.0.1:1}\n" + Repo("v"),
                               "r.yaml", "/data");
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(applied.status().message(), HasSubstr("online_store.type"));
  EXPECT_NE(holder.Get()->FindFeatureView("from_file"), nullptr);
}

// Where the Redis password comes from is an online store setting like the
// others: an apply may repeat it, not change it.
TEST_F(RegistryManagerTest, WhereThePasswordComesFromNeedsARestartToChange) {
  constexpr char kStore[] = "online_store: {type: redis, username: u, password_env: PW_A}\n";
  std::ofstream(config_) << kStore << Repo("from_file");
  RegistryHolder holder(*RegistryManager::LoadInitial(config_, dir_ / "state"));
  RegistryManager manager(&holder, dir_ / "state");
  auto same = manager.Apply(kStore + Repo("v"), "r.yaml", "/data");
  EXPECT_TRUE(same.ok()) << same.status();
  for (const auto& [store, key] :
       {std::pair{"online_store: {type: redis, username: u, password_env: PW_B}\n",
                  "online_store.password_env"},
        std::pair{"online_store: {type: redis, username: u, password_file: /etc/pw}\n",
                  "online_store.password_env"},
        std::pair{"online_store: {type: redis, username: u, password: x}\n", "online_store.password"}}) {
    auto applied = manager.Apply(store + Repo("w"), "r.yaml", "/data");
    EXPECT_EQ(applied.status().code(), absl::StatusCode::kFailedPrecondition) << store;
    EXPECT_THAT(applied.status().message(), HasSubstr(key));
    EXPECT_NE(holder.Get()->FindFeatureView("v"), nullptr);
  }
}

TEST_F(RegistryManagerTest, LineBreakInSourceNameIsRejected) {
  RegistryHolder holder(*RegistryManager::LoadInitial(config_, dir_ / "state"));
  RegistryManager manager(&holder, dir_ / "state");
  EXPECT_EQ(manager.Apply(Repo("v"), "x\ny.yaml", "/data").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ / "state" / "applied_repository.yaml"));
}

TEST_F(RegistryManagerTest, ApplyFileReadsTheConfigAgain) {
  RegistryHolder holder(*RegistryManager::LoadInitial(config_, dir_ / "state"));
  RegistryManager manager(&holder, dir_ / "state");
  std::ofstream(config_) << Repo("edited");
  ASSERT_TRUE(manager.ApplyFile(config_).ok());
  EXPECT_NE(holder.Get()->FindFeatureView("edited"), nullptr);
  EXPECT_EQ(manager.ApplyFile((dir_ / "missing.yaml").string()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RegistryManagerTest, TheObserverIsToldEveryOutcomeAfterTheSwap) {
  RegistryHolder holder(*RegistryManager::LoadInitial(config_, dir_ / "state"));
  std::vector<std::string> seen;  // the view installed, or the error code
  RegistryManager manager(&holder, dir_ / "state", nullptr, [&](const auto& applied) {
    if (!applied.ok()) {
      seen.push_back(absl::StatusCodeToString(applied.status().code()));
      return;
    }
    // Already in service when the observer hears of it.
    EXPECT_EQ(holder.Get(), *applied);
    seen.push_back((*applied)->feature_views.begin()->first);
  });
  ASSERT_TRUE(manager.Apply(Repo("applied"), "client.yaml", "/data").ok());
  EXPECT_FALSE(manager.Apply("nonsense: [", "bad.yaml", "/data").ok());
  std::ofstream(config_) << Repo("edited");
  ASSERT_TRUE(manager.ApplyFile(config_).ok());
  EXPECT_FALSE(manager.ApplyFile((dir_ / "missing.yaml").string()).ok());
  EXPECT_THAT(seen, ::testing::ElementsAre("applied", "INVALID_ARGUMENT", "edited", "NOT_FOUND"));
}

// A validator that rejects any repository with a view named `bad`, the way
// pantryd's source checks reject one whose Parquet files do not fit.
absl::Status RejectViewNamedBad(const Registry& r) {
  if (r.FindFeatureView("bad") == nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError("feature view 'bad': problem one\nfeature view 'bad': problem two");
}

TEST_F(RegistryManagerTest, ApplyRejectedByTheValidatorChangesNothing) {
  RegistryHolder holder(*RegistryManager::LoadInitial(config_, dir_ / "state", RejectViewNamedBad));
  RegistryManager manager(&holder, dir_ / "state", RejectViewNamedBad);
  auto applied = manager.Apply(Repo("bad"), "next.yaml", "/data");
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(applied.status().message(), "feature view 'bad': problem one\nfeature view 'bad': problem two");
  EXPECT_NE(holder.Get()->FindFeatureView("from_file"), nullptr);
  EXPECT_FALSE(fs::exists(dir_ / "state" / "applied_repository.yaml"));
  ASSERT_TRUE(manager.Apply(Repo("good"), "next.yaml", "/data").ok());
  EXPECT_NE(holder.Get()->FindFeatureView("good"), nullptr);
}

TEST_F(RegistryManagerTest, LoadInitialRunsTheValidator) {
  std::ofstream(config_) << Repo("bad");
  auto from_config = RegistryManager::LoadInitial(config_, dir_ / "state", RejectViewNamedBad);
  EXPECT_EQ(from_config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(from_config.status().message(), HasSubstr("problem two"));

  // The applied repository fails now (its files changed since): startup
  // says so rather than serving it.
  RegistryHolder holder(*RegistryManager::LoadInitial(config_, dir_ / "state"));
  RegistryManager manager(&holder, dir_ / "state");
  ASSERT_TRUE(manager.Apply(Repo("bad"), "client.yaml", "/data").ok());
  auto from_state = RegistryManager::LoadInitial(config_, dir_ / "state", RejectViewNamedBad);
  EXPECT_EQ(from_state.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(from_state.status().message(), HasSubstr("last applied repository"));
  EXPECT_THAT(from_state.status().message(), HasSubstr("problem one"));
}

}  // namespace
}  // namespace pantry
