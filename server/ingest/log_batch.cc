#include "server/ingest/log_batch.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/value/encoding.h"

namespace pantry::ingest {
namespace {

constexpr absl::string_view kMagic = "PB1";
constexpr absl::string_view kStreamMagic = "PS1";

void PutU64(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads the record front to back; every Get fails with DATA_LOSS past the end.
class Cursor {
 public:
  explicit Cursor(absl::string_view data) : data_(data) {}

  absl::StatusOr<uint64_t> Varint(absl::string_view what) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) break;
      const auto b = static_cast<unsigned char>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Bad(absl::StrCat("a truncated ", what));
  }
  // A little-endian u64.
  absl::StatusOr<uint64_t> U64(absl::string_view what) {
    PANTRY_ASSIGN_OR_RETURN(const absl::string_view b, Bytes(8, what));
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[i]);
    return v;
  }
  absl::StatusOr<absl::string_view> Bytes(size_t n, absl::string_view what) {
    if (data_.size() - pos_ < n) return Bad(absl::StrCat("a truncated ", what));
    const absl::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  absl::StatusOr<std::string> String(absl::string_view what) {
    PANTRY_ASSIGN_OR_RETURN(const uint64_t n, Varint(what));
    PANTRY_ASSIGN_OR_RETURN(const absl::string_view s, Bytes(n, what));
    return std::string(s);
  }
  absl::StatusOr<Value> Val() {
    PANTRY_ASSIGN_OR_RETURN(const size_t n, EncodedValueSize(data_.substr(pos_)));
    PANTRY_ASSIGN_OR_RETURN(Value v, DecodeValue(data_.substr(pos_, n)));
    pos_ += n;
    return v;
  }
  bool AtEnd() const { return pos_ == data_.size(); }
  size_t remaining() const { return data_.size() - pos_; }
  absl::Status Bad(absl::string_view why) const {
    return absl::DataLossError(absl::StrCat("log record: ", why, " at byte ", pos_));
  }

 private:
  absl::string_view data_;
  size_t pos_ = 0;
};


// The record's header, up to and including the row count.
void EncodeHeader(absl::string_view view, bool online, Micros logged_at,
                  const std::vector<absl::string_view>& columns, size_t rows, std::string* out) {
  out->append(kMagic.data(), kMagic.size());
  out->push_back(online ? 1 : 0);
  PutU64(static_cast<uint64_t>(logged_at), out);
  PutVarint(view.size(), out);
  out->append(view.data(), view.size());
  PutVarint(columns.size(), out);
  for (absl::string_view c : columns) {
    PutVarint(c.size(), out);
    out->append(c.data(), c.size());
  }
  PutVarint(rows, out);
}

}  // namespace

void EncodeLogBatch(const LogBatch& batch, std::string* out) {
  std::vector<absl::string_view> columns(batch.columns.begin(), batch.columns.end());
  EncodeHeader(batch.view, batch.online, batch.logged_at, columns, batch.rows.size(), out);
  for (const LogRow& row : batch.rows) {
    PutU64(static_cast<uint64_t>(row.event_time), out);
    for (const Value& v : row.values) EncodeValue(v, out);
  }
}

void EncodeCheckedRows(const FeatureView& view, bool online, Micros logged_at,
                       const std::vector<CheckedRow>& rows, std::string* out) {
  std::vector<absl::string_view> columns;
  for (const JoinKey& k : view.join_keys) columns.push_back(k.name);
  for (const Feature& f : view.written_columns()) columns.push_back(f.name);
  EncodeHeader(view.name, online, logged_at, columns, rows.size(), out);
  for (const CheckedRow& row : rows) {
    PutU64(static_cast<uint64_t>(row.event_time), out);
    for (const Value& v : row.keys) EncodeValue(v, out);
    for (const Value& v : row.features) EncodeValue(v, out);
  }
}

std::vector<CheckedRow> RowsForView(const LogBatch& batch, const FeatureView& view,
                                    int64_t* not_castable) {
  auto column_of = [&](const std::string& name) {
    for (size_t c = 0; c < batch.columns.size(); ++c) {
      if (batch.columns[c] == name) return static_cast<int>(c);
    }
    return -1;
  };
  std::vector<int> keys, features;
  for (const JoinKey& k : view.join_keys) keys.push_back(column_of(k.name));
  for (const Feature& f : view.written_columns()) features.push_back(column_of(f.name));
  std::vector<CheckedRow> out;
  out.reserve(batch.rows.size());
  for (const LogRow& row : batch.rows) {
    CheckedRow checked;
    checked.event_time = row.event_time;
    bool keys_ok = true;
    for (size_t k = 0; k < keys.size() && keys_ok; ++k) {
      absl::StatusOr<Value> v = keys[k] < 0 || row.values[keys[k]].is_null()
                                    ? absl::InvalidArgumentError("no key")
                                    : row.values[keys[k]].CastTo(view.join_keys[k].value_type);
      keys_ok = v.ok();
      if (keys_ok) checked.keys.push_back(*std::move(v));
    }
    if (!keys_ok) {
      ++*not_castable;
      continue;
    }
    for (size_t f = 0; f < features.size(); ++f) {
      const ValueType dtype = view.written_columns()[f].dtype;
      if (features[f] < 0) {
        checked.features.push_back(Value::Null(dtype));
        continue;
      }
      const Value& v = row.values[features[f]];
      if (v.type() == dtype) {
        checked.features.push_back(v);
        continue;
      }
      absl::StatusOr<Value> cast = v.CastTo(dtype);
      if (!cast.ok()) ++*not_castable;
      checked.features.push_back(cast.ok() ? *std::move(cast) : Value::Null(dtype));
    }
    out.push_back(std::move(checked));
  }
  return out;
}

absl::StatusOr<LogBatch> DecodeLogBatch(absl::string_view record) {
  Cursor in(record);
  PANTRY_ASSIGN_OR_RETURN(const absl::string_view magic, in.Bytes(kMagic.size(), "magic"));
  if (magic != kMagic) return in.Bad("not a log batch (bad magic)");
  LogBatch batch;
  PANTRY_ASSIGN_OR_RETURN(const absl::string_view flags, in.Bytes(1, "flags"));
  if ((flags[0] & ~1) != 0) return in.Bad("unknown flags");
  batch.online = (flags[0] & 1) != 0;
  PANTRY_ASSIGN_OR_RETURN(const uint64_t logged_at, in.U64("logged-at time"));
  batch.logged_at = static_cast<Micros>(logged_at);
  PANTRY_ASSIGN_OR_RETURN(batch.view, in.String("view name"));
  PANTRY_ASSIGN_OR_RETURN(const uint64_t columns, in.Varint("column count"));
  if (columns > in.remaining()) return in.Bad("a column count past the end");
  for (uint64_t i = 0; i < columns; ++i) {
    PANTRY_ASSIGN_OR_RETURN(std::string name, in.String("column name"));
    batch.columns.push_back(std::move(name));
  }
  PANTRY_ASSIGN_OR_RETURN(const uint64_t rows, in.Varint("row count"));
  if (rows > in.remaining() / 8) return in.Bad("a row count past the end");
  batch.rows.reserve(rows);
  for (uint64_t r = 0; r < rows; ++r) {
    LogRow row;
    PANTRY_ASSIGN_OR_RETURN(const uint64_t time, in.U64("event time"));
    row.event_time = static_cast<Micros>(time);
    row.values.reserve(columns);
    for (uint64_t c = 0; c < columns; ++c) {
      absl::StatusOr<Value> v = in.Val();
      if (!v.ok()) return in.Bad(absl::StrCat("row ", r, " column '", batch.columns[c], "': ",
                                              v.status().message()));
      row.values.push_back(*std::move(v));
    }
    batch.rows.push_back(std::move(row));
  }
  if (!in.AtEnd()) return in.Bad("trailing bytes");
  return batch;
}

bool IsStreamBatch(absl::string_view record) {
  return record.substr(0, kStreamMagic.size()) == kStreamMagic;
}

void EncodeStreamBatch(const StreamBatch& batch, std::string* out) {
  out->append(kStreamMagic.data(), kStreamMagic.size());
  PutU64(static_cast<uint64_t>(batch.logged_at), out);
  PutVarint(batch.source.size(), out);
  out->append(batch.source);
  PutVarint(batch.entry_ids.size(), out);
  for (const std::string& id : batch.entry_ids) {
    PutVarint(id.size(), out);
    out->append(id);
  }
  PutVarint(batch.views.size(), out);
  std::string inner;
  for (const StreamViewRows& v : batch.views) {
    inner.clear();
    EncodeLogBatch(v.batch, &inner);
    PutVarint(inner.size(), out);
    out->append(inner);
    PutVarint(v.entry_of_row.size(), out);
    for (uint32_t e : v.entry_of_row) PutVarint(e, out);
  }
}

absl::StatusOr<StreamBatch> DecodeStreamBatch(absl::string_view record) {
  Cursor in(record);
  PANTRY_ASSIGN_OR_RETURN(const absl::string_view magic, in.Bytes(kStreamMagic.size(), "magic"));
  if (magic != kStreamMagic) return in.Bad("not a stream batch (bad magic)");
  StreamBatch batch;
  PANTRY_ASSIGN_OR_RETURN(const uint64_t logged_at, in.U64("logged-at time"));
  batch.logged_at = static_cast<Micros>(logged_at);
  PANTRY_ASSIGN_OR_RETURN(batch.source, in.String("source name"));
  PANTRY_ASSIGN_OR_RETURN(const uint64_t entries, in.Varint("entry count"));
  if (entries > in.remaining()) return in.Bad("an entry count past the end");
  batch.entry_ids.reserve(entries);
  for (uint64_t i = 0; i < entries; ++i) {
    PANTRY_ASSIGN_OR_RETURN(std::string id, in.String("entry id"));
    batch.entry_ids.push_back(std::move(id));
  }
  PANTRY_ASSIGN_OR_RETURN(const uint64_t views, in.Varint("view count"));
  if (views > in.remaining()) return in.Bad("a view count past the end");
  for (uint64_t v = 0; v < views; ++v) {
    PANTRY_ASSIGN_OR_RETURN(const uint64_t n, in.Varint("view record length"));
    PANTRY_ASSIGN_OR_RETURN(const absl::string_view inner, in.Bytes(n, "view record"));
    StreamViewRows rows;
    PANTRY_ASSIGN_OR_RETURN(rows.batch, DecodeLogBatch(inner));
    PANTRY_ASSIGN_OR_RETURN(const uint64_t count, in.Varint("row entry count"));
    if (count != rows.batch.rows.size()) return in.Bad("a row entry count unlike the rows'");
    rows.entry_of_row.reserve(count);
    for (uint64_t r = 0; r < count; ++r) {
      PANTRY_ASSIGN_OR_RETURN(const uint64_t e, in.Varint("row entry"));
      if (e >= entries) return in.Bad("a row of an entry past the entries");
      rows.entry_of_row.push_back(static_cast<uint32_t>(e));
    }
    batch.views.push_back(std::move(rows));
  }
  if (!in.AtEnd()) return in.Bad("trailing bytes");
  return batch;
}

}  // namespace pantry::ingest
