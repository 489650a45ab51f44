// The write-ahead log (server/ingest/wal.h): order, group commit, rolls,
// recovery from torn and corrupt tails, and LSNs that survive deletes.
#include "server/ingest/wal.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pantry::ingest {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/pantry-wal-test-XXXXXX";
    dir_ = mkdtemp(tmpl.data());
  }
  void TearDown() override { fs::remove_all(dir_); }

  WalOptions Options(int64_t segment_bytes = 64LL << 20) {
    WalOptions o;
    o.dir = dir_ + "/wal";
    o.segment_bytes = segment_bytes;
    return o;
  }

  std::unique_ptr<Wal> OpenWal(const WalOptions& o, WalRecovery* recovery = nullptr) {
    auto wal = Wal::Open(o, recovery);
    EXPECT_TRUE(wal.ok()) << wal.status();
    return wal.ok() ? std::move(*wal) : nullptr;
  }

  // Every durable record, in order, over all segments.
  static std::vector<std::pair<uint64_t, std::string>> ReadAll(const Wal& wal,
                                                               uint64_t after = 0) {
    std::vector<std::pair<uint64_t, std::string>> out;
    for (const WalSegment& s : wal.Segments()) {
      const absl::Status read = wal.ReadSegment(s.path, after, [&](uint64_t lsn, absl::string_view p) {
        out.emplace_back(lsn, std::string(p));
        return absl::OkStatus();
      });
      EXPECT_TRUE(read.ok()) << read;
    }
    return out;
  }

  std::string dir_;
};

std::string Payload(int i) { return absl::StrCat("row-", i, std::string(i % 50, 'x')); }

TEST_F(WalTest, AppendsAndReadsBackInOrderAcrossSegments) {
  auto wal = OpenWal(Options(2048));
  for (int i = 1; i <= 300; ++i) {
    absl::StatusOr<uint64_t> lsn = wal->Append(Payload(i));
    ASSERT_TRUE(lsn.ok()) << lsn.status();
    EXPECT_EQ(*lsn, static_cast<uint64_t>(i));
  }
  EXPECT_EQ(wal->durable_lsn(), 300u);
  EXPECT_GT(wal->Segments().size(), 5u);  // rolled by size
  auto all = ReadAll(*wal);
  ASSERT_EQ(all.size(), 300u);
  for (int i = 1; i <= 300; ++i) {
    EXPECT_EQ(all[i - 1].first, static_cast<uint64_t>(i));
    EXPECT_EQ(all[i - 1].second, Payload(i));
  }
  EXPECT_EQ(ReadAll(*wal, 250).size(), 50u);  // `after` skips what was compacted

  // Reopened: the same records, and numbering goes on.
  wal.reset();
  WalRecovery recovery;
  wal = OpenWal(Options(2048), &recovery);
  EXPECT_EQ(recovery.records, 300);
  EXPECT_EQ(recovery.bytes_dropped, 0);
  EXPECT_TRUE(recovery.truncations.empty());
  EXPECT_EQ(ReadAll(*wal).size(), 300u);
  EXPECT_EQ(*wal->Append("next"), 301u);
}

TEST_F(WalTest, ConcurrentAppendsGetDistinctDenseLsns) {
  auto wal = OpenWal(Options(16 << 10));
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<uint64_t> lsn = wal->Append(absl::StrCat("t", t, "-", i));
        ASSERT_TRUE(lsn.ok()) << lsn.status();
        // Acknowledged means durable.
        EXPECT_GE(wal->durable_lsn(), *lsn);
        got[t].push_back(*lsn);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (const auto& v : got) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));  // each thread's appends in its order
    all.insert(v.begin(), v.end());
  }
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<uint64_t>(kThreads * kPerThread));
  wal.reset();
  wal = OpenWal(Options(16 << 10));
  const auto records = ReadAll(*wal);
  ASSERT_EQ(records.size(), all.size());
  for (size_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i].first, i + 1);
}

// A crash in the middle of a write leaves a record cut anywhere: every cut
// point of the last record is truncated back to the record before it.
TEST_F(WalTest, TornTailIsTruncatedAtEveryCutPoint) {
  std::string segment;
  int64_t before_last = 0, full = 0;
  {
    auto wal = OpenWal(Options());
    for (int i = 1; i <= 9; ++i) ASSERT_TRUE(wal->Append(Payload(i)).ok());
    segment = wal->Segments().back().path;
    before_last = wal->Segments().back().bytes;
    ASSERT_TRUE(wal->Append(Payload(10)).ok());
    full = wal->Segments().back().bytes;
  }
  const std::string whole = [&] {
    std::ifstream in(segment, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  ASSERT_EQ(static_cast<int64_t>(whole.size()), full);
  for (int64_t cut = before_last; cut < full; ++cut) {
    std::ofstream(segment, std::ios::binary | std::ios::trunc) << whole.substr(0, cut);
    WalRecovery recovery;
    auto wal = OpenWal(Options(), &recovery);
    ASSERT_NE(wal, nullptr);
    EXPECT_EQ(recovery.records, 9) << cut;
    EXPECT_EQ(recovery.bytes_dropped, cut - before_last) << cut;
    EXPECT_EQ(recovery.truncations.size(), cut > before_last ? 1u : 0u) << cut;
    EXPECT_FALSE(recovery.older_segment_corrupt);
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(segment)), before_last);
    // The torn record was never acknowledged: its LSN is given again.
    EXPECT_EQ(*wal->Append(Payload(10)), 10u);
    wal.reset();
    std::ofstream(segment, std::ios::binary | std::ios::trunc) << whole;
  }
}

TEST_F(WalTest, FlippedByteTruncatesFromThatRecordAndSaysWhere) {
  std::vector<WalSegment> segments;
  {
    auto wal = OpenWal(Options(2048));
    for (int i = 1; i <= 100; ++i) ASSERT_TRUE(wal->Append(Payload(i)).ok());
    segments = wal->Segments();
  }
  ASSERT_GE(segments.size(), 3u);
  // A byte of a payload in the middle of the first segment.
  {
    std::fstream f(segments[0].path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(segments[0].bytes / 2);
    char c;
    f.read(&c, 1);
    f.seekp(segments[0].bytes / 2);
    c ^= 0x5a;
    f.write(&c, 1);
  }
  WalRecovery recovery;
  auto wal = OpenWal(Options(2048), &recovery);
  ASSERT_NE(wal, nullptr);
  EXPECT_TRUE(recovery.older_segment_corrupt);
  ASSERT_EQ(recovery.truncations.size(), 1u);
  EXPECT_THAT(recovery.truncations[0], HasSubstr(segments[0].path));
  EXPECT_GT(recovery.bytes_dropped, 0);
  // The later segments are intact and still read.
  const auto records = ReadAll(*wal);
  EXPECT_LT(records.size(), 100u);
  EXPECT_EQ(records.back().first, 100u);
  EXPECT_EQ(*wal->Append("after"), 101u);
}

TEST_F(WalTest, GarbageSegmentIsEmptiedNotFatal) {
  fs::create_directories(dir_ + "/wal");
  std::ofstream(dir_ + "/wal/wal-00000000000000000001.log") << "not a log at all";
  WalRecovery recovery;
  auto wal = OpenWal(Options(), &recovery);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(recovery.bytes_dropped, 16);
  EXPECT_THAT(recovery.truncations[0], HasSubstr("bad segment header"));
  EXPECT_EQ(*wal->Append("first"), 1u);
  EXPECT_EQ(ReadAll(*wal).size(), 1u);
}

TEST_F(WalTest, LsnsSurviveDeletingEveryCompactedSegment) {
  {
    auto wal = OpenWal(Options());
    for (int i = 1; i <= 20; ++i) ASSERT_TRUE(wal->Append(Payload(i)).ok());
    ASSERT_TRUE(wal->Roll().ok());
    ASSERT_TRUE(wal->Roll().ok());  // nothing new: no empty segment piles up
    EXPECT_EQ(wal->Segments().size(), 2u);
    ASSERT_TRUE(wal->DeleteThrough(20).ok());
    EXPECT_EQ(wal->Segments().size(), 1u);  // the current one stays
    EXPECT_TRUE(ReadAll(*wal).empty());
  }
  auto wal = OpenWal(Options());
  EXPECT_EQ(wal->next_lsn(), 21u);
  EXPECT_EQ(*wal->Append("again"), 21u);
  // DeleteThrough keeps segments holding a later LSN.
  ASSERT_TRUE(wal->Roll().ok());
  ASSERT_TRUE(wal->Append("x").ok());
  ASSERT_TRUE(wal->DeleteThrough(20).ok());
  EXPECT_EQ(ReadAll(*wal).size(), 2u);
}

// Rolls by size from many appenders at once and explicit rolls from another
// thread (the compactor's) never lose a record nor reuse a segment name.
TEST_F(WalTest, ConcurrentRollsAndAppendsKeepEveryRecord) {
  auto wal = OpenWal(Options(1024));
  std::atomic<bool> stop{false};
  std::thread roller([&] {
    while (!stop) ASSERT_TRUE(wal->Roll().ok());
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) ASSERT_TRUE(wal->Append(absl::StrCat(t, "-", i, std::string(200, 'p'))).ok());
    });
  }
  for (auto& th : threads) th.join();
  stop = true;
  roller.join();
  std::set<std::string> paths;
  for (const WalSegment& s : wal->Segments()) EXPECT_TRUE(paths.insert(s.path).second) << s.path;
  wal.reset();
  wal = OpenWal(Options(1024));
  const auto records = ReadAll(*wal);
  ASSERT_EQ(records.size(), 900u);
  for (size_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i].first, i + 1);
}

TEST_F(WalTest, OneProcessAtATimeAndAnIdThatStays) {
  auto wal = OpenWal(Options());
  const std::string id = wal->id();
  EXPECT_EQ(id.size(), 16u);
  absl::StatusOr<std::unique_ptr<Wal>> second = Wal::Open(Options(), nullptr);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("in use by another process"));
  wal.reset();
  wal = OpenWal(Options());
  EXPECT_EQ(wal->id(), id);
  // Another folder, another id.
  WalOptions other = Options();
  other.dir = dir_ + "/other";
  EXPECT_NE(OpenWal(other)->id(), id);
}

TEST_F(WalTest, ACutRecordInASealedSegmentIsDataLoss) {
  auto wal = OpenWal(Options());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(wal->Append(Payload(i)).ok());
  const WalSegment sealed = wal->Segments().back();
  ASSERT_TRUE(wal->Roll().ok());
  fs::resize_file(sealed.path, sealed.bytes - 3);
  const absl::Status read = wal->ReadSegment(sealed.path, 0, [](uint64_t, absl::string_view) {
    return absl::OkStatus();
  });
  EXPECT_EQ(read.code(), absl::StatusCode::kDataLoss);
}

TEST_F(WalTest, RefusesBadOptionsAndOversizedRecords) {
  WalOptions o = Options();
  o.dir.clear();
  EXPECT_EQ(Wal::Open(o, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options(10);
  EXPECT_EQ(Wal::Open(o, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options();
  o.max_record_bytes = 100;
  auto wal = OpenWal(o);
  absl::StatusOr<uint64_t> big = wal->Append(std::string(101, 'a'));
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*wal->Append(std::string(100, 'a')), 1u);  // a refused record takes no LSN
  // A folder that cannot be created.
  o = Options();
  o.dir = "/proc/pantry-wal-test";
  EXPECT_EQ(Wal::Open(o, nullptr).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace pantry::ingest
