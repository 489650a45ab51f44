#include "server/parquet/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <random>
#include <atomic>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/common/status.h"
#include "server/parquet/compression.h"
#include "server/parquet/encodings.h"

namespace pantry::parquet {
namespace {

// A dictionary larger than this is not worth it (and would make the
// dictionary page large enough to hurt readers).
constexpr size_t kMaxDictionaryBytes = 1 << 20;
// Statistics for longer byte strings are left out rather than bloat the
// footer.
constexpr size_t kMaxStatisticsBytes = 4096;

absl::Status ErrnoError(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

void AppendU32(uint32_t v, std::string* out) {
  char b[4];
  std::memcpy(b, &v, 4);
  out->append(b, 4);
}

template <typename T>
std::string RawBytes(T v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof(T));
}

absl::Status CheckSpec(const ColumnSpec& c) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("column '", c.name, "': ", why));
  };
  if (c.name.empty()) return absl::InvalidArgumentError("a column has an empty name");
  switch (c.logical) {
    case Logical::kNone:
    case Logical::kOther:
      break;
    case Logical::kString:
    case Logical::kEnum:
    case Logical::kJson:
    case Logical::kBson:
      if (c.physical != Type::kByteArray) return bad("string types need BYTE_ARRAY");
      break;
    case Logical::kUuid:
      if (c.physical != Type::kFixedLenByteArray || c.type_length != 16) {
        return bad("UUID needs FIXED_LEN_BYTE_ARRAY(16)");
      }
      break;
    case Logical::kFloat16:
      if (c.physical != Type::kFixedLenByteArray || c.type_length != 2) {
        return bad("FLOAT16 needs FIXED_LEN_BYTE_ARRAY(2)");
      }
      break;
    case Logical::kDate:
      if (c.physical != Type::kInt32) return bad("DATE needs INT32");
      break;
    case Logical::kTimestamp:
      if (c.physical != Type::kInt64) return bad("TIMESTAMP needs INT64");
      break;
    case Logical::kTime:
      if (c.physical != (c.unit == TimeUnit::kMillis ? Type::kInt32 : Type::kInt64)) {
        return bad("TIME(MILLIS) needs INT32, TIME(MICROS|NANOS) INT64");
      }
      break;
    case Logical::kDecimal:
      if (c.physical != Type::kInt32 && c.physical != Type::kInt64 &&
          c.physical != Type::kFixedLenByteArray && c.physical != Type::kByteArray) {
        return bad("DECIMAL needs INT32, INT64 or a byte array");
      }
      if (c.precision <= 0 || c.scale < 0 || c.scale > c.precision) {
        return bad("DECIMAL needs 0 <= scale <= precision and precision > 0");
      }
      break;
    case Logical::kInteger:
      if (c.bit_width != 8 && c.bit_width != 16 && c.bit_width != 32 && c.bit_width != 64) {
        return bad("INTEGER bit width must be 8, 16, 32 or 64");
      }
      if (c.physical != (c.bit_width == 64 ? Type::kInt64 : Type::kInt32)) {
        return bad("INTEGER(64) needs INT64, narrower widths INT32");
      }
      break;
    case Logical::kNull:
      break;
  }
  if (c.physical == Type::kFixedLenByteArray && c.type_length <= 0) {
    return bad("FIXED_LEN_BYTE_ARRAY needs a positive type_length");
  }
  if (c.physical == Type::kInt96) return bad("INT96 is read, never written");
  return absl::OkStatus();
}

// Fills the levels of `c` from its shape, as Schema would read them back.
void DeriveLevels(Column* c) {
  c->max_rep = 0;
  c->max_def = 0;
  if (c->is_list) {
    c->list_def = c->nullable ? 1 : 0;
    c->element_def = c->list_def + 1;
    c->max_def = static_cast<int16_t>(c->element_def + (c->element_nullable ? 1 : 0));
    c->max_rep = 1;
  } else {
    c->max_def = c->nullable ? 1 : 0;
  }
  c->supported = true;
}

void AddAnnotations(const Column& c, SchemaElement* e) {
  LogicalType l;
  using K = LogicalType::Kind;
  switch (c.logical) {
    case Logical::kString:
      l.kind = K::kString;
      e->converted_type = ConvertedType::kUtf8;
      break;
    case Logical::kEnum:
      l.kind = K::kEnum;
      e->converted_type = ConvertedType::kEnum;
      break;
    case Logical::kJson:
      l.kind = K::kJson;
      e->converted_type = ConvertedType::kJson;
      break;
    case Logical::kBson:
      l.kind = K::kBson;
      e->converted_type = ConvertedType::kBson;
      break;
    case Logical::kUuid: l.kind = K::kUuid; break;
    case Logical::kFloat16: l.kind = K::kFloat16; break;
    case Logical::kNull: l.kind = K::kUnknown; break;
    case Logical::kDate:
      l.kind = K::kDate;
      e->converted_type = ConvertedType::kDate;
      break;
    case Logical::kTimestamp:
      l.kind = K::kTimestamp;
      l.unit = c.unit;
      l.is_adjusted_to_utc = c.utc_adjusted;
      if (c.utc_adjusted && c.unit == TimeUnit::kMillis) {
        e->converted_type = ConvertedType::kTimestampMillis;
      } else if (c.utc_adjusted && c.unit == TimeUnit::kMicros) {
        e->converted_type = ConvertedType::kTimestampMicros;
      }
      break;
    case Logical::kTime:
      l.kind = K::kTime;
      l.unit = c.unit;
      l.is_adjusted_to_utc = c.utc_adjusted;
      if (c.utc_adjusted && c.unit == TimeUnit::kMillis) {
        e->converted_type = ConvertedType::kTimeMillis;
      } else if (c.utc_adjusted && c.unit == TimeUnit::kMicros) {
        e->converted_type = ConvertedType::kTimeMicros;
      }
      break;
    case Logical::kDecimal:
      l.kind = K::kDecimal;
      l.scale = c.scale;
      l.precision = c.precision;
      e->converted_type = ConvertedType::kDecimal;
      e->scale = c.scale;
      e->precision = c.precision;
      break;
    case Logical::kInteger: {
      l.kind = K::kInteger;
      l.bit_width = static_cast<int8_t>(c.bit_width);
      l.is_signed = c.is_signed;
      static constexpr ConvertedType kSigned[] = {ConvertedType::kInt8, ConvertedType::kInt16,
                                                  ConvertedType::kInt32, ConvertedType::kInt64};
      static constexpr ConvertedType kUnsigned[] = {ConvertedType::kUint8, ConvertedType::kUint16,
                                                    ConvertedType::kUint32,
                                                    ConvertedType::kUint64};
      const int i = c.bit_width == 8 ? 0 : c.bit_width == 16 ? 1 : c.bit_width == 32 ? 2 : 3;
      e->converted_type = c.is_signed ? kSigned[i] : kUnsigned[i];
      break;
    }
    case Logical::kNone:
    case Logical::kOther:
      return;
  }
  e->logical_type = l;
}

// Appends the schema elements of one column.
void AddSchemaElements(const Column& c, std::vector<SchemaElement>* out) {
  SchemaElement leaf;
  leaf.type = c.physical;
  if (c.physical == Type::kFixedLenByteArray) leaf.type_length = c.type_length;
  AddAnnotations(c, &leaf);
  if (!c.is_list) {
    leaf.name = c.name;
    leaf.repetition_type = c.nullable ? Repetition::kOptional : Repetition::kRequired;
    out->push_back(std::move(leaf));
    return;
  }
  SchemaElement list;
  list.name = c.name;
  list.repetition_type = c.nullable ? Repetition::kOptional : Repetition::kRequired;
  list.num_children = 1;
  list.converted_type = ConvertedType::kList;
  list.logical_type = LogicalType{};
  list.logical_type->kind = LogicalType::Kind::kList;
  SchemaElement repeated;
  repeated.name = "list";
  repeated.repetition_type = Repetition::kRepeated;
  repeated.num_children = 1;
  leaf.name = "element";
  leaf.repetition_type = c.element_nullable ? Repetition::kOptional : Repetition::kRequired;
  out->push_back(std::move(list));
  out->push_back(std::move(repeated));
  out->push_back(std::move(leaf));
}

size_t ValueCount(const Column& c, const ColumnData& d) {
  switch (c.physical) {
    case Type::kBoolean: return d.bools.size();
    case Type::kInt32: return d.i32.size();
    case Type::kInt64:
    case Type::kInt96: return d.i64.size();
    case Type::kFloat: return d.f32.size();
    case Type::kDouble: return d.f64.size();
    case Type::kByteArray:
    case Type::kFixedLenByteArray: return d.bytes.size();
  }
  return 0;
}

absl::Status CheckBatch(const Column& c, const ColumnData& d, int64_t rows) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("column '", c.name, "': ", why));
  };
  const int64_t slots = d.num_slots;
  if (!d.def_levels.empty() && static_cast<int64_t>(d.def_levels.size()) != slots) {
    return bad("definition levels do not match the slot count");
  }
  if (!d.rep_levels.empty() && static_cast<int64_t>(d.rep_levels.size()) != slots) {
    return bad("repetition levels do not match the slot count");
  }
  int64_t present = 0;
  for (int16_t l : d.def_levels) {
    if (l < 0 || l > c.max_def) return bad(absl::StrCat("definition level ", l, " out of range"));
    present += l == c.max_def;
  }
  if (d.def_levels.empty()) present = slots;
  if (static_cast<int64_t>(ValueCount(c, d)) != present) {
    return bad(absl::StrCat(ValueCount(c, d), " values for ", present, " present slots"));
  }
  if (c.is_list) {
    int64_t row_starts = 0;
    if (d.rep_levels.empty()) {
      row_starts = slots;
    } else {
      for (int16_t l : d.rep_levels) {
        if (l < 0 || l > 1) return bad(absl::StrCat("repetition level ", l, " out of range"));
        row_starts += l == 0;
      }
      if (slots > 0 && d.rep_levels[0] != 0) return bad("the first slot does not start a row");
    }
    if (row_starts != rows) return bad(absl::StrCat(row_starts, " rows, the batch has ", rows));
  } else if (slots != rows) {
    return bad(absl::StrCat(slots, " slots, the batch has ", rows, " rows"));
  }
  if (c.physical == Type::kFixedLenByteArray) {
    for (size_t i = 0; i < d.bytes.size(); ++i) {
      if (d.bytes.Get(i).size() != static_cast<size_t>(c.type_length)) {
        return bad(absl::StrCat("value ", i, " has ", d.bytes.Get(i).size(), " bytes, not ",
                                c.type_length));
      }
    }
  }
  if (c.logical == Logical::kNull && present > 0) return bad("an UNKNOWN column holds values");
  if (!c.nullable && !c.is_list && present != slots) return bad("null in a REQUIRED column");
  return absl::OkStatus();
}

// Encodes one column chunk of a row group.
class ChunkEncoder {
 public:
  ChunkEncoder(const Column& column, const ColumnData& data, const WriterOptions& options)
      : c_(column), d_(data), options_(options) {}

  // Appends the chunk's pages to `out` (the file offset of out's start is
  // `base`) and fills `meta`.
  absl::Status Encode(uint64_t base, std::string* out, ColumnMetaData* meta) {
    meta->type = c_.physical;
    meta->path_in_schema = c_.is_list ? std::vector<std::string>{c_.name, "list", "element"}
                                      : std::vector<std::string>{c_.name};
    meta->codec = options_.codec;
    meta->num_values = d_.num_slots;
    const size_t start = out->size();
    int64_t uncompressed_total = 0;
    const bool dict = options_.dictionary && BuildDictionary();
    if (dict) {
      page_.clear();
      AppendDictionaryValues(&page_);
      PageHeader h;
      h.type = PageType::kDictionaryPage;
      h.dictionary_page_header = DictionaryPageHeader{};
      h.dictionary_page_header->num_values = static_cast<int32_t>(dict_size_);
      h.dictionary_page_header->encoding = Encoding::kPlain;
      meta->dictionary_page_offset = static_cast<int64_t>(base + out->size());
      PANTRY_ASSIGN_OR_RETURN(int64_t u, WritePage(&h, out));
      uncompressed_total += u;
    }
    meta->data_page_offset = static_cast<int64_t>(base + out->size());
    // Split the slots into pages of about page_bytes of values, cut at row
    // starts.
    const int64_t slots = d_.num_slots;
    int64_t slot = 0;
    size_t value = 0;
    const size_t per_value = EstimatedValueBytes(dict);
    while (slot < slots) {
      int64_t end = slot;
      size_t values = 0;
      size_t bytes = 0;
      while (end < slots) {
        const bool present = d_.def_levels.empty() || d_.def_levels[end] == c_.max_def;
        if (present) {
          bytes += per_value + (c_.physical == Type::kByteArray && !dict
                                    ? d_.bytes.Get(value + values).size()
                                    : 0);
          ++values;
        }
        ++end;
        if (bytes >= static_cast<size_t>(options_.page_bytes) &&
            (d_.rep_levels.empty() || end == slots || d_.rep_levels[end] == 0)) {
          break;
        }
      }
      PANTRY_ASSIGN_OR_RETURN(int64_t u, DataPage(slot, end, value, values, dict, out));
      uncompressed_total += u;
      slot = end;
      value += values;
    }
    meta->encodings = dict ? std::vector<Encoding>{Encoding::kPlain, Encoding::kRle,
                                                   Encoding::kRleDictionary}
                           : std::vector<Encoding>{Encoding::kPlain, Encoding::kRle};
    meta->total_compressed_size = static_cast<int64_t>(out->size() - start);
    meta->total_uncompressed_size = uncompressed_total;
    meta->statistics = ComputeStatistics();
    return absl::OkStatus();
  }

 private:
  size_t EstimatedValueBytes(bool dict) const {
    if (dict) return 2;
    switch (c_.physical) {
      case Type::kBoolean: return 1;
      case Type::kInt32:
      case Type::kFloat: return 4;
      case Type::kByteArray: return 4;
      case Type::kFixedLenByteArray: return static_cast<size_t>(c_.type_length);
      default: return 8;
    }
  }

  // True when, `seen` values in with `distinct` distinct ones, a dictionary
  // will not pay: checked at a few points so columns of unique values (ids,
  // measurements) give up after a thousand values, not a whole row group.
  static bool MostlyDistinct(size_t seen, size_t distinct) {
    return (seen & (seen - 1)) == 0 && seen >= 1024 && distinct * 4 > seen * 3;
  }

  // Builds the dictionary and the index of every value; false when the
  // column does not benefit from one.
  bool BuildDictionary() {
    const size_t n = ValueCount(c_, d_);
    if (n == 0 || c_.physical == Type::kBoolean) return false;
    indices_.resize(n);
    size_t dict_bytes = 0;
    size_t plain_bytes = 0;
    auto numeric = [&](const auto& values) -> bool {
      using T = typename std::decay_t<decltype(values)>::value_type;
      using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
      absl::flat_hash_map<Bits, uint32_t> map;
      for (size_t i = 0; i < n; ++i) {
        Bits b;
        std::memcpy(&b, &values[i], sizeof(T));
        auto [it, inserted] = map.try_emplace(b, static_cast<uint32_t>(map.size()));
        if (inserted) {
          dict_order_.push_back(i);
          if (map.size() * sizeof(T) > kMaxDictionaryBytes) return false;
        }
        indices_[i] = it->second;
        if (MostlyDistinct(i + 1, map.size())) return false;
      }
      dict_size_ = map.size();
      dict_bytes = dict_size_ * sizeof(T);
      plain_bytes = n * sizeof(T);
      return true;
    };
    bool ok = false;
    switch (c_.physical) {
      case Type::kInt32: ok = numeric(d_.i32); break;
      case Type::kInt64: ok = numeric(d_.i64); break;
      case Type::kFloat: ok = numeric(d_.f32); break;
      case Type::kDouble: ok = numeric(d_.f64); break;
      case Type::kByteArray:
      case Type::kFixedLenByteArray: {
        absl::flat_hash_map<absl::string_view, uint32_t> map;
        ok = true;
        for (size_t i = 0; i < n; ++i) {
          const absl::string_view v = d_.bytes.Get(i);
          plain_bytes += 4 + v.size();
          auto [it, inserted] = map.try_emplace(v, static_cast<uint32_t>(map.size()));
          if (inserted) {
            dict_order_.push_back(i);
            dict_bytes += 4 + v.size();
            if (dict_bytes > kMaxDictionaryBytes) {
              ok = false;
              break;
            }
          }
          indices_[i] = it->second;
          if (MostlyDistinct(i + 1, map.size())) {
            ok = false;
            break;
          }
        }
        dict_size_ = map.size();
        break;
      }
      default: break;
    }
    if (!ok) {
      dict_order_.clear();
      return false;
    }
    bit_width_ = std::max(1, BitWidthOf(dict_size_ - 1));
    const size_t encoded = dict_bytes + (n * static_cast<size_t>(bit_width_) + 7) / 8;
    if (encoded >= plain_bytes) {
      dict_order_.clear();
      return false;
    }
    return true;
  }

  void AppendDictionaryValues(std::string* out) const {
    for (size_t i : dict_order_) AppendPlainValue(i, out);
  }

  void AppendPlainValue(size_t i, std::string* out) const {
    switch (c_.physical) {
      case Type::kInt32: out->append(RawBytes(d_.i32[i])); break;
      case Type::kInt64: out->append(RawBytes(d_.i64[i])); break;
      case Type::kFloat: out->append(RawBytes(d_.f32[i])); break;
      case Type::kDouble: out->append(RawBytes(d_.f64[i])); break;
      case Type::kByteArray: {
        const absl::string_view v = d_.bytes.Get(i);
        AppendU32(static_cast<uint32_t>(v.size()), out);
        out->append(v.data(), v.size());
        break;
      }
      case Type::kFixedLenByteArray: {
        const absl::string_view v = d_.bytes.Get(i);
        out->append(v.data(), v.size());
        break;
      }
      default: break;
    }
  }

  void AppendPlainValues(size_t first, size_t n, std::string* out) const {
    auto raw = [&](const auto& vec) {
      out->append(reinterpret_cast<const char*>(vec.data() + first), n * sizeof(vec[0]));
    };
    switch (c_.physical) {
      case Type::kBoolean: {
        const size_t start = out->size();
        out->resize(start + (n + 7) / 8, '\0');
        for (size_t i = 0; i < n; ++i) {
          if (d_.bools[first + i]) (*out)[start + i / 8] |= static_cast<char>(1 << (i % 8));
        }
        break;
      }
      case Type::kInt32: raw(d_.i32); break;
      case Type::kInt64: raw(d_.i64); break;
      case Type::kFloat: raw(d_.f32); break;
      case Type::kDouble: raw(d_.f64); break;
      default:
        for (size_t i = 0; i < n; ++i) AppendPlainValue(first + i, out);
        break;
    }
  }

  // Writes one data page of slots [slot, end) holding values
  // [value, value + values). Returns its uncompressed size.
  absl::StatusOr<int64_t> DataPage(int64_t slot, int64_t end, size_t value, size_t values,
                                   bool dict, std::string* out) {
    page_.clear();
    const size_t n = static_cast<size_t>(end - slot);
    if (c_.max_rep > 0) {
      AppendLevels(d_.rep_levels, slot, n, c_.max_rep, /*fill=*/0);
    }
    if (c_.max_def > 0) {
      AppendLevels(d_.def_levels, slot, n, c_.max_def, /*fill=*/c_.max_def);
    }
    if (dict) {
      page_.push_back(static_cast<char>(bit_width_));
      EncodeRleBitPacked(indices_.data() + value, values, bit_width_, &page_);
    } else {
      AppendPlainValues(value, values, &page_);
    }
    PageHeader h;
    h.type = PageType::kDataPage;
    h.data_page_header = DataPageHeader{};
    h.data_page_header->num_values = static_cast<int32_t>(n);
    h.data_page_header->encoding = dict ? Encoding::kRleDictionary : Encoding::kPlain;
    h.data_page_header->definition_level_encoding = Encoding::kRle;
    h.data_page_header->repetition_level_encoding = Encoding::kRle;
    return WritePage(&h, out);
  }

  void AppendLevels(const std::vector<int16_t>& levels, int64_t slot, size_t n, int16_t max,
                    int16_t fill) {
    const size_t len_at = page_.size();
    page_.append(4, '\0');
    const int bw = BitWidthOf(static_cast<uint64_t>(max));
    if (levels.empty()) {
      scratch_levels_.assign(n, fill);
      EncodeRleBitPacked(scratch_levels_.data(), n, bw, &page_);
    } else {
      EncodeRleBitPacked(levels.data() + slot, n, bw, &page_);
    }
    const uint32_t len = static_cast<uint32_t>(page_.size() - len_at - 4);
    std::memcpy(page_.data() + len_at, &len, 4);
  }

  // Compresses page_ and appends header and body to `out`.
  absl::StatusOr<int64_t> WritePage(PageHeader* h, std::string* out) {
    h->uncompressed_page_size = static_cast<int32_t>(page_.size());
    const std::string* body = &page_;
    if (options_.codec != Codec::kUncompressed) {
      compressed_.clear();
      if (options_.compression_level != 0) {
        PANTRY_RETURN_IF_ERROR(
            Compress(options_.codec, page_, options_.compression_level, &compressed_));
      } else {
        PANTRY_RETURN_IF_ERROR(Compress(options_.codec, page_, &compressed_));
      }
      body = &compressed_;
    }
    h->compressed_page_size = static_cast<int32_t>(body->size());
    const size_t before = out->size();
    SerializePageHeader(*h, out);
    const int64_t header_bytes = static_cast<int64_t>(out->size() - before);
    out->append(*body);
    return header_bytes + static_cast<int64_t>(page_.size());
  }

  std::optional<Statistics> ComputeStatistics() const {
    Statistics st;
    int64_t nulls = 0;
    for (int16_t l : d_.def_levels) nulls += l < c_.max_def;
    st.null_count = nulls;
    const size_t n = ValueCount(c_, d_);
    if (n == 0 || c_.logical == Logical::kNull) return st;
    const bool unsigned_int = c_.logical == Logical::kInteger && !c_.is_signed;
    switch (c_.physical) {
      case Type::kBoolean: {
        const auto [lo, hi] = std::minmax_element(d_.bools.begin(), d_.bools.end());
        st.min_value = std::string(1, static_cast<char>(*lo));
        st.max_value = std::string(1, static_cast<char>(*hi));
        break;
      }
      case Type::kInt32:
        if (unsigned_int) {
          uint32_t lo = UINT32_MAX, hi = 0;
          for (int32_t v : d_.i32) {
            lo = std::min(lo, static_cast<uint32_t>(v));
            hi = std::max(hi, static_cast<uint32_t>(v));
          }
          st.min_value = RawBytes(lo);
          st.max_value = RawBytes(hi);
        } else {
          const auto [lo, hi] = std::minmax_element(d_.i32.begin(), d_.i32.end());
          st.min_value = RawBytes(*lo);
          st.max_value = RawBytes(*hi);
        }
        break;
      case Type::kInt64:
        if (unsigned_int) {
          uint64_t lo = UINT64_MAX, hi = 0;
          for (int64_t v : d_.i64) {
            lo = std::min(lo, static_cast<uint64_t>(v));
            hi = std::max(hi, static_cast<uint64_t>(v));
          }
          st.min_value = RawBytes(lo);
          st.max_value = RawBytes(hi);
        } else {
          const auto [lo, hi] = std::minmax_element(d_.i64.begin(), d_.i64.end());
          st.min_value = RawBytes(*lo);
          st.max_value = RawBytes(*hi);
        }
        break;
      case Type::kFloat: return FloatStatistics(d_.f32, st);
      case Type::kDouble: return FloatStatistics(d_.f64, st);
      case Type::kByteArray:
      case Type::kFixedLenByteArray: {
        // Decimals in byte arrays order as signed numbers, not bytes: no
        // statistics rather than wrong ones.
        if (c_.logical == Logical::kDecimal || c_.logical == Logical::kFloat16) return st;
        absl::string_view lo = d_.bytes.Get(0), hi = lo;
        for (size_t i = 1; i < n; ++i) {
          const absl::string_view v = d_.bytes.Get(i);
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        if (lo.size() > kMaxStatisticsBytes || hi.size() > kMaxStatisticsBytes) return st;
        st.min_value = std::string(lo);
        st.max_value = std::string(hi);
        break;
      }
      default: break;
    }
    return st;
  }

  template <typename T>
  static Statistics FloatStatistics(const std::vector<T>& values, Statistics st) {
    bool any = false;
    T lo = 0, hi = 0;
    for (T v : values) {
      if (std::isnan(v)) continue;  // NaN has no place in min/max
      if (!any) {
        lo = hi = v;
        any = true;
      } else {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
    if (!any) return st;
    // A zero bound is written as -0.0 (min) and +0.0 (max), as the spec asks.
    if (lo == 0) lo = -T(0);
    if (hi == 0) hi = T(0);
    st.min_value = RawBytes(lo);
    st.max_value = RawBytes(hi);
    return st;
  }

  const Column& c_;
  const ColumnData& d_;
  const WriterOptions& options_;
  std::vector<uint32_t> indices_;
  std::vector<size_t> dict_order_;  // value index of each dictionary entry
  size_t dict_size_ = 0;
  int bit_width_ = 0;
  std::string page_;
  std::string compressed_;
  std::vector<int16_t> scratch_levels_;
};

}  // namespace

FileWriter::FileWriter(std::string path, std::string temp_path, int fd,
                       std::vector<Column> columns, WriterOptions options)
    : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd),
      columns_(std::move(columns)), options_(std::move(options)), buffered_(columns_.size()) {}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!closed_) ::unlink(temp_path_.c_str());
}

absl::StatusOr<std::unique_ptr<FileWriter>> FileWriter::Create(const std::string& path,
                                                               std::vector<ColumnSpec> columns,
                                                               WriterOptions options) {
  if (columns.empty()) return absl::InvalidArgumentError("a Parquet file needs at least one column");
  absl::flat_hash_set<std::string> names;
  for (ColumnSpec& c : columns) {
    PANTRY_RETURN_IF_ERROR(CheckSpec(c));
    if (!names.insert(c.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("column '", c.name, "' appears twice"));
    }
    DeriveLevels(&c);
  }
  for (size_t i = 0; i < columns.size(); ++i) columns[i].leaf_index = static_cast<int>(i);
  if (options.row_group_rows <= 0 || options.page_bytes <= 0 || options.threads < 1) {
    return absl::InvalidArgumentError("row group rows, page bytes and threads must be positive");
  }
  {
    std::string probe;
    PANTRY_RETURN_IF_ERROR(Compress(options.codec, "probe", &probe));
  }
  std::random_device rd;
  const std::string temp = absl::StrCat(path, ".tmp-", ::getpid(), "-", rd());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(absl::StrCat("cannot create ", temp));
  auto writer = std::unique_ptr<FileWriter>(
      new FileWriter(path, temp, fd, std::move(columns), std::move(options)));
  PANTRY_RETURN_IF_ERROR(writer->WriteBytes("PAR1"));
  return writer;
}

absl::Status FileWriter::WriteBytes(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      failed_ = true;
      return ErrnoError(absl::StrCat("cannot write ", temp_path_));
    }
    done += static_cast<size_t>(w);
  }
  offset_ += bytes.size();
  return absl::OkStatus();
}

absl::Status FileWriter::CheckWrite(const std::vector<ColumnData>& batch, int64_t rows) const {
  if (closed_ || failed_) return absl::FailedPreconditionError("the writer is closed or failed");
  if (batch.size() != columns_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch has ", batch.size(), " columns, the file ", columns_.size()));
  }
  if (rows < 0) return absl::InvalidArgumentError("negative row count");
  for (size_t i = 0; i < batch.size(); ++i) {
    PANTRY_RETURN_IF_ERROR(CheckBatch(columns_[i], batch[i], rows));
  }
  return absl::OkStatus();
}

absl::Status FileWriter::Write(std::vector<ColumnData>&& batch, int64_t rows) {
  if (buffered_rows_ != 0 || rows > options_.row_group_rows) {
    return Write(static_cast<const std::vector<ColumnData>&>(batch), rows);
  }
  PANTRY_RETURN_IF_ERROR(CheckWrite(batch, rows));
  for (size_t i = 0; i < batch.size(); ++i) {
    ColumnData& to = buffered_[i];
    to = std::move(batch[i]);
    // Fill in the levels the caller may have left implicit.
    if (columns_[i].max_def > 0 && to.def_levels.empty()) {
      to.def_levels.assign(static_cast<size_t>(to.num_slots), columns_[i].max_def);
    }
    if (columns_[i].max_rep > 0 && to.rep_levels.empty()) {
      to.rep_levels.assign(static_cast<size_t>(to.num_slots), 0);
    }
    if (columns_[i].max_def == 0) to.def_levels.clear();
    if (columns_[i].max_rep == 0) to.rep_levels.clear();
  }
  buffered_rows_ = rows;
  if (buffered_rows_ >= options_.row_group_rows) return FlushRowGroup();
  return absl::OkStatus();
}

namespace {

// Position in a batch being appended piecewise.
struct BatchCursor {
  int64_t slot = 0;
  size_t value = 0;
};

template <typename T>
void AppendRange(std::vector<T>* to, const std::vector<T>& from, size_t begin, size_t n) {
  if (n == 0) return;
  to->insert(to->end(), from.begin() + static_cast<ptrdiff_t>(begin),
             from.begin() + static_cast<ptrdiff_t>(begin + n));
}

// Appends the next `rows` rows of `from` (at `cursor`) to `to`.
void AppendRows(const Column& c, const ColumnData& from, int64_t rows, BatchCursor* cursor,
                ColumnData* to) {
  const int64_t begin = cursor->slot;
  int64_t end = begin + rows;
  if (c.is_list && !from.rep_levels.empty()) {
    // A row runs from a repetition level 0 to the next one.
    int64_t seen = 0;
    end = begin;
    while (end < from.num_slots) {
      if (from.rep_levels[end] == 0) {
        if (seen == rows) break;
        ++seen;
      }
      ++end;
    }
  }
  const size_t slots = static_cast<size_t>(end - begin);
  size_t values = slots;
  if (!from.def_levels.empty()) {
    values = 0;
    for (int64_t s = begin; s < end; ++s) values += from.def_levels[s] == c.max_def;
  }
  if (c.max_def > 0) {
    if (from.def_levels.empty()) {
      to->def_levels.insert(to->def_levels.end(), slots, c.max_def);
    } else {
      AppendRange(&to->def_levels, from.def_levels, static_cast<size_t>(begin), slots);
    }
  }
  if (c.max_rep > 0) {
    if (from.rep_levels.empty()) {
      to->rep_levels.insert(to->rep_levels.end(), slots, 0);
    } else {
      AppendRange(&to->rep_levels, from.rep_levels, static_cast<size_t>(begin), slots);
    }
  }
  to->num_slots += static_cast<int64_t>(slots);
  const size_t v = cursor->value;
  switch (c.physical) {
    case Type::kBoolean: AppendRange(&to->bools, from.bools, v, values); break;
    case Type::kInt32: AppendRange(&to->i32, from.i32, v, values); break;
    case Type::kInt64:
    case Type::kInt96: AppendRange(&to->i64, from.i64, v, values); break;
    case Type::kFloat: AppendRange(&to->f32, from.f32, v, values); break;
    case Type::kDouble: AppendRange(&to->f64, from.f64, v, values); break;
    case Type::kByteArray:
    case Type::kFixedLenByteArray: to->bytes.AppendRange(from.bytes, v, v + values); break;
  }
  cursor->slot = end;
  cursor->value += values;
}

}  // namespace

absl::Status FileWriter::Write(const std::vector<ColumnData>& batch, int64_t rows) {
  PANTRY_RETURN_IF_ERROR(CheckWrite(batch, rows));
  // Rows go into the current row group until it is full, then the rest
  // into the next ones: every row group but the last has row_group_rows.
  std::vector<BatchCursor> cursors(batch.size());
  int64_t done = 0;
  while (done < rows) {
    const int64_t take = std::min(rows - done, options_.row_group_rows - buffered_rows_);
    for (size_t i = 0; i < batch.size(); ++i) {
      AppendRows(columns_[i], batch[i], take, &cursors[i], &buffered_[i]);
    }
    buffered_rows_ += take;
    done += take;
    if (buffered_rows_ >= options_.row_group_rows) PANTRY_RETURN_IF_ERROR(FlushRowGroup());
  }
  return absl::OkStatus();
}

absl::Status FileWriter::FlushRowGroup() {
  if (buffered_rows_ == 0) return absl::OkStatus();
  RowGroup rg;
  rg.num_rows = buffered_rows_;
  rg.file_offset = static_cast<int64_t>(offset_);
  // The field is an i16 (for encrypted files); it is optional, so row groups
  // past 32,767 go without rather than with a wrapped number.
  if (meta_.row_groups.size() <= static_cast<size_t>(INT16_MAX)) {
    rg.ordinal = static_cast<int16_t>(meta_.row_groups.size());
  }
  // Columns are encoded independently (in parallel with threads > 1) at
  // offset 0, then written in order and their offsets moved into place.
  const size_t n = columns_.size();
  std::vector<std::string> bytes(n);
  std::vector<ColumnChunk> chunks(n);
  std::vector<absl::Status> statuses(n);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      chunks[i].meta_data = ColumnMetaData{};
      ChunkEncoder encoder(columns_[i], buffered_[i], options_);
      statuses[i] = encoder.Encode(0, &bytes[i], &*chunks[i].meta_data);
    }
  };
  std::vector<std::thread> threads;
  const int extra = std::min<int>(options_.threads, static_cast<int>(n)) - 1;
  for (int t = 0; t < extra; ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  int64_t total_uncompressed = 0;
  for (size_t i = 0; i < n; ++i) {
    PANTRY_RETURN_IF_ERROR(statuses[i]);
    ColumnMetaData& cm = *chunks[i].meta_data;
    const int64_t base = static_cast<int64_t>(offset_);
    cm.data_page_offset += base;
    if (cm.dictionary_page_offset) *cm.dictionary_page_offset += base;
    chunks[i].file_offset = cm.dictionary_page_offset.value_or(cm.data_page_offset);
    total_uncompressed += cm.total_uncompressed_size;
    PANTRY_RETURN_IF_ERROR(WriteBytes(bytes[i]));
    std::string().swap(bytes[i]);
    rg.columns.push_back(std::move(chunks[i]));
    buffered_[i].Clear();
  }
  rg.total_byte_size = total_uncompressed;
  rg.total_compressed_size = static_cast<int64_t>(offset_) - *rg.file_offset;
  meta_.num_rows += buffered_rows_;
  meta_.row_groups.push_back(std::move(rg));
  buffered_rows_ = 0;
  return absl::OkStatus();
}

absl::Status FileWriter::Close() {
  if (closed_ || failed_) return absl::FailedPreconditionError("the writer is closed or failed");
  PANTRY_RETURN_IF_ERROR(FlushRowGroup());
  meta_.version = 1;
  meta_.schema.clear();
  SchemaElement root;
  root.name = "schema";
  root.num_children = static_cast<int32_t>(columns_.size());
  meta_.schema.push_back(root);
  for (const Column& c : columns_) AddSchemaElements(c, &meta_.schema);
  meta_.key_value_metadata = options_.key_value_metadata;
  meta_.created_by = options_.created_by;
  meta_.column_orders_type_defined = std::vector<bool>(columns_.size(), true);
  std::string footer;
  SerializeFileMetaData(meta_, &footer);
  AppendU32(static_cast<uint32_t>(footer.size()), &footer);
  footer.append("PAR1");
  PANTRY_RETURN_IF_ERROR(WriteBytes(footer));
  if (::fsync(fd_) != 0) return ErrnoError(absl::StrCat("cannot fsync ", temp_path_));
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    failed_ = true;
    return ErrnoError(absl::StrCat("cannot rename ", temp_path_, " to ", path_));
  }
  closed_ = true;
  // Make the rename durable.
  std::string dir = path_.substr(0, path_.find_last_of('/') == std::string::npos
                                        ? 0
                                        : path_.find_last_of('/'));
  if (dir.empty()) dir = path_.find('/') == 0 ? "/" : ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace pantry::parquet
