// The Thrift compact protocol (doc/specs/thrift-compact-protocol.md of
// apache/thrift), as much of it as Parquet metadata needs: a reader over a
// byte buffer and a writer appending to a string. Written for Pantry; no
// libthrift. Messages (RPC envelopes) are not supported, only structs.
//
// Encoding summary: a struct is a sequence of fields, each a header byte
// `ddddtttt` (field id delta 1..15 from the previous field of the same struct,
// compact type) or `0000tttt` followed by the zigzag-varint id, and ends with
// a stop byte 0x00. Bool fields carry their value in the type nibble (1 true,
// 2 false); bools inside lists, sets and maps are one byte each. i16/i32/i64
// are zigzag varints, i8 one raw byte, double 8 bytes little endian, binary a
// varint length and the bytes. Lists/sets start with `sssstttt` (size 0..14)
// or `1111tttt` followed by a varint size; maps with a varint size and, when
// non-empty, a `kkkkvvvv` byte.
//
// Thread safety: a reader or writer is used by one thread at a time; distinct
// objects share nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pantry::parquet {

// Compact-protocol type ids. On input, field type nibble 2 (BOOLEAN_FALSE)
// and element type 2 both read as kBool; the value of a bool field is
// returned by CompactReader::ReadBool.
enum class CompactType : uint8_t {
  kStop = 0,
  kBool = 1,
  kI8 = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,  // also strings
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,  // also unions
  kUuid = 13,    // 16 raw bytes
};

// A short lower-case name ("i32", "struct", ...) for error messages.
absl::string_view CompactTypeName(CompactType type);

// The smallest number of bytes one value of `type` occupies as a list, set or
// map element (1 for most, 8 for double, 16 for uuid).
size_t MinEncodedSize(CompactType type);

struct FieldHeader {
  int16_t id = 0;
  CompactType type = CompactType::kStop;  // kStop: the struct has no more fields
};

// Header of a list or a set.
struct ListHeader {
  CompactType element_type = CompactType::kStop;
  uint32_t size = 0;
};

struct MapHeader {
  CompactType key_type = CompactType::kStop;  // kStop when size is 0
  CompactType value_type = CompactType::kStop;
  uint32_t size = 0;
};

// Decodes compact-protocol values from a buffer the caller owns and keeps
// alive while the reader and any string_view it returned are in use.
//
// Every Read* returns OK or DataLoss; a DataLoss message says what was being
// read and the byte offset (from the start of the buffer) where that item
// began, e.g. "truncated varint (i32) at byte 17". After an error the reader's
// position is unspecified; stop using it. Nothing is read outside the buffer.
//
// Usage for a struct:
//   ReadStructBegin(); loop { ReadFieldBegin(&f); if f.type == kStop break;
//   read the value by f.id/f.type, or Skip(f.type); } ReadStructEnd();
class CompactReader {
 public:
  // Structs (ReadStructBegin) plus containers being skipped may nest this deep.
  static constexpr int kMaxDepth = 64;
  // A 64-bit varint never needs more than 10 bytes.
  static constexpr int kMaxVarintBytes = 10;

  explicit CompactReader(absl::string_view data)
      : begin_(reinterpret_cast<const uint8_t*>(data.data())),
        pos_(begin_),
        end_(begin_ + data.size()) {}

  CompactReader(const CompactReader&) = delete;
  CompactReader& operator=(const CompactReader&) = delete;

  // Bytes consumed so far, i.e. the offset of the next byte to read.
  size_t position() const { return static_cast<size_t>(pos_ - begin_); }
  size_t remaining() const { return static_cast<size_t>(end_ - pos_); }
  // Number of structs begun and not yet ended.
  int depth() const { return depth_; }

  // Enters a struct: field id deltas restart from 0. DataLoss when more than
  // kMaxDepth structs would be open.
  absl::Status ReadStructBegin() {
    if (ABSL_PREDICT_FALSE(depth_ >= kMaxDepth)) return DepthError();
    field_id_stack_[depth_++] = last_field_id_;
    last_field_id_ = 0;
    return absl::OkStatus();
  }

  // Leaves the struct entered by the matching ReadStructBegin (call it after
  // ReadFieldBegin returned kStop). Without an open struct it does nothing.
  void ReadStructEnd() {
    if (depth_ > 0) last_field_id_ = field_id_stack_[--depth_];
  }

  // Reads a field header (short delta form or long form) or the stop byte
  // (then field->type is kStop and field->id 0). For a bool field the value
  // is held for the next ReadBool or Skip(kBool). DataLoss on a truncated
  // header, an unknown type nibble or an out-of-range long-form id.
  absl::Status ReadFieldBegin(FieldHeader* field) {
    if (ABSL_PREDICT_FALSE(pos_ == end_)) return TruncatedError(position(), "field header");
    const uint8_t byte = *pos_;
    const uint8_t type = byte & 0x0f;
    const uint8_t delta = byte >> 4;
    bool_pending_ = false;
    if (type == 0) {  // stop; like libthrift, the delta nibble is ignored
      ++pos_;
      field->id = 0;
      field->type = CompactType::kStop;
      return absl::OkStatus();
    }
    if (ABSL_PREDICT_FALSE(type > static_cast<uint8_t>(CompactType::kUuid))) {
      return BadTypeError(position(), type, "field header");
    }
    if (ABSL_PREDICT_TRUE(delta != 0)) {
      ++pos_;
      field->id = static_cast<int16_t>(last_field_id_ + delta);
    } else {
      const size_t start = position();
      ++pos_;
      uint64_t zigzag;
      absl::Status s = ReadVarint(start, "field id", &zigzag);
      if (ABSL_PREDICT_FALSE(!s.ok())) return s;
      if (ABSL_PREDICT_FALSE(zigzag > 0xffff)) return RangeError(start, "field id");
      field->id = static_cast<int16_t>(UnZigZag(zigzag));
    }
    last_field_id_ = field->id;
    if (type <= 2) {
      bool_pending_ = true;
      bool_value_ = type == 1;
      field->type = CompactType::kBool;
    } else {
      field->type = static_cast<CompactType>(type);
    }
    return absl::OkStatus();
  }

  // A bool field's value (held by ReadFieldBegin), otherwise one element byte:
  // 1 is true, 0 or 2 false (the spec writes 0, libthrift 2), others DataLoss.
  absl::Status ReadBool(bool* value);

  absl::Status ReadI8(int8_t* value) {
    if (ABSL_PREDICT_FALSE(pos_ == end_)) return TruncatedError(position(), "i8");
    *value = static_cast<int8_t>(*pos_++);
    return absl::OkStatus();
  }

  absl::Status ReadI16(int16_t* value) {
    const size_t start = position();
    uint64_t zigzag;
    absl::Status s = ReadVarint(start, "i16", &zigzag);
    if (ABSL_PREDICT_FALSE(!s.ok())) return s;
    if (ABSL_PREDICT_FALSE(zigzag > 0xffff)) return RangeError(start, "i16");
    *value = static_cast<int16_t>(UnZigZag(zigzag));
    return absl::OkStatus();
  }

  absl::Status ReadI32(int32_t* value) {
    const size_t start = position();
    uint64_t zigzag;
    absl::Status s = ReadVarint(start, "i32", &zigzag);
    if (ABSL_PREDICT_FALSE(!s.ok())) return s;
    if (ABSL_PREDICT_FALSE(zigzag > 0xffffffffu)) return RangeError(start, "i32");
    *value = static_cast<int32_t>(UnZigZag(zigzag));
    return absl::OkStatus();
  }

  absl::Status ReadI64(int64_t* value) {
    uint64_t zigzag;
    absl::Status s = ReadVarint(position(), "i64", &zigzag);
    if (ABSL_PREDICT_FALSE(!s.ok())) return s;
    *value = UnZigZag(zigzag);
    return absl::OkStatus();
  }

  // Eight bytes, little endian IEEE 754.
  absl::Status ReadDouble(double* value);

  // A varint length and that many bytes; `*value` points into the buffer.
  // DataLoss when the length exceeds the bytes left.
  absl::Status ReadBinary(absl::string_view* value);

  // Sixteen raw bytes; `*value` points into the buffer.
  absl::Status ReadUuid(absl::string_view* value);

  // List (or set) header. On OK, `size * MinEncodedSize(element_type)` does
  // not exceed remaining(), so reserving `size` elements is bounded by the
  // input length. DataLoss on a bad element type or a size the bytes left
  // cannot hold.
  absl::Status ReadListBegin(ListHeader* header) { return ReadListOrSetBegin(header, "list"); }
  absl::Status ReadSetBegin(ListHeader* header) { return ReadListOrSetBegin(header, "set"); }

  // Map header, checked like ReadListBegin against the key and value sizes.
  absl::Status ReadMapBegin(MapHeader* header);

  // Skips one value of `type`, including nested structs, lists, sets and maps
  // (each counts one level towards kMaxDepth). Skip(kBool) right after a bool
  // field header consumes nothing. DataLoss on malformed or too deep data.
  absl::Status Skip(CompactType type);

  // A DataLoss status "<what> at byte <offset>", for callers that detect bad
  // values (negative sizes, missing fields) in what they decoded.
  static absl::Status ErrorAt(size_t offset, absl::string_view what);

 private:
  static int64_t UnZigZag(uint64_t n) {
    return static_cast<int64_t>(n >> 1) ^ -static_cast<int64_t>(n & 1);
  }

  // Reads an unsigned LEB128 varint that began at `start`; one-byte values
  // (the common case in Parquet metadata) take the inline path.
  absl::Status ReadVarint(size_t start, const char* what, uint64_t* value) {
    if (ABSL_PREDICT_TRUE(pos_ != end_ && *pos_ < 0x80)) {
      *value = *pos_++;
      return absl::OkStatus();
    }
    return ReadVarintSlow(start, what, value);
  }
  absl::Status ReadVarintSlow(size_t start, const char* what, uint64_t* value);

  absl::Status ReadListOrSetBegin(ListHeader* header, const char* what);
  // One bool element byte, ignoring any bool held from a field header.
  absl::Status ReadBoolByte(bool* value);
  // Reads a list/set/map element type nibble; kBool for 1 and 2.
  absl::Status ElementType(uint8_t nibble, size_t offset, const char* what,
                           CompactType* type) const;
  // Skips a value nested `level` deep (1 = a direct child of the open struct).
  absl::Status SkipValue(CompactType type, int level);
  absl::Status SkipElements(CompactType type, uint32_t count, int level);

  // Out-of-line error builders keep the inline paths small.
  absl::Status TruncatedError(size_t offset, absl::string_view what) const;
  absl::Status RangeError(size_t offset, const char* what) const;
  absl::Status BadTypeError(size_t offset, uint8_t type, const char* what) const;
  absl::Status DepthError() const;

  const uint8_t* begin_;
  const uint8_t* pos_;
  const uint8_t* end_;
  int depth_ = 0;
  int16_t last_field_id_ = 0;
  bool bool_pending_ = false;
  bool bool_value_ = false;
  int16_t field_id_stack_[kMaxDepth];
};

// Appends compact-protocol values to a string the caller owns (and keeps
// alive while the writer is used). Writing cannot fail; the caller is
// responsible for a well-formed sequence (begin/end pairs, list sizes that
// match the elements written).
class CompactWriter {
 public:
  explicit CompactWriter(std::string* out) : out_(out) {}

  CompactWriter(const CompactWriter&) = delete;
  CompactWriter& operator=(const CompactWriter&) = delete;

  // A struct's fields are written between these; field id deltas restart from
  // 0 inside and resume after. StructEnd writes the stop byte.
  void WriteStructBegin();
  void WriteStructEnd();

  // A field header: the short form when the id is 1..15 above the previous
  // field of the struct, the long form otherwise. Not for bools (`type` must
  // not be kBool or kStop): use WriteBoolField.
  void WriteFieldHeader(int16_t id, CompactType type);
  // A bool field: the value is the type nibble (1 true, 2 false).
  void WriteBoolField(int16_t id, bool value);

  // Values, used after a field header or as list/set/map elements.
  void WriteBool(bool value) { out_->push_back(value ? '\x01' : '\x00'); }  // elements only
  void WriteI8(int8_t value) { out_->push_back(static_cast<char>(value)); }
  void WriteI16(int16_t value) { WriteVarint(ZigZag(value)); }
  void WriteI32(int32_t value) { WriteVarint(ZigZag(value)); }
  void WriteI64(int64_t value) { WriteVarint(ZigZag(value)); }
  void WriteDouble(double value);
  void WriteBinary(absl::string_view value);
  void WriteUuid(absl::string_view value);  // must be 16 bytes; shorter is zero-padded

  // Element type kBool is written as 2 (as the spec says; readers accept 1).
  void WriteListHeader(CompactType element_type, uint32_t size);
  void WriteSetHeader(CompactType element_type, uint32_t size);
  void WriteMapHeader(CompactType key_type, CompactType value_type, uint32_t size);

  // Header plus value.
  void WriteI8Field(int16_t id, int8_t value) {
    WriteFieldHeader(id, CompactType::kI8);
    WriteI8(value);
  }
  void WriteI16Field(int16_t id, int16_t value) {
    WriteFieldHeader(id, CompactType::kI16);
    WriteI16(value);
  }
  void WriteI32Field(int16_t id, int32_t value) {
    WriteFieldHeader(id, CompactType::kI32);
    WriteI32(value);
  }
  void WriteI64Field(int16_t id, int64_t value) {
    WriteFieldHeader(id, CompactType::kI64);
    WriteI64(value);
  }
  void WriteDoubleField(int16_t id, double value) {
    WriteFieldHeader(id, CompactType::kDouble);
    WriteDouble(value);
  }
  void WriteBinaryField(int16_t id, absl::string_view value) {
    WriteFieldHeader(id, CompactType::kBinary);
    WriteBinary(value);
  }

  // Appends an unsigned LEB128 varint.
  void WriteVarint(uint64_t value) {
    while (value >= 0x80) {
      out_->push_back(static_cast<char>((value & 0x7f) | 0x80));
      value >>= 7;
    }
    out_->push_back(static_cast<char>(value));
  }

 private:
  static uint64_t ZigZag(int64_t n) {
    return (static_cast<uint64_t>(n) << 1) ^ static_cast<uint64_t>(n >> 63);
  }
  void WriteCollectionHeader(CompactType element_type, uint32_t size);
  void WriteFieldHeaderByte(int16_t id, uint8_t type);

  std::string* out_;
  int16_t last_field_id_ = 0;
  std::vector<int16_t> field_id_stack_;
};

}  // namespace pantry::parquet
