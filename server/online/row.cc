#include "server/online/row.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "server/value/encoding.h"

namespace pantry {
namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

absl::Status CheckHeader(absl::string_view row, absl::string_view view, absl::string_view key) {
  if (row.empty()) {
    return absl::DataLossError(
        absl::StrCat("feature view '", view, "': the row stored at key ", key, " is empty"));
  }
  const auto format = static_cast<uint8_t>(row[0]);
  if (format != kRowFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        "feature view '", view, "': the row stored at key ", key, " has format ", format,
        ", which this pantryd cannot read (it reads format ", kRowFormat, ")"));
  }
  if (row.size() < kRowHeaderSize) {
    return absl::DataLossError(absl::StrCat("feature view '", view, "': the row stored at key ",
                                            key, " is truncated (", row.size(), " bytes)"));
  }
  return absl::OkStatus();
}

uint32_t LoadId(const char* p) {
  uint32_t id;
  std::memcpy(&id, p, 4);  // little-endian hosts, as server/value/encoding.cc
  return id;
}

// Calls `take(id, encoding)` for each entry; the header is checked already.
template <typename Take>
absl::Status ForEachEntry(absl::string_view row, absl::string_view view, absl::string_view key,
                          const Take& take) {
  size_t pos = kRowHeaderSize;
  while (pos < row.size()) {
    auto size = row.size() - pos < 5 ? absl::DataLossError("entry truncated")
                                     : EncodedValueSize(row.substr(pos + 4));
    if (!size.ok()) {
      return absl::DataLossError(absl::StrCat("feature view '", view, "': the row stored at key ",
                                              key, " is corrupt at byte ", pos, ": ",
                                              size.status().message()));
    }
    take(LoadId(row.data() + pos), row.substr(pos + 4, *size));
    pos += 4 + *size;
  }
  return absl::OkStatus();
}

}  // namespace

void AppendRowHeader(Micros event_time, std::string* out) {
  uint64_t t = static_cast<uint64_t>(event_time) ^ kSignBit;
  char buf[kRowHeaderSize];
  buf[0] = static_cast<char>(kRowFormat);
  for (int i = 8; i >= 1; --i) {
    buf[i] = static_cast<char>(t & 0xff);
    t >>= 8;
  }
  out->append(buf, kRowHeaderSize);
}

void AppendRowEntry(uint32_t id, absl::string_view encoding, std::string* out) {
  char buf[4];
  std::memcpy(buf, &id, 4);
  out->append(buf, 4);
  out->append(encoding.data(), encoding.size());
}

std::string PackRow(Micros event_time,
                    const std::vector<std::pair<std::string, std::string>>& values) {
  std::string row;
  size_t size = kRowHeaderSize;
  for (const auto& [name, encoding] : values) size += 4 + encoding.size();
  row.reserve(size);
  AppendRowHeader(event_time, &row);
  for (const auto& [name, encoding] : values) AppendRowEntry(FeatureId(name), encoding, &row);
  return row;
}

bool IsRow(absl::string_view row) {
  return row.size() >= kRowHeaderSize && static_cast<uint8_t>(row[0]) == kRowFormat;
}

Micros RowEventTime(absl::string_view row) {
  uint64_t t = 0;
  for (size_t i = 1; i < kRowHeaderSize; ++i) t = (t << 8) | static_cast<uint8_t>(row[i]);
  return static_cast<Micros>(t ^ kSignBit);
}

absl::Status UnpackRow(absl::string_view row, const std::vector<uint32_t>& ids,
                       absl::string_view view, absl::string_view key, Micros* event_time,
                       std::vector<std::optional<std::string>>* values) {
  if (absl::Status status = CheckHeader(row, view, key); !status.ok()) return status;
  *event_time = RowEventTime(row);
  values->assign(ids.size(), std::nullopt);
  // Rows are written in schema order and reads usually ask for the schema
  // in order, so the slot after the last match is tried first; otherwise a
  // linear search for few ids, a sorted index for many.
  std::vector<std::pair<uint32_t, size_t>> index;
  if (ids.size() > 8) {
    index.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) index.emplace_back(ids[i], i);
    std::sort(index.begin(), index.end());
  }
  size_t hint = 0;
  return ForEachEntry(row, view, key, [&](uint32_t id, absl::string_view encoding) {
    size_t slot = ids.size();
    if (hint < ids.size() && ids[hint] == id) {
      slot = hint;
    } else if (index.empty()) {
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] == id) {
          slot = i;
          break;
        }
      }
    } else {
      auto it = std::lower_bound(index.begin(), index.end(), std::make_pair(id, size_t{0}));
      if (it != index.end() && it->first == id) slot = it->second;
    }
    if (slot == ids.size()) return;  // a feature this read does not ask for
    hint = slot + 1;
    if (!(*values)[slot].has_value()) (*values)[slot].emplace(encoding.data(), encoding.size());
  });
}

absl::Status RowEntries(absl::string_view row, absl::string_view view, absl::string_view key,
                        std::vector<std::pair<uint32_t, absl::string_view>>* entries) {
  if (absl::Status status = CheckHeader(row, view, key); !status.ok()) return status;
  entries->clear();
  return ForEachEntry(row, view, key, [&](uint32_t id, absl::string_view encoding) {
    entries->emplace_back(id, encoding);
  });
}

}  // namespace pantry
