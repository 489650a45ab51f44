#include "server/parquet/thrift.h"

#include <algorithm>
#include <bit>
#include <string>

#include "absl/strings/str_cat.h"

namespace pantry::parquet {
namespace {

uint64_t LoadLittleEndian64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

absl::string_view CompactTypeName(CompactType type) {
  switch (type) {
    case CompactType::kStop:
      return "stop";
    case CompactType::kBool:
      return "bool";
    case CompactType::kI8:
      return "i8";
    case CompactType::kI16:
      return "i16";
    case CompactType::kI32:
      return "i32";
    case CompactType::kI64:
      return "i64";
    case CompactType::kDouble:
      return "double";
    case CompactType::kBinary:
      return "binary";
    case CompactType::kList:
      return "list";
    case CompactType::kSet:
      return "set";
    case CompactType::kMap:
      return "map";
    case CompactType::kStruct:
      return "struct";
    case CompactType::kUuid:
      return "uuid";
  }
  return "unknown";
}

size_t MinEncodedSize(CompactType type) {
  switch (type) {
    case CompactType::kDouble:
      return 8;
    case CompactType::kUuid:
      return 16;
    default:
      // Every other value needs at least one byte: a bool element byte, a
      // varint, a length, a collection header, a struct's stop byte.
      return 1;
  }
}

// ---------------------------------------------------------------------------
// CompactReader

absl::Status CompactReader::ErrorAt(size_t offset, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(what, " at byte ", offset));
}

absl::Status CompactReader::TruncatedError(size_t offset, absl::string_view what) const {
  return absl::DataLossError(absl::StrCat("truncated ", what, " at byte ", offset,
                                          " (buffer ends at ", static_cast<size_t>(end_ - begin_),
                                          ")"));
}

absl::Status CompactReader::RangeError(size_t offset, const char* what) const {
  return absl::DataLossError(absl::StrCat(what, " out of range at byte ", offset));
}

absl::Status CompactReader::BadTypeError(size_t offset, uint8_t type, const char* what) const {
  return absl::DataLossError(absl::StrCat("invalid compact type ", static_cast<int>(type), " in ",
                                          what, " at byte ", offset));
}

absl::Status CompactReader::DepthError() const {
  return absl::DataLossError(
      absl::StrCat("nesting deeper than ", kMaxDepth, " levels at byte ", position()));
}

absl::Status CompactReader::ReadVarintSlow(size_t start, const char* what, uint64_t* value) {
  uint64_t result = 0;
  // Bounded by the buffer end and by kMaxVarintBytes, whichever comes first.
  const size_t limit = std::min<size_t>(remaining(), kMaxVarintBytes);
  for (size_t i = 0; i < limit; ++i) {
    const uint8_t byte = pos_[i];
    result |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      // The tenth byte holds bit 63 only; anything more does not fit.
      if (i == kMaxVarintBytes - 1 && byte > 1) {
        return absl::DataLossError(
            absl::StrCat("varint (", what, ") overflows 64 bits at byte ", start));
      }
      pos_ += i + 1;
      *value = result;
      return absl::OkStatus();
    }
  }
  if (limit == kMaxVarintBytes) {
    return absl::DataLossError(absl::StrCat("varint (", what, ") longer than ", kMaxVarintBytes,
                                            " bytes at byte ", start));
  }
  return TruncatedError(start, absl::StrCat("varint (", what, ")"));
}

absl::Status CompactReader::ReadBool(bool* value) {
  if (bool_pending_) {
    bool_pending_ = false;
    *value = bool_value_;
    return absl::OkStatus();
  }
  return ReadBoolByte(value);
}

absl::Status CompactReader::ReadBoolByte(bool* value) {
  if (pos_ == end_) return TruncatedError(position(), "bool");
  const uint8_t byte = *pos_;
  if (byte > 2)
    return ErrorAt(position(), absl::StrCat("invalid bool byte ", static_cast<int>(byte)));
  ++pos_;
  *value = byte == 1;
  return absl::OkStatus();
}

absl::Status CompactReader::ReadDouble(double* value) {
  if (remaining() < 8) return TruncatedError(position(), "double");
  *value = std::bit_cast<double>(LoadLittleEndian64(pos_));
  pos_ += 8;
  return absl::OkStatus();
}

absl::Status CompactReader::ReadBinary(absl::string_view* value) {
  const size_t start = position();
  uint64_t length;
  absl::Status s = ReadVarint(start, "binary length", &length);
  if (!s.ok()) return s;
  if (length > remaining()) {
    return absl::DataLossError(absl::StrCat("binary of length ", length, " at byte ", start,
                                            " exceeds the ", remaining(), " bytes left"));
  }
  *value = absl::string_view(reinterpret_cast<const char*>(pos_), static_cast<size_t>(length));
  pos_ += length;
  return absl::OkStatus();
}

absl::Status CompactReader::ReadUuid(absl::string_view* value) {
  if (remaining() < 16) return TruncatedError(position(), "uuid");
  *value = absl::string_view(reinterpret_cast<const char*>(pos_), 16);
  pos_ += 16;
  return absl::OkStatus();
}

absl::Status CompactReader::ElementType(uint8_t nibble, size_t offset, const char* what,
                                        CompactType* type) const {
  if (nibble == 0 || nibble > static_cast<uint8_t>(CompactType::kUuid)) {
    return BadTypeError(offset, nibble, what);
  }
  // Element type 2 is the spec's BOOL; libthrift's writers use 1.
  *type = nibble <= 2 ? CompactType::kBool : static_cast<CompactType>(nibble);
  return absl::OkStatus();
}

absl::Status CompactReader::ReadListOrSetBegin(ListHeader* header, const char* what) {
  const size_t start = position();
  if (pos_ == end_) return TruncatedError(start, what);
  const uint8_t byte = *pos_++;
  absl::Status s = ElementType(byte & 0x0f, start, what, &header->element_type);
  if (!s.ok()) return s;
  uint64_t size = byte >> 4;
  if (size == 15) {
    s = ReadVarint(start, what, &size);
    if (!s.ok()) return s;
    if (size > 0x7fffffff) return RangeError(start, what);
  }
  // Checked before anyone allocates: every element takes at least
  // MinEncodedSize bytes, so a size the rest of the buffer cannot hold is
  // corrupt (and must not turn into a huge reserve()).
  if (size > remaining() / MinEncodedSize(header->element_type)) {
    return absl::DataLossError(
        absl::StrCat(what, " of ", size, " ", CompactTypeName(header->element_type),
                     " elements at byte ", start, " exceeds the ", remaining(), " bytes left"));
  }
  header->size = static_cast<uint32_t>(size);
  return absl::OkStatus();
}

absl::Status CompactReader::ReadMapBegin(MapHeader* header) {
  const size_t start = position();
  uint64_t size;
  absl::Status s = ReadVarint(start, "map size", &size);
  if (!s.ok()) return s;
  if (size == 0) {
    header->key_type = CompactType::kStop;
    header->value_type = CompactType::kStop;
    header->size = 0;
    return absl::OkStatus();
  }
  if (size > 0x7fffffff) return RangeError(start, "map size");
  if (pos_ == end_) return TruncatedError(start, "map header");
  const uint8_t types = *pos_++;
  s = ElementType(types >> 4, start, "map key type", &header->key_type);
  if (!s.ok()) return s;
  s = ElementType(types & 0x0f, start, "map value type", &header->value_type);
  if (!s.ok()) return s;
  const size_t entry_size = MinEncodedSize(header->key_type) + MinEncodedSize(header->value_type);
  if (size > remaining() / entry_size) {
    return absl::DataLossError(absl::StrCat("map of ", size, " entries at byte ", start,
                                            " exceeds the ", remaining(), " bytes left"));
  }
  header->size = static_cast<uint32_t>(size);
  return absl::OkStatus();
}

absl::Status CompactReader::Skip(CompactType type) {
  if (type == CompactType::kBool && bool_pending_) {
    bool_pending_ = false;
    return absl::OkStatus();
  }
  return SkipValue(type, depth_ + 1);
}

absl::Status CompactReader::SkipElements(CompactType type, uint32_t count, int level) {
  // Fixed-size elements are skipped in one step; their total was already
  // checked against the bytes left by the header reader.
  switch (type) {
    case CompactType::kI8:
      pos_ += count;
      return absl::OkStatus();
    case CompactType::kDouble:
      pos_ += static_cast<size_t>(count) * 8;
      return absl::OkStatus();
    case CompactType::kUuid:
      pos_ += static_cast<size_t>(count) * 16;
      return absl::OkStatus();
    default:
      break;
  }
  for (uint32_t i = 0; i < count; ++i) {
    absl::Status s = SkipValue(type, level);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CompactReader::SkipValue(CompactType type, int level) {
  switch (type) {
    case CompactType::kBool: {
      bool ignored;
      return ReadBoolByte(&ignored);  // an element: field bools never get here
    }
    case CompactType::kI8: {
      int8_t ignored;
      return ReadI8(&ignored);
    }
    case CompactType::kI16: {
      int16_t ignored;
      return ReadI16(&ignored);
    }
    case CompactType::kI32: {
      int32_t ignored;
      return ReadI32(&ignored);
    }
    case CompactType::kI64: {
      int64_t ignored;
      return ReadI64(&ignored);
    }
    case CompactType::kDouble: {
      double ignored;
      return ReadDouble(&ignored);
    }
    case CompactType::kBinary: {
      absl::string_view ignored;
      return ReadBinary(&ignored);
    }
    case CompactType::kUuid: {
      absl::string_view ignored;
      return ReadUuid(&ignored);
    }
    case CompactType::kList:
    case CompactType::kSet: {
      if (level > kMaxDepth) return DepthError();
      ListHeader header;
      absl::Status s = ReadListOrSetBegin(&header, type == CompactType::kList ? "list" : "set");
      if (!s.ok()) return s;
      return SkipElements(header.element_type, header.size, level + 1);
    }
    case CompactType::kMap: {
      if (level > kMaxDepth) return DepthError();
      MapHeader header;
      absl::Status s = ReadMapBegin(&header);
      if (!s.ok()) return s;
      for (uint32_t i = 0; i < header.size; ++i) {
        s = SkipValue(header.key_type, level + 1);
        if (!s.ok()) return s;
        s = SkipValue(header.value_type, level + 1);
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    }
    case CompactType::kStruct: {
      if (level > kMaxDepth) return DepthError();
      // Field ids do not matter when skipping, so the id stack is left alone;
      // only the long form's id varint has to be consumed.
      while (true) {
        const size_t start = position();
        if (pos_ == end_) return TruncatedError(start, "field header");
        const uint8_t byte = *pos_++;
        const uint8_t field_type = byte & 0x0f;
        if (field_type == 0) return absl::OkStatus();
        if (field_type > static_cast<uint8_t>(CompactType::kUuid)) {
          return BadTypeError(start, field_type, "field header");
        }
        if ((byte >> 4) == 0) {
          int16_t ignored;
          absl::Status s = ReadI16(&ignored);
          if (!s.ok()) return s;
        }
        if (field_type <= 2) continue;  // bool field: the value is the type nibble
        absl::Status s = SkipValue(static_cast<CompactType>(field_type), level + 1);
        if (!s.ok()) return s;
      }
    }
    case CompactType::kStop:
      break;
  }
  return ErrorAt(position(), "cannot skip a value of type stop");
}

// ---------------------------------------------------------------------------
// CompactWriter

void CompactWriter::WriteStructBegin() {
  field_id_stack_.push_back(last_field_id_);
  last_field_id_ = 0;
}

void CompactWriter::WriteStructEnd() {
  out_->push_back('\0');
  if (!field_id_stack_.empty()) {
    last_field_id_ = field_id_stack_.back();
    field_id_stack_.pop_back();
  }
}

void CompactWriter::WriteFieldHeaderByte(int16_t id, uint8_t type) {
  const int delta = static_cast<int>(id) - static_cast<int>(last_field_id_);
  if (delta > 0 && delta <= 15) {
    out_->push_back(static_cast<char>((delta << 4) | type));
  } else {
    out_->push_back(static_cast<char>(type));
    WriteI16(id);
  }
  last_field_id_ = id;
}

void CompactWriter::WriteFieldHeader(int16_t id, CompactType type) {
  WriteFieldHeaderByte(id, static_cast<uint8_t>(type));
}

void CompactWriter::WriteBoolField(int16_t id, bool value) {
  WriteFieldHeaderByte(id, value ? 1 : 2);
}

void CompactWriter::WriteDouble(double value) {
  uint64_t bits = std::bit_cast<uint64_t>(value);
  char bytes[8];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>(bits & 0xff);
    bits >>= 8;
  }
  out_->append(bytes, 8);
}

void CompactWriter::WriteBinary(absl::string_view value) {
  WriteVarint(value.size());
  out_->append(value.data(), value.size());
}

void CompactWriter::WriteUuid(absl::string_view value) {
  const size_t n = std::min<size_t>(value.size(), 16);
  out_->append(value.data(), n);
  out_->append(16 - n, '\0');
}

void CompactWriter::WriteCollectionHeader(CompactType element_type, uint32_t size) {
  // The spec's element type for bool is 2 (1 is a field's "true").
  const uint8_t type = element_type == CompactType::kBool ? 2 : static_cast<uint8_t>(element_type);
  if (size < 15) {
    out_->push_back(static_cast<char>((size << 4) | type));
  } else {
    out_->push_back(static_cast<char>(0xf0 | type));
    WriteVarint(size);
  }
}

void CompactWriter::WriteListHeader(CompactType element_type, uint32_t size) {
  WriteCollectionHeader(element_type, size);
}

void CompactWriter::WriteSetHeader(CompactType element_type, uint32_t size) {
  WriteCollectionHeader(element_type, size);
}

void CompactWriter::WriteMapHeader(CompactType key_type, CompactType value_type, uint32_t size) {
  WriteVarint(size);
  if (size == 0) return;
  auto nibble = [](CompactType t) {
    return t == CompactType::kBool ? uint8_t{2} : static_cast<uint8_t>(t);
  };
  out_->push_back(static_cast<char>((nibble(key_type) << 4) | nibble(value_type)));
}

}  // namespace pantry::parquet
