#include "server/parquet/reader.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status.h"
#include "server/parquet/compression.h"
#include "server/parquet/encodings.h"
#include "server/parquet/logical.h"

namespace pantry::parquet {
namespace {

constexpr char kMagic[] = "PAR1";
constexpr char kEncryptedMagic[] = "PARE";
// Limits on lengths read from a file, so a corrupt header cannot make the
// reader allocate without bound. Real writers stay far below them.
constexpr int64_t kMaxPageBytes = int64_t{512} << 20;
constexpr int64_t kMaxPageSlots = int64_t{1} << 25;
constexpr int64_t kMaxChunkSlots = int64_t{1} << 31;
constexpr int64_t kJulianEpochDay = 2440588;  // the Julian day of 1970-01-01
constexpr int64_t kNanosPerDay = 86400LL * 1000 * 1000 * 1000;

uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}


int PhysicalWidth(const Column& c) {
  switch (c.physical) {
    case Type::kInt32:
    case Type::kFloat: return 4;
    case Type::kInt64:
    case Type::kDouble: return 8;
    case Type::kInt96: return 12;
    case Type::kFixedLenByteArray: return c.type_length;
    default: return 0;
  }
}

int64_t Int96ToNanos(const uint8_t* p) {
  int64_t nanos_of_day;
  int32_t julian_day;
  std::memcpy(&nanos_of_day, p, 8);
  std::memcpy(&julian_day, p + 8, 4);
  // Unsigned arithmetic: a corrupt value wraps instead of overflowing.
  return static_cast<int64_t>(static_cast<uint64_t>(julian_day - kJulianEpochDay) *
                                  static_cast<uint64_t>(kNanosPerDay) +
                              static_cast<uint64_t>(nanos_of_day));
}

// Decodes one column chunk. Offsets in messages are absolute file offsets.
class ChunkDecoder {
 public:
  ChunkDecoder(const std::string& path, const Column& column, const ColumnMetaData& meta,
               int row_group, int64_t row_group_rows, ColumnData* out)
      : path_(path), column_(column), meta_(meta), row_group_(row_group),
        row_group_rows_(row_group_rows), out_(out) {}

  absl::Status Decode(const uint8_t* chunk, size_t size, uint64_t chunk_offset) {
    const int64_t expected = meta_.num_values;
    if (expected < 0 || expected > kMaxChunkSlots) {
      return Error(chunk_offset, absl::StrCat("value count ", expected, " out of range"));
    }
    if (column_.max_rep == 0 && expected != row_group_rows_) {
      return Error(chunk_offset, absl::StrCat("column chunk has ", expected,
                                              " values but its row group has ", row_group_rows_,
                                              " rows"));
    }
    size_t pos = 0;
    while (out_->num_slots < expected) {
      if (pos >= size) {
        return Error(chunk_offset + pos,
                     absl::StrCat("column chunk ended after ", out_->num_slots, " of ", expected,
                                  " values"));
      }
      const uint64_t header_offset = chunk_offset + pos;
      size_t header_size = 0;
      auto header = ParsePageHeader(
          absl::string_view(reinterpret_cast<const char*>(chunk + pos), size - pos), &header_size);
      if (!header.ok()) return Error(header_offset, header.status().message());
      pos += header_size;
      const int64_t compressed = header->compressed_page_size;
      if (compressed < 0 || static_cast<uint64_t>(compressed) > size - pos) {
        return Error(header_offset, absl::StrCat("page of ", compressed,
                                                 " bytes overruns its column chunk (",
                                                 size - pos, " bytes left)"));
      }
      if (header->uncompressed_page_size < 0 || header->uncompressed_page_size > kMaxPageBytes) {
        return Error(header_offset, absl::StrCat("uncompressed page size ",
                                                 header->uncompressed_page_size,
                                                 " out of range"));
      }
      const uint8_t* body = chunk + pos;
      const uint64_t body_offset = chunk_offset + pos;
      pos += static_cast<size_t>(compressed);
      switch (header->type) {
        case PageType::kDictionaryPage:
          PANTRY_RETURN_IF_ERROR(DictionaryPage(*header, body, body_offset));
          break;
        case PageType::kDataPage:
          PANTRY_RETURN_IF_ERROR(DataPageV1(*header, body, body_offset));
          break;
        case PageType::kDataPageV2:
          PANTRY_RETURN_IF_ERROR(DataPageV2(*header, body, body_offset));
          break;
        case PageType::kIndexPage:
          break;  // not used by readers; skip
        default:
          return Error(header_offset, absl::StrCat("unknown page type ",
                                                   static_cast<int>(header->type)));
      }
    }
    if (out_->num_slots != expected) {
      return Error(chunk_offset + pos, absl::StrCat("pages hold ", out_->num_slots,
                                                    " values, the column chunk says ", expected));
    }
    if (column_.max_rep > 0) {
      // Consumers walk rows by repetition level 0: the levels must describe
      // exactly the row group's rows.
      int64_t rows = 0;
      for (int16_t l : out_->rep_levels) rows += l == 0;
      if ((expected > 0 && out_->rep_levels[0] != 0) || rows != row_group_rows_) {
        return Error(chunk_offset, absl::StrCat("repetition levels describe ", rows,
                                                " rows, the row group has ", row_group_rows_));
      }
      // A continued list (repetition level 1) continues an element, never a
      // null or empty list.
      const auto& rep = out_->rep_levels;
      const auto& def = out_->def_levels;
      for (size_t i = 1; i < rep.size(); ++i) {
        if (rep[i] != 0 && (def[i] < column_.element_def || def[i - 1] < column_.element_def)) {
          return Error(chunk_offset, absl::StrCat("value ", i,
                                                  " continues a list that has no elements"));
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(uint64_t offset, absl::string_view what) const {
    return absl::DataLossError(absl::StrCat(path_, ": column '", absl::StrJoin(column_.path, "."),
                                            "', row group ", row_group_, ", byte offset ", offset,
                                            ": ", what));
  }
  absl::Status Annotated(uint64_t offset, const absl::Status& s) const {
    if (s.ok()) return s;
    if (s.code() == absl::StatusCode::kUnimplemented) {
      return absl::UnimplementedError(absl::StrCat(path_, ": column '",
                                                   absl::StrJoin(column_.path, "."), "': ",
                                                   s.message()));
    }
    return Error(offset, s.message());
  }

  // Returns the uncompressed bytes of a page body: `body` itself when the
  // codec is UNCOMPRESSED, else the decompressed copy in `page_buffer_`.
  absl::StatusOr<const uint8_t*> Uncompress(const uint8_t* body, size_t compressed,
                                           size_t uncompressed, uint64_t offset,
                                           std::string* buffer) {
    if (meta_.codec == Codec::kUncompressed) {
      if (compressed != uncompressed) {
        return Error(offset, absl::StrCat("uncompressed page holds ", compressed,
                                          " bytes but its header says ", uncompressed));
      }
      return body;
    }
    buffer->resize(uncompressed);
    PANTRY_RETURN_IF_ERROR(Annotated(
        offset, Decompress(meta_.codec,
                           absl::string_view(reinterpret_cast<const char*>(body), compressed),
                           reinterpret_cast<uint8_t*>(buffer->data()), uncompressed)));
    return reinterpret_cast<const uint8_t*>(buffer->data());
  }

  absl::Status DictionaryPage(const PageHeader& h, const uint8_t* body, uint64_t offset) {
    if (!h.dictionary_page_header) return Error(offset, "dictionary page without its header");
    if (have_dictionary_) return Error(offset, "a second dictionary page in one column chunk");
    if (out_->num_slots > 0) return Error(offset, "dictionary page after data pages");
    const DictionaryPageHeader& d = *h.dictionary_page_header;
    if (d.encoding != Encoding::kPlain && d.encoding != Encoding::kPlainDictionary) {
      return Error(offset, absl::StrCat("dictionary page encoding ", EncodingName(d.encoding),
                                        " is not PLAIN"));
    }
    if (d.num_values < 0 || d.num_values > kMaxPageSlots) {
      return Error(offset, absl::StrCat("dictionary size ", d.num_values, " out of range"));
    }
    PANTRY_ASSIGN_OR_RETURN(const uint8_t* data,
                            Uncompress(body, h.compressed_page_size, h.uncompressed_page_size,
                                       offset, &page_buffer_));
    dictionary_.Clear();
    PANTRY_RETURN_IF_ERROR(DecodePlain(data, h.uncompressed_page_size, d.num_values, &dictionary_,
                                       offset));
    have_dictionary_ = true;
    return absl::OkStatus();
  }

  absl::Status CheckSlots(int64_t n, uint64_t offset) const {
    if (n < 0 || n > kMaxPageSlots || n > meta_.num_values - out_->num_slots) {
      return Error(offset, absl::StrCat("page value count ", n, " out of range (",
                                        meta_.num_values - out_->num_slots,
                                        " values left in the column chunk)"));
    }
    return absl::OkStatus();
  }

  // Decodes `n` levels of `max_level` stored with `encoding` (v1 pages) at
  // `data`; advances `*pos`.
  absl::Status LevelsV1(Encoding encoding, int16_t max_level, const uint8_t* data, size_t size,
                        size_t* pos, size_t n, std::vector<int16_t>* levels, uint64_t offset) {
    const int bit_width = BitWidthOf(static_cast<uint64_t>(max_level));
    const size_t start = levels->size();
    levels->resize(start + n);
    if (encoding == Encoding::kRle) {
      if (size - *pos < 4) return Error(offset + *pos, "levels length cut off");
      const uint32_t len = LoadU32(data + *pos);
      *pos += 4;
      if (len > size - *pos) {
        return Error(offset + *pos, absl::StrCat("levels of ", len, " bytes overrun the page"));
      }
      RleBitPackedDecoder decoder(data + *pos, len, bit_width);
      PANTRY_RETURN_IF_ERROR(Annotated(offset + *pos, decoder.Decode(levels->data() + start, n)));
      *pos += len;
    } else if (encoding == Encoding::kBitPacked) {
      size_t consumed = 0;
      PANTRY_RETURN_IF_ERROR(Annotated(
          offset + *pos, DecodeBitPackedLegacy(data + *pos, size - *pos, bit_width, n,
                                               levels->data() + start, &consumed)));
      *pos += consumed;
    } else {
      return Error(offset, absl::StrCat("level encoding ", EncodingName(encoding),
                                        " is not RLE or BIT_PACKED"));
    }
    return CheckLevels(levels->data() + start, n, max_level, offset);
  }

  absl::Status CheckLevels(const int16_t* levels, size_t n, int16_t max_level,
                           uint64_t offset) const {
    int16_t worst = 0;
    for (size_t i = 0; i < n; ++i) worst = std::max<int16_t>(worst, levels[i]);
    if (worst > max_level) {
      return Error(offset, absl::StrCat("level ", worst, " above the column's maximum ", max_level));
    }
    return absl::OkStatus();
  }

  // Counts the slots of the last `n` levels that hold a value.
  size_t CountValues(size_t n) const {
    if (column_.max_def == 0) return n;
    const int16_t* d = out_->def_levels.data() + out_->def_levels.size() - n;
    size_t count = 0;
    for (size_t i = 0; i < n; ++i) count += d[i] == column_.max_def;
    return count;
  }

  absl::Status DataPageV1(const PageHeader& h, const uint8_t* body, uint64_t offset) {
    if (!h.data_page_header) return Error(offset, "data page without its header");
    const DataPageHeader& d = *h.data_page_header;
    PANTRY_RETURN_IF_ERROR(CheckSlots(d.num_values, offset));
    PANTRY_ASSIGN_OR_RETURN(const uint8_t* data,
                            Uncompress(body, h.compressed_page_size, h.uncompressed_page_size,
                                       offset, &page_buffer_));
    const size_t size = static_cast<size_t>(h.uncompressed_page_size);
    const size_t n = static_cast<size_t>(d.num_values);
    size_t pos = 0;
    if (column_.max_rep > 0) {
      PANTRY_RETURN_IF_ERROR(LevelsV1(d.repetition_level_encoding, column_.max_rep, data, size,
                                      &pos, n, &out_->rep_levels, offset));
    }
    if (column_.max_def > 0) {
      PANTRY_RETURN_IF_ERROR(LevelsV1(d.definition_level_encoding, column_.max_def, data, size,
                                      &pos, n, &out_->def_levels, offset));
    }
    const size_t values = CountValues(n);
    out_->num_slots += static_cast<int64_t>(n);
    return DecodeValues(d.encoding, data + pos, size - pos, values, offset + pos);
  }

  absl::Status DataPageV2(const PageHeader& h, const uint8_t* body, uint64_t offset) {
    if (!h.data_page_header_v2) return Error(offset, "data page v2 without its header");
    const DataPageHeaderV2& d = *h.data_page_header_v2;
    PANTRY_RETURN_IF_ERROR(CheckSlots(d.num_values, offset));
    const int64_t rep_len = d.repetition_levels_byte_length;
    const int64_t def_len = d.definition_levels_byte_length;
    if (rep_len < 0 || def_len < 0 || rep_len + def_len > h.compressed_page_size ||
        rep_len + def_len > h.uncompressed_page_size) {
      return Error(offset, absl::StrCat("level lengths ", rep_len, " + ", def_len,
                                        " do not fit the page"));
    }
    const size_t n = static_cast<size_t>(d.num_values);
    if (column_.max_rep > 0) {
      const size_t start = out_->rep_levels.size();
      out_->rep_levels.resize(start + n);
      RleBitPackedDecoder decoder(body, static_cast<size_t>(rep_len),
                                  BitWidthOf(static_cast<uint64_t>(column_.max_rep)));
      PANTRY_RETURN_IF_ERROR(
          Annotated(offset, decoder.Decode(out_->rep_levels.data() + start, n)));
      PANTRY_RETURN_IF_ERROR(
          CheckLevels(out_->rep_levels.data() + start, n, column_.max_rep, offset));
    }
    if (column_.max_def > 0) {
      const size_t start = out_->def_levels.size();
      out_->def_levels.resize(start + n);
      RleBitPackedDecoder decoder(body + rep_len, static_cast<size_t>(def_len),
                                  BitWidthOf(static_cast<uint64_t>(column_.max_def)));
      PANTRY_RETURN_IF_ERROR(
          Annotated(offset + rep_len, decoder.Decode(out_->def_levels.data() + start, n)));
      PANTRY_RETURN_IF_ERROR(
          CheckLevels(out_->def_levels.data() + start, n, column_.max_def, offset + rep_len));
    }
    const size_t values = CountValues(n);
    out_->num_slots += static_cast<int64_t>(n);
    const uint8_t* rest = body + rep_len + def_len;
    const size_t rest_compressed = static_cast<size_t>(h.compressed_page_size - rep_len - def_len);
    const size_t rest_size = static_cast<size_t>(h.uncompressed_page_size - rep_len - def_len);
    const uint64_t rest_offset = offset + rep_len + def_len;
    const uint8_t* data = rest;
    if (d.is_compressed && meta_.codec != Codec::kUncompressed) {
      PANTRY_ASSIGN_OR_RETURN(data,
                              Uncompress(rest, rest_compressed, rest_size, rest_offset,
                                         &page_buffer_));
    } else if (rest_compressed != rest_size) {
      return Error(offset, absl::StrCat("uncompressed page holds ", rest_compressed,
                                        " value bytes but its header says ", rest_size));
    }
    return DecodeValues(d.encoding, data, rest_size, values, rest_offset);
  }

  // Appends `n` values encoded with `encoding` to the output.
  absl::Status DecodeValues(Encoding encoding, const uint8_t* data, size_t size, size_t n,
                            uint64_t offset) {
    switch (encoding) {
      case Encoding::kPlain:
        return DecodePlain(data, size, n, out_, offset);
      case Encoding::kPlainDictionary:
      case Encoding::kRleDictionary:
        return DecodeDictionaryIndices(data, size, n, offset);
      case Encoding::kRle: {
        if (column_.physical != Type::kBoolean) break;
        if (size < 4) return Error(offset, "RLE boolean length cut off");
        const uint32_t len = LoadU32(data);
        if (len > size - 4) return Error(offset, "RLE boolean data overruns the page");
        const size_t start = out_->bools.size();
        out_->bools.resize(start + n);
        RleBitPackedDecoder decoder(data + 4, len, 1);
        return Annotated(offset + 4, decoder.Decode(out_->bools.data() + start, n));
      }
      case Encoding::kDeltaBinaryPacked: {
        size_t consumed = 0;
        if (column_.physical == Type::kInt32) {
          const size_t start = out_->i32.size();
          out_->i32.resize(start + n);
          return Annotated(offset, DecodeDeltaBinaryPacked(data, size, n, out_->i32.data() + start,
                                                           &consumed));
        }
        if (column_.physical == Type::kInt64) {
          const size_t start = out_->i64.size();
          out_->i64.resize(start + n);
          return Annotated(offset, DecodeDeltaBinaryPacked(data, size, n, out_->i64.data() + start,
                                                           &consumed));
        }
        break;
      }
      case Encoding::kDeltaLengthByteArray:
        if (column_.physical != Type::kByteArray) break;
        return Annotated(offset, DecodeDeltaLengthByteArray(data, size, n, &out_->bytes));
      case Encoding::kDeltaByteArray:
        if (column_.physical != Type::kByteArray && column_.physical != Type::kFixedLenByteArray) {
          break;
        }
        return Annotated(offset, DecodeDeltaByteArray(data, size, n, &out_->bytes));
      case Encoding::kByteStreamSplit:
        return DecodeSplit(data, size, n, offset);
      default:
        break;
    }
    return Error(offset, absl::StrCat("value encoding ", EncodingName(encoding),
                                      " is not valid for a ", column_.TypeString(), " column"));
  }

  absl::Status DecodeSplit(const uint8_t* data, size_t size, size_t n, uint64_t offset) {
    const int width = PhysicalWidth(column_);
    if (width == 0 || column_.physical == Type::kInt96) {
      return Error(offset, "BYTE_STREAM_SPLIT on a column type it does not apply to");
    }
    auto decode_into = [&](auto& vec) -> absl::Status {
      const size_t start = vec.size();
      vec.resize(start + n);
      return Annotated(offset, DecodeByteStreamSplit(data, size, n, width,
                                                     reinterpret_cast<uint8_t*>(vec.data() + start)));
    };
    switch (column_.physical) {
      case Type::kInt32: return decode_into(out_->i32);
      case Type::kInt64: return decode_into(out_->i64);
      case Type::kFloat: return decode_into(out_->f32);
      case Type::kDouble: return decode_into(out_->f64);
      default: {
        std::string buffer(n * static_cast<size_t>(width), '\0');
        PANTRY_RETURN_IF_ERROR(Annotated(
            offset, DecodeByteStreamSplit(data, size, n, width,
                                          reinterpret_cast<uint8_t*>(buffer.data()))));
        for (size_t i = 0; i < n; ++i) {
          out_->bytes.Append(absl::string_view(buffer.data() + i * width, width));
        }
        return absl::OkStatus();
      }
    }
  }

  template <typename T>
  absl::Status DecodeFixed(const uint8_t* data, size_t size, size_t n, std::vector<T>* vec,
                           uint64_t offset) {
    if (size / sizeof(T) < n) {
      return Error(offset, absl::StrCat("PLAIN page holds ", size, " bytes, ", n, " values of ",
                                        sizeof(T), " bytes need ", n * sizeof(T)));
    }
    if (n == 0) return absl::OkStatus();
    const size_t start = vec->size();
    vec->resize(start + n);
    std::memcpy(vec->data() + start, data, n * sizeof(T));
    return absl::OkStatus();
  }

  absl::Status DecodePlain(const uint8_t* data, size_t size, size_t n, ColumnData* out,
                           uint64_t offset) {
    switch (column_.physical) {
      case Type::kBoolean: {
        if ((size * 8) < n) return Error(offset, "PLAIN booleans cut off");
        const size_t start = out->bools.size();
        out->bools.resize(start + n);
        uint8_t* dst = out->bools.data() + start;
        for (size_t i = 0; i < n; ++i) dst[i] = (data[i >> 3] >> (i & 7)) & 1;
        return absl::OkStatus();
      }
      case Type::kInt32: return DecodeFixed(data, size, n, &out->i32, offset);
      case Type::kInt64: return DecodeFixed(data, size, n, &out->i64, offset);
      case Type::kFloat: return DecodeFixed(data, size, n, &out->f32, offset);
      case Type::kDouble: return DecodeFixed(data, size, n, &out->f64, offset);
      case Type::kInt96: {
        if (size / 12 < n) return Error(offset, "PLAIN INT96 values cut off");
        const size_t start = out->i64.size();
        out->i64.resize(start + n);
        for (size_t i = 0; i < n; ++i) out->i64[start + i] = Int96ToNanos(data + 12 * i);
        return absl::OkStatus();
      }
      case Type::kByteArray: {
        size_t pos = 0;
        std::string* buf = out->bytes.mutable_data();
        // Values usually fill the page: reserve once for the bytes.
        out->bytes.Reserve(n, size);
        for (size_t i = 0; i < n; ++i) {
          if (size - pos < 4) {
            return Error(offset + pos, absl::StrCat("PLAIN byte array ", i, " of ", n,
                                                    ": length cut off"));
          }
          const uint32_t len = LoadU32(data + pos);
          pos += 4;
          if (len > size - pos) {
            return Error(offset + pos, absl::StrCat("PLAIN byte array ", i, " of ", n, ": ", len,
                                                    " bytes overrun the page"));
          }
          buf->append(reinterpret_cast<const char*>(data + pos), len);
          out->bytes.AppendOffset(buf->size());
          pos += len;
        }
        return absl::OkStatus();
      }
      case Type::kFixedLenByteArray: {
        const size_t width = static_cast<size_t>(column_.type_length);
        if (size / width < n) return Error(offset, "PLAIN fixed-length byte arrays cut off");
        std::string* buf = out->bytes.mutable_data();
        out->bytes.Reserve(n, n * width);
        for (size_t i = 0; i < n; ++i) {
          buf->append(reinterpret_cast<const char*>(data + i * width), width);
          out->bytes.AppendOffset(buf->size());
        }
        return absl::OkStatus();
      }
    }
    return Error(offset, "unknown physical type");
  }

  absl::Status DecodeDictionaryIndices(const uint8_t* data, size_t size, size_t n,
                                       uint64_t offset) {
    if (!have_dictionary_) return Error(offset, "dictionary-encoded page without a dictionary");
    if (n == 0) return absl::OkStatus();
    if (size < 1) return Error(offset, "dictionary index bit width cut off");
    const int bit_width = data[0];
    if (bit_width > 32) {
      return Error(offset, absl::StrCat("dictionary index bit width ", bit_width, " above 32"));
    }
    indices_.resize(n);
    RleBitPackedDecoder decoder(data + 1, size - 1, bit_width);
    PANTRY_RETURN_IF_ERROR(Annotated(offset + 1, decoder.Decode(indices_.data(), n)));
    const size_t dict_size = dictionary_.num_values();
    uint32_t worst = 0;
    for (size_t i = 0; i < n; ++i) worst = std::max(worst, indices_[i]);
    if (worst >= dict_size) {
      return Error(offset, absl::StrCat("dictionary index ", worst, " beyond the dictionary's ",
                                        dict_size, " values"));
    }
    auto gather = [&](const auto& dict, auto& vec) {
      const size_t start = vec.size();
      vec.resize(start + n);
      auto* dst = vec.data() + start;
      for (size_t i = 0; i < n; ++i) dst[i] = dict[indices_[i]];
    };
    switch (column_.physical) {
      case Type::kBoolean: gather(dictionary_.bools, out_->bools); break;
      case Type::kInt32: gather(dictionary_.i32, out_->i32); break;
      case Type::kInt64:
      case Type::kInt96: gather(dictionary_.i64, out_->i64); break;
      case Type::kFloat: gather(dictionary_.f32, out_->f32); break;
      case Type::kDouble: gather(dictionary_.f64, out_->f64); break;
      case Type::kByteArray:
      case Type::kFixedLenByteArray: {
        size_t bytes = 0;
        for (size_t i = 0; i < n; ++i) bytes += dictionary_.bytes.Get(indices_[i]).size();
        out_->bytes.Reserve(n, bytes);
        for (size_t i = 0; i < n; ++i) out_->bytes.Append(dictionary_.bytes.Get(indices_[i]));
        break;
      }
    }
    return absl::OkStatus();
  }

  const std::string& path_;
  const Column& column_;
  const ColumnMetaData& meta_;
  const int row_group_;
  const int64_t row_group_rows_;
  ColumnData* out_;
  bool have_dictionary_ = false;
  ColumnData dictionary_;
  std::string page_buffer_;
  std::vector<uint32_t> indices_;
};

}  // namespace

size_t ColumnData::num_values() const {
  return bools.size() + i32.size() + i64.size() + f32.size() + f64.size() + bytes.size();
}

size_t ColumnData::MemoryBytes() const {
  return def_levels.capacity() * 2 + rep_levels.capacity() * 2 + bools.capacity() +
         i32.capacity() * 4 + i64.capacity() * 8 + f32.capacity() * 4 + f64.capacity() * 8 +
         bytes.data_size() + bytes.size() * 8;
}

void ColumnData::Clear() {
  num_slots = 0;
  def_levels.clear();
  rep_levels.clear();
  bools.clear();
  i32.clear();
  i64.clear();
  f32.clear();
  f64.clear();
  bytes.Clear();
}

absl::StatusOr<std::unique_ptr<FileReader>> FileReader::Open(const std::string& path) {
  PANTRY_ASSIGN_OR_RETURN(auto file, OpenLocalFile(path));
  return Open(std::move(file));
}

absl::StatusOr<std::unique_ptr<FileReader>> FileReader::Open(
    std::unique_ptr<RandomAccessFile> file) {
  const std::string& path = file->path();
  const uint64_t size = file->size();
  if (size < 12) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a Parquet file (", size, " bytes, too short)"));
  }
  char tail[8];
  PANTRY_RETURN_IF_ERROR(file->ReadAt(size - 8, 8, tail));
  if (std::memcmp(tail + 4, kEncryptedMagic, 4) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": encrypted Parquet footers are not supported"));
  }
  char head[4];
  PANTRY_RETURN_IF_ERROR(file->ReadAt(0, 4, head));
  if (std::memcmp(tail + 4, kMagic, 4) != 0 || std::memcmp(head, kMagic, 4) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a Parquet file (no PAR1 magic at its start and end)"));
  }
  const uint32_t footer_len = LoadU32(reinterpret_cast<const uint8_t*>(tail));
  if (footer_len > size - 12) {
    return absl::DataLossError(absl::StrCat(path, ": footer length ", footer_len,
                                            " is larger than the file (", size, " bytes)"));
  }
  const uint64_t footer_offset = size - 8 - footer_len;
  std::string footer(footer_len, '\0');
  PANTRY_RETURN_IF_ERROR(file->ReadAt(footer_offset, footer_len, footer.data()));
  auto meta = ParseFileMetaData(footer);
  if (!meta.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": footer at byte offset ", footer_offset, ": ",
                                            meta.status().message()));
  }
  auto schema = Schema::FromMetadata(*meta);
  if (!schema.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": ", schema.status().message()));
  }
  const size_t leaves = schema->columns().size();
  if (meta->num_rows < 0) {
    return absl::DataLossError(absl::StrCat(path, ": negative row count ", meta->num_rows));
  }
  for (size_t g = 0; g < meta->row_groups.size(); ++g) {
    const RowGroup& rg = meta->row_groups[g];
    if (rg.num_rows < 0) {
      return absl::DataLossError(
          absl::StrCat(path, ": row group ", g, " has a negative row count"));
    }
    if (rg.columns.size() != leaves) {
      return absl::DataLossError(absl::StrCat(path, ": row group ", g, " has ", rg.columns.size(),
                                              " column chunks, the schema ", leaves, " columns"));
    }
    for (size_t c = 0; c < leaves; ++c) {
      const Column& column = schema->columns()[c];
      const ColumnChunk& chunk = rg.columns[c];
      const std::string where = absl::StrCat(path, ": column '", absl::StrJoin(column.path, "."),
                                             "', row group ", g);
      if (!chunk.meta_data) {
        return absl::DataLossError(absl::StrCat(where, ": no column metadata"));
      }
      if (chunk.file_path && !chunk.file_path->empty()) {
        return absl::UnimplementedError(
            absl::StrCat(where, ": column data in another file (", *chunk.file_path, ")"));
      }
      const ColumnMetaData& cm = *chunk.meta_data;
      if (cm.type != column.physical) {
        return absl::DataLossError(absl::StrCat(where, ": chunk type ", static_cast<int>(cm.type),
                                                " differs from the schema's"));
      }
      int64_t start = cm.data_page_offset;
      if (cm.dictionary_page_offset && *cm.dictionary_page_offset > 0) {
        start = std::min(start, *cm.dictionary_page_offset);
      }
      if (start < 4 || cm.total_compressed_size < 0 ||
          static_cast<uint64_t>(start) > footer_offset ||
          static_cast<uint64_t>(cm.total_compressed_size) > footer_offset - start) {
        return absl::DataLossError(absl::StrCat(where, ": byte range [", start, ", +",
                                                cm.total_compressed_size,
                                                ") lies outside the file's data"));
      }
    }
  }
  return std::unique_ptr<FileReader>(
      new FileReader(std::move(file), std::move(*meta), std::move(*schema)));
}

absl::Status FileReader::ReadColumn(int row_group, int column, ColumnData* out) const {
  out->Clear();
  if (row_group < 0 || row_group >= num_row_groups()) {
    return absl::OutOfRangeError(absl::StrCat(path(), ": no row group ", row_group));
  }
  if (column < 0 || static_cast<size_t>(column) >= schema_.columns().size()) {
    return absl::OutOfRangeError(absl::StrCat(path(), ": no column ", column));
  }
  const Column& col = schema_.columns()[column];
  if (!col.supported) {
    return absl::UnimplementedError(absl::StrCat(path(), ": ", col.unsupported_reason));
  }
  const RowGroup& rg = meta_.row_groups[row_group];
  const ColumnMetaData& cm = *rg.columns[column].meta_data;
  int64_t start = cm.data_page_offset;
  if (cm.dictionary_page_offset && *cm.dictionary_page_offset > 0) {
    start = std::min(start, *cm.dictionary_page_offset);
  }
  // Not zero-filled: every byte is read from the file before it is used.
  const size_t size = static_cast<size_t>(cm.total_compressed_size);
  std::unique_ptr<char[]> chunk(new char[std::max<size_t>(size, 1)]);
  PANTRY_RETURN_IF_ERROR(file_->ReadAt(static_cast<uint64_t>(start), size, chunk.get()));
  ChunkDecoder decoder(path(), col, cm, row_group, rg.num_rows, out);
  absl::Status s = decoder.Decode(reinterpret_cast<const uint8_t*>(chunk.get()), size,
                                  static_cast<uint64_t>(start));
  if (!s.ok()) out->Clear();
  return s;
}

std::optional<std::pair<int64_t, int64_t>> FileReader::TimeRangeMicros(int row_group,
                                                                      int column) const {
  if (row_group < 0 || row_group >= num_row_groups() || column < 0 ||
      static_cast<size_t>(column) >= schema_.columns().size()) {
    return std::nullopt;
  }
  const Column& col = schema_.columns()[column];
  const ColumnMetaData& cm = *meta_.row_groups[row_group].columns[column].meta_data;
  if (!cm.statistics || col.is_list) return std::nullopt;
  const Statistics& st = *cm.statistics;
  // min_value/max_value are in the column order; the deprecated min/max
  // are signed for these integer types, which is also their column order.
  const std::string* lo = st.min_value ? &*st.min_value : (st.min ? &*st.min : nullptr);
  const std::string* hi = st.max_value ? &*st.max_value : (st.max ? &*st.max : nullptr);
  if (lo == nullptr || hi == nullptr) return std::nullopt;
  auto to_micros = [&](const std::string& raw) -> std::optional<int64_t> {
    if (col.logical == Logical::kDate && col.physical == Type::kInt32 && raw.size() == 4) {
      int32_t days;
      std::memcpy(&days, raw.data(), 4);
      int64_t us;
      if (__builtin_mul_overflow(int64_t{days}, int64_t{86400} * 1000000, &us)) return std::nullopt;
      return us;
    }
    if (col.logical != Logical::kTimestamp) return std::nullopt;
    if (col.physical == Type::kInt64 && raw.size() == 8) {
      int64_t v;
      std::memcpy(&v, raw.data(), 8);
      // Floored, so a bound only widens; beyond the microsecond range
      // (ToMicros saturates) the bound is unknown.
      const int64_t us = ToMicros(v, col.unit);
      if (us == std::numeric_limits<int64_t>::min() || us == std::numeric_limits<int64_t>::max()) {
        return std::nullopt;
      }
      return us;
    }
    return std::nullopt;  // INT96 statistics have no defined order
  };
  auto a = to_micros(*lo);
  auto b = to_micros(*hi);
  if (!a || !b) return std::nullopt;
  return std::make_pair(*a, *b);
}

}  // namespace pantry::parquet
