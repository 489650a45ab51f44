#include "server/yaml/yaml_reader.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "yaml-cpp/eventhandler.h"

namespace pantry::yaml {
namespace {

// Notes where a document's first node is, and whether the document is a
// lone null, without building it.
class DocumentScan : public YAML::EventHandler {
 public:
  int nodes = 0;
  bool only_null = true;
  YAML::Mark first = YAML::Mark::null_mark();

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark, true); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark, false); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Node(mark, false);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Node(mark, false);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Node(mark, false);
  }
  void OnMapEnd() override {}

  bool IsLoneNull() const { return nodes == 1 && only_null; }

 private:
  void Node(const YAML::Mark& mark, bool is_null) {
    if (nodes++ == 0) first = mark;
    only_null = only_null && is_null;
  }
};

bool SameMark(const YAML::Mark& a, const YAML::Mark& b) {
  return a.pos == b.pos && a.line == b.line && a.column == b.column;
}

}  // namespace

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool IsValidName(absl::string_view s) {
  if (s.empty()) return false;
  const auto head = static_cast<unsigned char>(s[0]);
  if (!absl::ascii_isalpha(head) && s[0] != '_') return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return absl::StrCat("'", node.Scalar(), "'");
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string Child(absl::string_view parent, absl::string_view key) {
  return parent.empty() ? std::string(key) : absl::StrCat(parent, ".", key);
}

std::string Element(absl::string_view parent, size_t index) {
  return absl::StrCat(parent, "[", index, "]");
}


// "512MiB", "2GiB", "1GB", "64KiB", or a number of bytes; binary (KiB,
// MiB, GiB, TiB) and decimal (KB, MB, GB, TB) units.
absl::StatusOr<int64_t> ParseByteSize(absl::string_view text) {
  static constexpr std::pair<absl::string_view, int64_t> kUnits[] = {
      {"TiB", int64_t{1} << 40}, {"GiB", int64_t{1} << 30}, {"MiB", int64_t{1} << 20},
      {"KiB", int64_t{1} << 10}, {"TB", 1'000'000'000'000}, {"GB", 1'000'000'000},
      {"MB", 1'000'000},         {"KB", 1'000},            {"B", 1}};
  absl::string_view digits = text;
  int64_t unit = 1;
  for (const auto& [suffix, size] : kUnits) {
    if (absl::EndsWith(text, suffix)) {
      digits = text.substr(0, text.size() - suffix.size());
      unit = size;
      break;
    }
  }
  int64_t n = 0;
  if (digits.empty() || !absl::SimpleAtoi(digits, &n) || n < 0 || n > INT64_MAX / unit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a size: expected a number with a unit such as 512MiB or 2GiB"));
  }
  return n * unit;
}

// Accepts everything ParseDuration does, plus whole milliseconds ("250ms"),
// which make sense for network timeouts but not for feature ttls.
absl::StatusOr<Micros> ParseTimeout(absl::string_view text) {
  const absl::string_view s = absl::StripAsciiWhitespace(text);
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
    const absl::string_view digits = s.substr(0, s.size() - 2);
    int64_t n = 0;
    const bool all_digits =
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (all_digits && absl::SimpleAtoi(digits, &n) &&
        n <= std::numeric_limits<int64_t>::max() / 1000) {
      return n * 1000;
    }
  } else if (auto d = ParseDuration(s); d.ok()) {
    return d;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid duration '", text,
                   "': expected a whole number with unit ms, s, m, h or d, e.g. 250ms or 2s"));
}

void Reader::ErrorAt(const YAML::Mark& mark, absl::string_view path, absl::string_view what) {
  // A null mark (empty document) is reported at the start of the file.
  const int line = mark.line < 0 ? 1 : mark.line + 1;
  const int column = mark.column < 0 ? 1 : mark.column + 1;
  errors_.push_back(
      {line, column, absl::StrCat(source_name_, ":", line, ":", column, ": ", path, ": ", what)});
}

void Reader::ValueError(const Fields& f, absl::string_view key, absl::string_view path,
                        absl::string_view what) {
  auto it = f.entries.find(key);
  if (it == f.entries.end()) {
    Error(f.map, path, what);
  } else if (it->second.value.IsNull()) {
    Error(it->second.key, path, what);
  } else {
    Error(it->second.value, path, what);
  }
}

absl::Status Reader::Finish() {
  if (errors_.empty()) return absl::OkStatus();
  std::stable_sort(errors_.begin(), errors_.end(), [](const Problem& a, const Problem& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  std::vector<std::string> lines;
  lines.reserve(errors_.size());
  for (const Problem& e : errors_) lines.push_back(e.text);
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

Fields Reader::ReadFields(const YAML::Node& node, absl::string_view path,
                              const KeyList& known) {
  Fields f;
  f.map = node;
  // yaml-cpp's iterators hand out temporaries: copy the nodes (they are
  // handles) rather than binding references into them.
  for (const auto& pair : node) {
    const YAML::Node key = pair.first;
    if (!key.IsScalar()) {
      Error(key, path.empty() ? "(top level)" : path,
            absl::StrCat("keys must be plain words, got ", Describe(key)));
      continue;
    }
    const std::string& name = key.Scalar();
    const std::string key_path = Child(path, name);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      const std::string suggestion = DidYouMean(name, known);
      Error(key, key_path,
            suggestion.empty() ? absl::StrCat("unknown key '", name,
                                              "'; valid keys here: ", absl::StrJoin(known, ", "))
                               : absl::StrCat("unknown key '", name, "'", suggestion));
      continue;
    }
    if (auto prev = f.entries.find(name); prev != f.entries.end()) {
      Error(key, key_path,
            absl::StrCat("key '", name, "' appears twice (first at line ", LineOf(prev->second.key),
                         ")"));
      continue;
    }
    f.entries.emplace(name, Fields::Entry{key, pair.second});
  }
  return f;
}

bool Reader::ExpectMap(const YAML::Node& node, absl::string_view path,
                           absl::string_view expected) {
  if (node.IsMap()) return true;
  Error(node, path, absl::StrCat("expected ", expected, ", got ", Describe(node)));
  return false;
}

bool Reader::ExpectList(const YAML::Node& node, absl::string_view path,
                            absl::string_view what) {
  if (node.IsSequence()) return true;
  Error(node, path, absl::StrCat("expected a list of ", what, ", got ", Describe(node)));
  return false;
}

const YAML::Node* Reader::Required(const Fields& f, absl::string_view key,
                                       absl::string_view parent) {
  if (const YAML::Node* n = f.Get(key)) return n;
  ValueError(f, key, Child(parent, key), "required key is missing or has no value");
  return nullptr;
}

bool Reader::ReadString(const YAML::Node& node, absl::string_view path, std::string* out) {
  if (!node.IsScalar()) {
    Error(node, path, absl::StrCat("expected a string, got ", Describe(node)));
    return false;
  }
  *out = node.Scalar();
  return true;
}

bool Reader::ReadName(const YAML::Node& node, absl::string_view path, std::string* out) {
  std::string name;
  if (!ReadString(node, path, &name)) return false;
  if (!IsValidName(name)) {
    Error(node, path,
          absl::StrCat("invalid name '", name,
                       "': a name starts with a letter or '_' and contains only letters, "
                       "digits and '_'"));
    return false;
  }
  *out = std::move(name);
  return true;
}

bool Reader::ReadInt(const YAML::Node& node, absl::string_view path, int64_t min, int64_t max,
                         int* out) {
  int64_t v = 0;
  const bool is_int = node.IsScalar() && !node.Scalar().empty() &&
                      absl::SimpleAtoi(node.Scalar(), &v) &&
                      node.Scalar().find_first_not_of("+-0123456789") == std::string::npos;
  const std::string range = max == std::numeric_limits<int>::max()
                                ? absl::StrCat("a whole number >= ", min)
                                : absl::StrCat("a whole number from ", min, " to ", max);
  if (!is_int) {
    Error(node, path, absl::StrCat("expected ", range, ", got ", Describe(node)));
    return false;
  }
  if (v < min || v > max) {
    Error(node, path, absl::StrCat("value ", node.Scalar(), " is out of range: expected ", range));
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

bool Reader::ReadBool(const YAML::Node& node, absl::string_view path, bool* out) {
  bool v = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, v)) {
    Error(node, path, absl::StrCat("expected true or false, got ", Describe(node)));
    return false;
  }
  *out = v;
  return true;
}

bool Reader::ReadDuration(const YAML::Node& node, absl::string_view path, bool allow_ms,
                              Micros* out) {
  if (!node.IsScalar()) {
    Error(node, path, absl::StrCat("expected a duration such as 7d, got ", Describe(node)));
    return false;
  }
  absl::StatusOr<Micros> d = allow_ms ? ParseTimeout(node.Scalar()) : ParseDuration(node.Scalar());
  if (!d.ok()) {
    Error(node, path, d.status().message());
    return false;
  }
  *out = *d;
  return true;
}

bool Reader::ReadTags(const YAML::Node& node, absl::string_view path,
                          std::map<std::string, std::string>* out) {
  if (!ExpectMap(node, path, "a map of tag names to values")) return false;
  bool ok = true;
  std::map<std::string, int> first_line;
  for (const auto& pair : node) {
    const YAML::Node key = pair.first;
    const YAML::Node value = pair.second;
    if (!key.IsScalar() || key.Scalar().empty()) {
      Error(key, path, absl::StrCat("tag names must be non-empty strings, got ", Describe(key)));
      ok = false;
      continue;
    }
    const std::string tag_path = Child(path, key.Scalar());
    if (!value.IsScalar() && !value.IsNull()) {
      Error(value, tag_path, absl::StrCat("tag values must be strings, got ", Describe(value)));
      ok = false;
      continue;
    }
    if (auto [at, inserted] = first_line.emplace(key.Scalar(), LineOf(key)); !inserted) {
      Error(
          key, tag_path,
          absl::StrCat("tag '", key.Scalar(), "' appears twice (first at line ", at->second, ")"));
      ok = false;
      continue;
    }
    (*out)[key.Scalar()] = value.IsNull() ? "" : value.Scalar();
  }
  return ok;
}

bool Reader::ReadScalarList(const YAML::Node& node, absl::string_view path,
                                std::vector<std::pair<std::string, YAML::Node>>* items) {
  if (!ExpectList(node, path, "strings")) return false;
  bool ok = true;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    if (!item.IsScalar()) {
      Error(item, Element(path, i), absl::StrCat("expected a string, got ", Describe(item)));
      ok = false;
      continue;
    }
    items->emplace_back(item.Scalar(), item);
  }
  return ok;
}

bool Reader::Unique(std::map<std::string, int, std::less<>>* seen, const std::string& name,
                        const YAML::Node& node, absl::string_view path, absl::string_view kind,
                        absl::string_view first) {
  auto [it, inserted] = seen->emplace(name, LineOf(node));
  if (inserted) return true;
  Error(node, path,
        absl::StrCat("duplicate ", kind, " '", name, "' (first ", first, " at line ", it->second,
                     ")"));
  return false;
}

std::string Reader::ResolvePath(const std::string& path) const {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(base_dir_) / p;
  std::string out = p.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}


std::optional<YAML::Node> Reader::Load(const std::string& text, absl::string_view what) {
  try {
    // yaml-cpp 0.7's LoadAll never returns on some malformed input (a stray
    // ',' outside brackets): the parser reports a null document without
    // consuming the offending token, forever, and LoadAll keeps every one.
    // So the documents are first counted with a bounded event scan, which
    // recognizes that loop by a lone null repeated at the same position, and
    // only the first document is built.
    std::istringstream in(text);
    YAML::Parser parser(in);
    std::vector<DocumentScan> documents;
    while (documents.size() < 3) {
      DocumentScan scan;
      if (!parser.HandleNextDocument(scan)) break;
      if (!documents.empty() && documents.back().IsLoneNull() && scan.IsLoneNull() &&
          SameMark(documents.back().first, scan.first)) {
        const size_t pos = static_cast<size_t>(std::max(scan.first.pos, 0));
        ErrorAt(scan.first, "invalid YAML",
                pos < text.size() ? absl::StrCat("unexpected '", text.substr(pos, 1), "'")
                                  : std::string("unexpected end of input"));
        return std::nullopt;
      }
      documents.push_back(scan);
    }
    if (documents.size() > 1) {
      ErrorAt(documents[1].first, "(document)",
              absl::StrCat("a second YAML document starts here; ", what, " is one document"));
      return std::nullopt;
    }
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    ErrorAt(e.mark, "invalid YAML", e.msg);
  }
  return std::nullopt;
}

}  // namespace pantry::yaml
