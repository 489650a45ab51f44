// Reading YAML configuration files with errors a user can act on: every
// problem is collected with the file, line and column yaml-cpp recorded for
// the offending node and the path of keys leading to it
// ("feature_views[2].ttl"), and all of them are returned at once, sorted by
// position, so the file is fixed top to bottom in one pass. The feature
// repository parser and pantryd's auth configuration both read through it.
//
// yaml-cpp reports problems by throwing: Reader::Load catches them; callers
// walking the nodes catch YAML::Exception around their whole parse.
#ifndef PANTRY_SERVER_YAML_YAML_READER_H_
#define PANTRY_SERVER_YAML_YAML_READER_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/common/time.h"
#include "yaml-cpp/yaml.h"

namespace pantry::yaml {

// The keys a map may hold, in the order they are documented.
using KeyList = absl::Span<const absl::string_view>;

// Levenshtein distance; inputs are short keys and names.
size_t EditDistance(absl::string_view a, absl::string_view b);

// " (did you mean 'x'?)" for the closest candidate within edit distance 2,
// or "" when none is close enough. A distance that rewrites most of a short
// word is not a typo, so it must also stay below the word's length.
template <typename Range>
std::string DidYouMean(absl::string_view text, const Range& candidates) {
  size_t best = 3;
  absl::string_view best_name;
  for (const auto& c : candidates) {
    const absl::string_view candidate(c);
    const size_t d = EditDistance(text, candidate);
    if (d < best && d < std::max<size_t>(text.size(), 1)) {
      best = d;
      best_name = candidate;
    }
  }
  if (best_name.empty()) return "";
  return absl::StrCat(" (did you mean '", best_name, "'?)");
}

// A name starts with a letter or '_' and holds only letters, digits and '_'.
bool IsValidName(absl::string_view s);
// "a map", "a list", "'text'" or "nothing", for messages.
std::string Describe(const YAML::Node& node);
// "parent.key" (or "key" at the top level) and "parent[index]".
std::string Child(absl::string_view parent, absl::string_view key);
std::string Element(absl::string_view parent, size_t index);

// "512MiB", "2GiB", "1GB", "64KiB", or a number of bytes; binary (KiB,
// MiB, GiB, TiB) and decimal (KB, MB, GB, TB) units.
absl::StatusOr<int64_t> ParseByteSize(absl::string_view text);
// Accepts everything ParseDuration does, plus whole milliseconds ("250ms").
absl::StatusOr<Micros> ParseTimeout(absl::string_view text);

// The keys of one YAML map, in document order, first occurrence only.
struct Fields {
  struct Entry {
    YAML::Node key;
    YAML::Node value;
  };
  YAML::Node map;
  std::map<std::string, Entry, std::less<>> entries;

  // The value under `key`, or nullptr when the key is absent or has no value
  // (`key:` and `key: ~` mean "not set").
  const YAML::Node* Get(absl::string_view key) const {
    auto it = entries.find(key);
    if (it == entries.end() || it->second.value.IsNull()) return nullptr;
    return &it->second.value;
  }
  bool Has(absl::string_view key) const { return Get(key) != nullptr; }
};

// Collects problems while a document is walked. `source_name` names the
// file in messages; relative paths resolve against `base_dir`.
class Reader {
 public:
  Reader(std::string source_name, std::string base_dir)
      : source_name_(std::move(source_name)), base_dir_(std::move(base_dir)) {}

  // The one YAML document in `text`, or nullopt after reporting why there is
  // not exactly one well-formed document (`what` says what the file is, for
  // the message: "a feature repository"). An empty text is a null node.
  std::optional<YAML::Node> Load(const std::string& text, absl::string_view what);

  // InvalidArgument with every problem, one per line, by position; OK when
  // there is none.
  absl::Status Finish();
  bool ok() const { return errors_.empty(); }

  // --- error reporting ---------------------------------------------------
  void ErrorAt(const YAML::Mark& mark, absl::string_view path, absl::string_view what);
  void Error(const YAML::Node& node, absl::string_view path, absl::string_view what) {
    ErrorAt(node.Mark(), path, what);
  }
  // Errors about a key's value point at the value, unless it has none (yaml-cpp
  // then marks the next line), in which case they point at the key.
  void ValueError(const Fields& f, absl::string_view key, absl::string_view path,
                  absl::string_view what);
  static int LineOf(const YAML::Node& node) { return node.Mark().line + 1; }

  // --- structure ---------------------------------------------------------
  // Reads the keys of map `node`, reporting unknown and repeated keys.
  // `node` must be a map.
  Fields ReadFields(const YAML::Node& node, absl::string_view path, const KeyList& known);
  // Checks that `node` is a map; reports `expected` otherwise.
  bool ExpectMap(const YAML::Node& node, absl::string_view path, absl::string_view expected);
  // A list whose elements are checked by the caller.
  bool ExpectList(const YAML::Node& node, absl::string_view path, absl::string_view what);
  // The value of a required key, or nullptr after reporting it missing.
  const YAML::Node* Required(const Fields& f, absl::string_view key, absl::string_view parent);

  // --- scalar readers; each reports its own errors and returns false -----
  bool ReadString(const YAML::Node& node, absl::string_view path, std::string* out);
  bool ReadName(const YAML::Node& node, absl::string_view path, std::string* out);
  bool ReadInt(const YAML::Node& node, absl::string_view path, int64_t min, int64_t max, int* out);
  bool ReadBool(const YAML::Node& node, absl::string_view path, bool* out);
  bool ReadDuration(const YAML::Node& node, absl::string_view path, bool allow_ms, Micros* out);
  bool ReadTags(const YAML::Node& node, absl::string_view path,
                std::map<std::string, std::string>* out);
  // A list of scalars; `items` receives each text with its node.
  bool ReadScalarList(const YAML::Node& node, absl::string_view path,
                      std::vector<std::pair<std::string, YAML::Node>>* items);

  // Optional-key helpers: read `key` of `f` into `out` when present.
  void OptionalString(const Fields& f, absl::string_view key, absl::string_view parent,
                      std::string* out) {
    if (const YAML::Node* n = f.Get(key)) ReadString(*n, Child(parent, key), out);
  }
  void OptionalTags(const Fields& f, absl::string_view parent,
                    std::map<std::string, std::string>* out) {
    if (const YAML::Node* n = f.Get("tags")) ReadTags(*n, Child(parent, "tags"), out);
  }
  void OptionalInt(const Fields& f, absl::string_view key, absl::string_view parent, int64_t min,
                   int64_t max, int* out) {
    if (const YAML::Node* n = f.Get(key)) ReadInt(*n, Child(parent, key), min, max, out);
  }

  // Records the first occurrence of `name` in `seen` or reports a duplicate.
  // `first` says how the first one came about ("defined", "listed").
  bool Unique(std::map<std::string, int, std::less<>>* seen, const std::string& name,
              const YAML::Node& node, absl::string_view path, absl::string_view kind,
              absl::string_view first = "defined");

  // `path` made absolute against the base folder, normalized.
  std::string ResolvePath(const std::string& path) const;

  const std::string& source_name() const { return source_name_; }
  const std::string& base_dir() const { return base_dir_; }

 private:
  struct Problem {
    int line;
    int column;
    std::string text;
  };
  std::string source_name_;
  std::string base_dir_;
  std::vector<Problem> errors_;
};

}  // namespace pantry::yaml

#endif  // PANTRY_SERVER_YAML_YAML_READER_H_
