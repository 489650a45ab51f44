#include "server/audit/audit_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace pantry::audit {
namespace {

namespace fs = std::filesystem;

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("pantry_audit_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Every line of the log and its rotated files; fails on a line that is
  // not one whole JSON object.
  std::vector<nlohmann::json> ReadAll(int keep) {
    std::vector<nlohmann::json> out;
    std::vector<fs::path> files;
    for (int k = keep; k >= 1; --k) files.push_back(dir_ / absl::StrCat("audit.jsonl.", k));
    files.push_back(dir_ / "audit.jsonl");
    for (const fs::path& f : files) {
      std::ifstream in(f);
      std::string line;
      while (std::getline(in, line)) {
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << f << ": a torn line: " << line;
        if (!j.is_discarded()) out.push_back(std::move(j));
      }
    }
    return out;
  }

  static Record Make(int thread, int i) {
    Record r;
    r.time = 1'800'000'000'000'000 + i;
    r.principal = absl::StrCat("p", thread);
    r.auth = "token";
    r.method = "/pantry.v1.FeatureService/GetOnlineFeatures";
    r.action = "read_online";
    r.resources = {absl::StrCat("feature view 'v", i % 7, "'")};
    r.outcome = i % 3 == 0 ? "denied" : "allowed";
    if (i % 3 == 0) r.reason = std::string(100 + i % 50, 'x');
    r.request_id = absl::StrCat(thread, "-", i);
    r.peer = "ipv4:127.0.0.1:5000";
    return r;
  }

  fs::path dir_;
};

TEST_F(AuditLogTest, ConcurrentAppendsGiveWholeLinesAcrossRotations) {
  AuditOptions o;
  o.path = (dir_ / "audit.jsonl").string();
  o.max_bytes = 64 << 10;  // rotated many times
  o.keep = 1000;
  constexpr int kThreads = 8, kPerThread = 3000;
  {
    auto log = AuditLog::Open(o);
    ASSERT_TRUE(log.ok()) << log.status();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) (*log)->Append(Make(t, i));
      });
    }
    for (auto& th : threads) th.join();
    (*log)->Flush();
    EXPECT_EQ((*log)->dropped(), 0);
  }
  const std::vector<nlohmann::json> all = ReadAll(o.keep);
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  // Each thread's records in its order, each once, every field there.
  std::vector<int> next(kThreads, 0);
  for (const nlohmann::json& j : all) {
    const int t = std::stoi(j["principal"].get<std::string>().substr(1));
    const std::string id = j["request_id"];
    EXPECT_EQ(id, absl::StrCat(t, "-", next[t]));
    ++next[t];
    EXPECT_EQ(j["action"], "read_online");
    EXPECT_EQ(j["time"].get<std::string>().substr(0, 4), "2027");
  }
  EXPECT_GT(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 10)
      << "rotated by size";
  for (const auto& f : fs::directory_iterator(dir_)) {
    EXPECT_LE(fs::file_size(f), static_cast<uintmax_t>(o.max_bytes)) << f.path();
  }
}

TEST_F(AuditLogTest, RotationKeepsTheNewestFiles) {
  AuditOptions o;
  o.path = (dir_ / "audit.jsonl").string();
  o.max_bytes = 4096;
  o.keep = 2;
  {
    auto log = AuditLog::Open(o);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 400; ++i) {
      (*log)->Append(Make(0, i));
      if (i % 10 == 0) (*log)->Flush();
    }
  }
  EXPECT_TRUE(fs::exists(dir_ / "audit.jsonl.1"));
  EXPECT_TRUE(fs::exists(dir_ / "audit.jsonl.2"));
  EXPECT_FALSE(fs::exists(dir_ / "audit.jsonl.3"));
  const std::vector<nlohmann::json> kept = ReadAll(2);
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept.back()["request_id"], "0-399") << "the newest record is in the log";
}

TEST_F(AuditLogTest, WhatDoesNotFitTheQueueIsCountedInARecord) {
  AuditOptions o;
  o.path = (dir_ / "audit.jsonl").string();
  o.max_queued = 1;
  constexpr int kN = 20000;
  {
    auto log = AuditLog::Open(o);
    ASSERT_TRUE(log.ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kN / 4; ++i) (*log)->Append(Make(t, i));
      });
    }
    for (auto& th : threads) th.join();
  }
  int64_t written = 0, dropped = 0;
  for (const nlohmann::json& j : ReadAll(0)) {
    if (j["outcome"] == "dropped") {
      dropped += std::stoll(j["reason"].get<std::string>());
    } else {
      ++written;
    }
  }
  EXPECT_EQ(written + dropped, kN);
}

TEST_F(AuditLogTest, AFolderThatCannotBeMadeIsNamed) {
  AuditOptions o;
  o.path = "/proc/no/such/audit.jsonl";
  auto log = AuditLog::Open(o);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("/proc/no/such/audit.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace pantry::audit
