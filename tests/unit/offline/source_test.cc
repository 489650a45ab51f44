// Listing a data source's files: a file, a folder, globs, Hive partitions
// and the time ranges date partitions give.
#include "server/offline/source.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pantry::offline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
namespace fs = std::filesystem;

class SourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pantry-source-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    // Restore permissions a test may have removed, so the folder can go.
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root_, ec); it != fs::end(it);
         it.increment(ec)) {
      if (it->is_directory(ec))
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(root_);
  }

  // Creates an (empty) file and its folders; returns its path.
  std::string Touch(const std::string& rel) {
    const fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
    return p.string();
  }
  std::string Path(const std::string& rel = "") const {
    return rel.empty() ? root_.string() : (root_ / rel).string();
  }
  // The listed paths relative to the test's folder.
  std::vector<std::string> Rel(const std::vector<SourceFile>& files) const {
    std::vector<std::string> out;
    for (const SourceFile& f : files)
      out.push_back(fs::path(f.path).lexically_relative(root_).string());
    return out;
  }
  std::vector<std::string> List(const std::string& pattern) {
    auto files = ListSourceFiles(pattern);
    EXPECT_TRUE(files.ok()) << files.status();
    return files.ok() ? Rel(*files) : std::vector<std::string>{};
  }

  fs::path root_;
};

Micros At(int y, int m, int d, int h = 0) {
  return absl::ToUnixMicros(absl::FromCivil(absl::CivilHour(y, m, d, h), absl::UTCTimeZone()));
}

TEST_F(SourceTest, FileIsListedWhateverItsName) {
  const std::string path = Touch("events.data");
  auto files = ListSourceFiles(path);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].path, path);
  EXPECT_THAT((*files)[0].partitions, IsEmpty());
  EXPECT_FALSE((*files)[0].partition_time_range.has_value());
}

TEST_F(SourceTest, FolderIsListedRecursivelyAndSortedSkippingHiddenAndTemporaryFiles) {
  Touch("data/b.parquet");
  Touch("data/a.parquet");
  Touch("data/sub/deeper/c.parquet");
  Touch("data/notes.txt");
  Touch("data/_SUCCESS");
  Touch("data/_meta.parquet");
  Touch("data/.hidden.parquet");
  Touch("data/_temporary/0/d.parquet");
  Touch("data/.staging/e.parquet");
  Touch("data/f.parquet.tmp-123-456");
  Touch("data/g.tmp-1.parquet");
  EXPECT_THAT(List(Path("data")),
              ElementsAre("data/a.parquet", "data/b.parquet", "data/sub/deeper/c.parquet"));
  // A trailing slash changes nothing.
  EXPECT_THAT(List(Path("data") + "/"),
              ElementsAre("data/a.parquet", "data/b.parquet", "data/sub/deeper/c.parquet"));
}

TEST_F(SourceTest, FolderWithoutParquetFilesIsNotFound) {
  Touch("empty/_SUCCESS");
  Touch("empty/readme.txt");
  auto files = ListSourceFiles(Path("empty"));
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(files.status().message(), "no Parquet files at " + Path("empty"));
}

TEST_F(SourceTest, MissingPathIsNotFoundNamingIt) {
  auto files = ListSourceFiles(Path("nope/txn.parquet"));
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(files.status().message(), HasSubstr(Path("nope/txn.parquet")));
}

TEST_F(SourceTest, GlobStarAndQuestionMarkAndBracketsMatchWithinOneComponent) {
  Touch("g/part-1.parquet");
  Touch("g/part-2.parquet");
  Touch("g/part-10.parquet");
  Touch("g/other.parquet");
  Touch("g/sub/part-3.parquet");
  EXPECT_THAT(List(Path("g/part-*.parquet")),
              ElementsAre("g/part-1.parquet", "g/part-10.parquet", "g/part-2.parquet"));
  EXPECT_THAT(List(Path("g/part-?.parquet")), ElementsAre("g/part-1.parquet", "g/part-2.parquet"));
  EXPECT_THAT(List(Path("g/part-[2-9].parquet")), ElementsAre("g/part-2.parquet"));
  EXPECT_THAT(List(Path("g/*/part-*.parquet")), ElementsAre("g/sub/part-3.parquet"));
}

TEST_F(SourceTest, GlobDoubleStarMatchesAnyNumberOfFoldersIncludingNone) {
  Touch("d/top.parquet");
  Touch("d/a/one.parquet");
  Touch("d/a/b/two.parquet");
  Touch("d/a/b/two.csv");
  Touch("d/_skip/three.parquet");
  EXPECT_THAT(List(Path("d/**/*.parquet")),
              ElementsAre("d/a/b/two.parquet", "d/a/one.parquet", "d/top.parquet"));
  EXPECT_THAT(List(Path("d/**/b/*.parquet")), ElementsAre("d/a/b/two.parquet"));
  // A trailing ** lists the folder and every folder below.
  EXPECT_THAT(List(Path("d/**")),
              ElementsAre("d/a/b/two.parquet", "d/a/one.parquet", "d/top.parquet"));
}

TEST_F(SourceTest, GlobMatchingFoldersListsThem) {
  Touch("t/date=2024-01-01/a.parquet");
  Touch("t/date=2024-01-02/b.parquet");
  Touch("t/date=2024-01-02/c.json");
  Touch("t/date=2024-02-01/d.parquet");
  EXPECT_THAT(List(Path("t/date=2024-01-*")),
              ElementsAre("t/date=2024-01-01/a.parquet", "t/date=2024-01-02/b.parquet"));
}

TEST_F(SourceTest, GlobWildcardsSkipHiddenNamesUnlessThePatternStartsWithThem) {
  Touch("h/a.parquet");
  Touch("h/_b.parquet");
  Touch("h/.c.parquet");
  Touch("h/d.parquet.tmp-1-2");
  EXPECT_THAT(List(Path("h/*")), ElementsAre("h/a.parquet"));
  EXPECT_THAT(List(Path("h/_*")), ElementsAre("h/_b.parquet"));
  EXPECT_THAT(List(Path("h/.*.parquet")), ElementsAre("h/.c.parquet"));
}

TEST_F(SourceTest, GlobMatchingNothingIsNotFound) {
  Touch("n/a.csv");
  auto files = ListSourceFiles(Path("n/*.parquet"));
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(files.status().message(), HasSubstr(Path("n/*.parquet")));
  EXPECT_EQ(ListSourceFiles(Path("missing/**/*.parquet")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(SourceTest, ExistingPathWithGlobCharactersIsTakenLiterally) {
  Touch("odd/file[1].parquet");
  Touch("odd/file1.parquet");
  EXPECT_THAT(List(Path("odd/file[1].parquet")), ElementsAre("odd/file[1].parquet"));
}

TEST_F(SourceTest, HivePartitionsAreListedOutermostFirstAndUnescaped) {
  Touch("p/region=eu/date=2024-03-05/hour=07/part-0.parquet");
  Touch("p/region=us%2Feast/date=2024-03-05/part-0.parquet");
  Touch("p/plain/part-1.parquet");
  auto files = ListSourceFiles(Path("p"));
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 3u);
  EXPECT_THAT((*files)[0].partitions, IsEmpty());  // p/plain
  EXPECT_THAT((*files)[1].partitions,
              ElementsAre(Pair("region", "eu"), Pair("date", "2024-03-05"), Pair("hour", "07")));
  EXPECT_THAT((*files)[2].partitions,
              ElementsAre(Pair("region", "us/east"), Pair("date", "2024-03-05")));
  EXPECT_FALSE((*files)[0].partition_time_range.has_value());
  ASSERT_TRUE((*files)[1].partition_time_range.has_value());
  EXPECT_EQ(*(*files)[1].partition_time_range,
            std::make_pair(At(2024, 3, 5, 7), At(2024, 3, 5, 8)));
  ASSERT_TRUE((*files)[2].partition_time_range.has_value());
  EXPECT_EQ(*(*files)[2].partition_time_range, std::make_pair(At(2024, 3, 5), At(2024, 3, 6)));
}

TEST_F(SourceTest, PartitionsAreTheFoldersBelowTheSourceRoot) {
  Touch("r/date=2024-01-01/x.parquet");
  // The source names the partition folder itself: it is the root, not a
  // partition of its files (as in Spark without basePath).
  auto inside = ListSourceFiles(Path("r/date=2024-01-01"));
  ASSERT_TRUE(inside.ok()) << inside.status();
  EXPECT_THAT((*inside)[0].partitions, IsEmpty());
  // With a glob, the root is the folder before the first wildcard.
  auto glob = ListSourceFiles(Path("r/*/*.parquet"));
  ASSERT_TRUE(glob.ok()) << glob.status();
  EXPECT_THAT((*glob)[0].partitions, ElementsAre(Pair("date", "2024-01-01")));
}

TEST(PartitionTimeRange, DateKeysGiveTheirUtcDay) {
  for (const char* key : {"date", "dt", "day", "event_date"}) {
    auto r = PartitionTimeRange({{key, "2023-12-31"}});
    ASSERT_TRUE(r.has_value()) << key;
    EXPECT_EQ(*r, std::make_pair(At(2023, 12, 31), At(2024, 1, 1))) << key;
  }
}

TEST(PartitionTimeRange, HourNarrowsOnlyBelowADay) {
  EXPECT_EQ(*PartitionTimeRange({{"dt", "2024-02-29"}, {"hour", "23"}}),
            std::make_pair(At(2024, 2, 29, 23), At(2024, 3, 1)));
  EXPECT_EQ(*PartitionTimeRange({{"dt", "2024-02-29"}, {"hour", "5"}}),
            std::make_pair(At(2024, 2, 29, 5), At(2024, 2, 29, 6)));
  // An hour above the day, or without one, says nothing.
  EXPECT_EQ(*PartitionTimeRange({{"hour", "05"}, {"dt", "2024-02-29"}}),
            std::make_pair(At(2024, 2, 29), At(2024, 3, 1)));
  EXPECT_FALSE(PartitionTimeRange({{"hour", "05"}}).has_value());
  // An hour that is no hour is ignored.
  EXPECT_EQ(*PartitionTimeRange({{"dt", "2024-02-29"}, {"hour", "24"}}),
            std::make_pair(At(2024, 2, 29), At(2024, 3, 1)));
}

TEST(PartitionTimeRange, ValuesThatAreNoDateAreIgnored) {
  for (const char* v : {"2023-02-29", "2024-13-01", "2024-1-01", "20240101", "today",
                        "__HIVE_DEFAULT_PARTITION__"}) {
    EXPECT_FALSE(PartitionTimeRange({{"date", v}}).has_value()) << v;
  }
  EXPECT_FALSE(PartitionTimeRange({{"month", "2024-01-01"}}).has_value());
}

TEST(PartitionTimeRange, SeveralDatesIntersect) {
  auto r = PartitionTimeRange({{"date", "2024-01-01"}, {"dt", "2024-01-02"}});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, r->second);  // empty: no event time fits both
}

TEST(MayOverlap, ComparesTheClosedRangeWithTheHalfOpenPartition) {
  SourceFile f;
  f.partition_time_range = std::make_pair(At(2024, 1, 2), At(2024, 1, 3));
  EXPECT_TRUE(MayOverlap(f, At(2024, 1, 1), At(2024, 1, 2)));        // touches the start
  EXPECT_FALSE(MayOverlap(f, At(2024, 1, 1), At(2024, 1, 2) - 1));   // ends just before
  EXPECT_TRUE(MayOverlap(f, At(2024, 1, 3) - 1, At(2024, 1, 9)));    // last microsecond
  EXPECT_FALSE(MayOverlap(f, At(2024, 1, 3), At(2024, 1, 9)));       // end is exclusive
  EXPECT_TRUE(MayOverlap(f, At(2024, 1, 2, 5), At(2024, 1, 2, 6)));  // inside
  EXPECT_TRUE(MayOverlap(f, At(2023, 1, 1), At(2025, 1, 1)));        // around
  SourceFile unpartitioned;
  EXPECT_TRUE(MayOverlap(unpartitioned, 0, 1));
  SourceFile empty;
  empty.partition_time_range = std::make_pair(At(2024, 1, 2), At(2024, 1, 2));
  EXPECT_FALSE(MayOverlap(empty, 0, At(2030, 1, 1)));
}

TEST_F(SourceTest, SymbolicLinksAreFollowedAndCyclesEnd) {
  Touch("l/real/a.parquet");
  fs::create_directory_symlink(Path("l"), Path("l/real/loop"));
  fs::create_directory_symlink(Path("l/real"), Path("l/alias"));
  fs::create_symlink(Path("l/nowhere.parquet"), Path("l/dangling.parquet"));
  auto files = ListSourceFiles(Path("l"));
  ASSERT_TRUE(files.ok()) << files.status();
  // `real` and `alias` are one folder: listed once, under the name met first.
  EXPECT_THAT(Rel(*files), ElementsAre("l/alias/a.parquet"));
  auto glob = ListSourceFiles(Path("l/**/*.parquet"));
  ASSERT_TRUE(glob.ok()) << glob.status();
  EXPECT_FALSE(glob->empty());
}

TEST_F(SourceTest, UnreadableFolderIsPermissionDeniedNamingIt) {
  Touch("locked/inner/a.parquet");
  fs::permissions(root_, fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(Path("locked"),
                  fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(Path("locked/inner"), fs::perms::none);
  auto check = [&]() -> bool {
    auto files = ListSourceFiles(Path("locked"));
    return files.status().code() == absl::StatusCode::kPermissionDenied &&
           absl::StrContains(files.status().message(), Path("locked/inner"));
  };
  if (geteuid() != 0) {
    EXPECT_TRUE(check());
    return;
  }
  // Root reads every folder: list as `nobody` in a child process.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
    _exit(check() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 3) GTEST_SKIP() << "cannot drop privileges";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace pantry::offline
