#include "server/offline/validate.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/offline/columns.h"
#include "server/offline/source.h"
#include "server/parquet/reader.h"
#include "server/parquet/schema.h"

namespace pantry::offline {
namespace {

// Column lists in messages stop here, so a wide file stays readable.
constexpr size_t kMaxListedColumns = 40;

// Problems in the order they are reported; the same text in several files
// of one source is kept once, with the number of further files.
class Problems {
 public:
  // `scope` is what the problem belongs to ("source 's'" or "feature view
  // 'v': source 's'"); `order` sorts the lines by scope.
  void Add(const std::string& order, const std::string& scope, const std::string& file,
           std::string text) {
    auto key = std::make_pair(scope, text);
    auto it = positions_.find(key);
    if (it != positions_.end()) {
      ++by_order_[it->second.first][it->second.second].more_files;
      return;
    }
    std::vector<Entry>& list = by_order_[order];
    list.push_back(Entry{scope, file, std::move(text), 0});
    positions_.emplace(std::move(key), std::make_pair(order, list.size() - 1));
  }

  bool empty() const { return by_order_.empty(); }

  std::string Join() const {
    std::vector<std::string> lines;
    for (const auto& [order, list] : by_order_) {
      for (const Entry& e : list) {
        std::string line = e.scope;
        if (!e.file.empty()) {
          absl::StrAppend(&line, " (", e.file);
          if (e.more_files > 0) {
            absl::StrAppend(&line, " and ", e.more_files,
                            e.more_files == 1 ? " more file" : " more files");
          }
          line += ")";
        }
        absl::StrAppend(&line, ": ", e.text);
        lines.push_back(std::move(line));
      }
    }
    return absl::StrJoin(lines, "\n");
  }

 private:
  struct Entry {
    std::string scope;
    std::string file;
    std::string text;
    size_t more_files = 0;
  };
  std::map<std::string, std::vector<Entry>> by_order_;
  // (scope, text) -> (order, position in by_order_[order]).
  std::map<std::pair<std::string, std::string>, std::pair<std::string, size_t>> positions_;
};

std::string ColumnList(const parquet::Schema& schema) {
  std::vector<std::string> names;
  for (const parquet::Column& c : schema.columns()) {
    if (names.empty() || names.back() != c.name) names.push_back(c.name);
  }
  const size_t total = names.size();
  if (total > kMaxListedColumns) {
    names.resize(kMaxListedColumns);
    names.push_back(absl::StrCat("... ", total - kMaxListedColumns, " more"));
  }
  return absl::StrCat("(columns: ", absl::StrJoin(names, ", "), ")");
}

// The reader's messages start with the file's path, which the report names
// already.
std::string WithoutPath(absl::string_view message, const std::string& path) {
  const std::string prefix = path + ": ";
  if (absl::StartsWith(message, prefix)) message.remove_prefix(prefix.size());
  return std::string(message);
}

// Problems of one feature view in one file, in the order: event time,
// created time, join keys, features.
std::vector<std::string> CheckView(const FeatureView& view, const DataSource& source,
                                   const parquet::Schema& schema) {
  std::vector<std::string> out;
  const auto& columns = schema.columns();
  auto find = [&](const std::string& name, absl::string_view role) -> const parquet::Column* {
    const int i = schema.Find(name);
    if (i >= 0) return &columns[static_cast<size_t>(i)];
    out.push_back(absl::StrCat("no ", role, "column '", name, "' ", ColumnList(schema)));
    return nullptr;
  };
  auto check = [&](const absl::Status& s) {
    if (!s.ok()) out.emplace_back(s.message());
  };
  if (const parquet::Column* c = find(source.timestamp_field, "timestamp_field ")) {
    check(CheckTimeColumn(*c));
  }
  if (!source.created_timestamp_field.empty()) {
    if (const parquet::Column* c =
            find(source.created_timestamp_field, "created_timestamp_field ")) {
      check(CheckTimeColumn(*c));
    }
  }
  for (const JoinKey& key : view.join_keys) {
    if (const parquet::Column* c = find(key.name, "join key ")) {
      check(CheckKeyColumn(*c, key.value_type));
    }
  }
  for (const Feature& feature : view.written_columns()) {
    if (const parquet::Column* c = find(feature.name, ""))
      check(CheckFeatureColumn(*c, feature.dtype));
  }
  return out;
}

}  // namespace

absl::Status ValidateSources(const Registry& registry) {
  std::map<std::string, std::vector<const FeatureView*>, std::less<>> users;
  for (const auto& [name, view] : registry.feature_views) {
    if (!view.source.empty()) users[view.source].push_back(&view);
  }
  Problems problems;
  auto add = [&](const std::string& order, const std::string& scope, const std::string& file,
                 std::string text) { problems.Add(order, scope, file, std::move(text)); };
  for (const auto& [name, source] : registry.sources) {
    if (!source.has_files()) continue;  // no files of its own
    const std::string source_scope = absl::StrCat("source '", name, "'");
    auto files = ListSourceFiles(source.path);
    if (!files.ok()) {
      add("", source_scope, "", std::string(files.status().message()));
      continue;
    }
    auto it = users.find(name);
    if (it == users.end()) continue;
    for (const SourceFile& file : *files) {
      auto reader = parquet::FileReader::Open(file.path);
      if (!reader.ok()) {
        add("", source_scope, file.path, WithoutPath(reader.status().message(), file.path));
        continue;
      }
      for (const FeatureView* view : it->second) {
        const std::string scope = absl::StrCat("feature view '", view->name, "': ", source_scope);
        // "\x01" sorts every view after the source problems ("").
        const std::string order = absl::StrCat("\x01", view->name);
        for (std::string& text : CheckView(*view, source, (*reader)->schema())) {
          add(order, scope, file.path, std::move(text));
        }
      }
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(problems.Join());
}

}  // namespace pantry::offline
