// Parquet metadata encoding (server/parquet/metadata.h): field ids as in
// apache/parquet-format's parquet.thrift, required fields, hostile input.
#include "server/parquet/metadata.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/parquet/thrift.h"

namespace pantry::parquet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// ---------------------------------------------------------------------------
// Field-by-field comparison (the structs have no operator==).

void ExpectStatisticsEq(const Statistics& a, const Statistics& b) {
  EXPECT_EQ(a.max, b.max);
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.null_count, b.null_count);
  EXPECT_EQ(a.distinct_count, b.distinct_count);
  EXPECT_EQ(a.max_value, b.max_value);
  EXPECT_EQ(a.min_value, b.min_value);
  EXPECT_EQ(a.is_max_value_exact, b.is_max_value_exact);
  EXPECT_EQ(a.is_min_value_exact, b.is_min_value_exact);
}

void ExpectOptionalStatisticsEq(const std::optional<Statistics>& a,
                                const std::optional<Statistics>& b) {
  ASSERT_EQ(a.has_value(), b.has_value());
  if (a) ExpectStatisticsEq(*a, *b);
}

void ExpectKeyValuesEq(const std::vector<KeyValue>& a, const std::vector<KeyValue>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].key, b[i].key);
    EXPECT_EQ(a[i].value, b[i].value);
  }
}

void ExpectLogicalTypeEq(const LogicalType& a, const LogicalType& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.other_id, b.other_id);
  EXPECT_EQ(a.scale, b.scale);
  EXPECT_EQ(a.precision, b.precision);
  EXPECT_EQ(a.is_adjusted_to_utc, b.is_adjusted_to_utc);
  EXPECT_EQ(a.unit, b.unit);
  EXPECT_EQ(a.bit_width, b.bit_width);
  EXPECT_EQ(a.is_signed, b.is_signed);
}

void ExpectSchemaElementEq(const SchemaElement& a, const SchemaElement& b) {
  SCOPED_TRACE(a.name);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.type_length, b.type_length);
  EXPECT_EQ(a.repetition_type, b.repetition_type);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.num_children, b.num_children);
  EXPECT_EQ(a.converted_type, b.converted_type);
  EXPECT_EQ(a.scale, b.scale);
  EXPECT_EQ(a.precision, b.precision);
  EXPECT_EQ(a.field_id, b.field_id);
  ASSERT_EQ(a.logical_type.has_value(), b.logical_type.has_value());
  if (a.logical_type) ExpectLogicalTypeEq(*a.logical_type, *b.logical_type);
}

void ExpectColumnMetaDataEq(const ColumnMetaData& a, const ColumnMetaData& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.encodings, b.encodings);
  EXPECT_EQ(a.path_in_schema, b.path_in_schema);
  EXPECT_EQ(a.codec, b.codec);
  EXPECT_EQ(a.num_values, b.num_values);
  EXPECT_EQ(a.total_uncompressed_size, b.total_uncompressed_size);
  EXPECT_EQ(a.total_compressed_size, b.total_compressed_size);
  ExpectKeyValuesEq(a.key_value_metadata, b.key_value_metadata);
  EXPECT_EQ(a.data_page_offset, b.data_page_offset);
  EXPECT_EQ(a.index_page_offset, b.index_page_offset);
  EXPECT_EQ(a.dictionary_page_offset, b.dictionary_page_offset);
  ExpectOptionalStatisticsEq(a.statistics, b.statistics);
}

void ExpectFileMetaDataEq(const FileMetaData& a, const FileMetaData& b) {
  EXPECT_EQ(a.version, b.version);
  ASSERT_EQ(a.schema.size(), b.schema.size());
  for (size_t i = 0; i < a.schema.size(); ++i) ExpectSchemaElementEq(a.schema[i], b.schema[i]);
  EXPECT_EQ(a.num_rows, b.num_rows);
  ASSERT_EQ(a.row_groups.size(), b.row_groups.size());
  for (size_t g = 0; g < a.row_groups.size(); ++g) {
    const RowGroup& ga = a.row_groups[g];
    const RowGroup& gb = b.row_groups[g];
    EXPECT_EQ(ga.total_byte_size, gb.total_byte_size);
    EXPECT_EQ(ga.num_rows, gb.num_rows);
    EXPECT_EQ(ga.file_offset, gb.file_offset);
    EXPECT_EQ(ga.total_compressed_size, gb.total_compressed_size);
    EXPECT_EQ(ga.ordinal, gb.ordinal);
    ASSERT_EQ(ga.columns.size(), gb.columns.size());
    for (size_t c = 0; c < ga.columns.size(); ++c) {
      EXPECT_EQ(ga.columns[c].file_path, gb.columns[c].file_path);
      EXPECT_EQ(ga.columns[c].file_offset, gb.columns[c].file_offset);
      ASSERT_EQ(ga.columns[c].meta_data.has_value(), gb.columns[c].meta_data.has_value());
      if (ga.columns[c].meta_data) {
        ExpectColumnMetaDataEq(*ga.columns[c].meta_data, *gb.columns[c].meta_data);
      }
    }
  }
  ExpectKeyValuesEq(a.key_value_metadata, b.key_value_metadata);
  EXPECT_EQ(a.created_by, b.created_by);
  EXPECT_EQ(a.column_orders_type_defined, b.column_orders_type_defined);
}

void ExpectPageHeaderEq(const PageHeader& a, const PageHeader& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.uncompressed_page_size, b.uncompressed_page_size);
  EXPECT_EQ(a.compressed_page_size, b.compressed_page_size);
  EXPECT_EQ(a.crc, b.crc);
  ASSERT_EQ(a.data_page_header.has_value(), b.data_page_header.has_value());
  if (a.data_page_header) {
    const DataPageHeader& x = *a.data_page_header;
    const DataPageHeader& y = *b.data_page_header;
    EXPECT_EQ(x.num_values, y.num_values);
    EXPECT_EQ(x.encoding, y.encoding);
    EXPECT_EQ(x.definition_level_encoding, y.definition_level_encoding);
    EXPECT_EQ(x.repetition_level_encoding, y.repetition_level_encoding);
    ExpectOptionalStatisticsEq(x.statistics, y.statistics);
  }
  ASSERT_EQ(a.dictionary_page_header.has_value(), b.dictionary_page_header.has_value());
  if (a.dictionary_page_header) {
    EXPECT_EQ(a.dictionary_page_header->num_values, b.dictionary_page_header->num_values);
    EXPECT_EQ(a.dictionary_page_header->encoding, b.dictionary_page_header->encoding);
    EXPECT_EQ(a.dictionary_page_header->is_sorted, b.dictionary_page_header->is_sorted);
  }
  ASSERT_EQ(a.data_page_header_v2.has_value(), b.data_page_header_v2.has_value());
  if (a.data_page_header_v2) {
    const DataPageHeaderV2& x = *a.data_page_header_v2;
    const DataPageHeaderV2& y = *b.data_page_header_v2;
    EXPECT_EQ(x.num_values, y.num_values);
    EXPECT_EQ(x.num_nulls, y.num_nulls);
    EXPECT_EQ(x.num_rows, y.num_rows);
    EXPECT_EQ(x.encoding, y.encoding);
    EXPECT_EQ(x.definition_levels_byte_length, y.definition_levels_byte_length);
    EXPECT_EQ(x.repetition_levels_byte_length, y.repetition_levels_byte_length);
    EXPECT_EQ(x.is_compressed, y.is_compressed);
    ExpectOptionalStatisticsEq(x.statistics, y.statistics);
  }
}

// ---------------------------------------------------------------------------
// Samples.

Statistics FullStatistics() {
  Statistics s;
  s.max = std::string("\xff\x00\x01", 3);
  s.min = "";
  s.null_count = 3;
  s.distinct_count = 1LL << 40;
  s.max_value = "zzz";
  s.min_value = "aaa";
  s.is_max_value_exact = true;
  s.is_min_value_exact = false;
  return s;
}

SchemaElement Leaf(std::string name, Type type, LogicalType::Kind kind) {
  SchemaElement e;
  e.name = std::move(name);
  e.type = type;
  e.repetition_type = Repetition::kOptional;
  LogicalType lt;
  lt.kind = kind;
  e.logical_type = lt;
  return e;
}

// A FileMetaData with every modelled field set, every LogicalType member
// used, and values that need multi-byte varints and long-form headers.
FileMetaData FullFileMetaData() {
  FileMetaData m;
  m.version = 2;
  SchemaElement root;
  root.name = "schema";
  root.num_children = 0;  // fixed below
  m.schema.push_back(root);

  using Kind = LogicalType::Kind;
  SchemaElement s = Leaf("s", Type::kByteArray, Kind::kString);
  s.converted_type = ConvertedType::kUtf8;
  s.field_id = -7;
  m.schema.push_back(s);
  SchemaElement dec = Leaf("dec", Type::kFixedLenByteArray, Kind::kDecimal);
  dec.type_length = 16;
  dec.converted_type = ConvertedType::kDecimal;
  dec.scale = 4;
  dec.precision = 38;
  dec.logical_type->scale = 4;
  dec.logical_type->precision = 38;
  dec.repetition_type = Repetition::kRequired;
  m.schema.push_back(dec);
  SchemaElement time = Leaf("time", Type::kInt64, Kind::kTime);
  time.logical_type->is_adjusted_to_utc = true;
  time.logical_type->unit = TimeUnit::kNanos;
  m.schema.push_back(time);
  SchemaElement ts = Leaf("ts", Type::kInt64, Kind::kTimestamp);
  ts.logical_type->is_adjusted_to_utc = false;
  ts.logical_type->unit = TimeUnit::kMillis;
  m.schema.push_back(ts);
  SchemaElement ts2 = Leaf("ts2", Type::kInt64, Kind::kTimestamp);
  ts2.logical_type->is_adjusted_to_utc = true;
  ts2.logical_type->unit = TimeUnit::kMicros;
  m.schema.push_back(ts2);
  SchemaElement u8 = Leaf("u8", Type::kInt32, Kind::kInteger);
  u8.logical_type->bit_width = 8;
  u8.logical_type->is_signed = false;
  u8.converted_type = ConvertedType::kUint8;
  m.schema.push_back(u8);
  SchemaElement i64 = Leaf("i64", Type::kInt64, Kind::kInteger);
  i64.logical_type->bit_width = 64;
  i64.logical_type->is_signed = true;
  m.schema.push_back(i64);
  for (Kind k : {Kind::kEnum, Kind::kDate, Kind::kUnknown, Kind::kJson, Kind::kBson, Kind::kUuid,
                 Kind::kFloat16}) {
    m.schema.push_back(Leaf(absl::StrCat("k", static_cast<int>(k)), Type::kByteArray, k));
  }
  SchemaElement other = Leaf("variant", Type::kByteArray, Kind::kOther);
  other.logical_type->other_id = 16;
  m.schema.push_back(other);
  SchemaElement plain;  // no logical type, repeated
  plain.name = "plain";
  plain.type = Type::kDouble;
  plain.repetition_type = Repetition::kRepeated;
  m.schema.push_back(plain);
  // A LIST group and a MAP group with children.
  SchemaElement list = Leaf("list", Type::kInt32, Kind::kList);
  list.type.reset();
  list.num_children = 1;
  list.converted_type = ConvertedType::kList;
  m.schema.push_back(list);
  SchemaElement element;
  element.name = "element";
  element.type = Type::kInt96;
  element.repetition_type = Repetition::kRepeated;
  m.schema.push_back(element);
  SchemaElement map = Leaf("map", Type::kInt32, Kind::kMap);
  map.type.reset();
  map.num_children = 1;
  m.schema.push_back(map);
  SchemaElement kv;
  kv.name = "key_value";
  kv.type = Type::kBoolean;
  kv.repetition_type = Repetition::kRepeated;
  m.schema.push_back(kv);
  m.schema[0].num_children = 18;

  m.num_rows = 123456789012LL;
  for (int g = 0; g < 2; ++g) {
    RowGroup group;
    group.num_rows = 1000 + g;
    group.total_byte_size = 1 << 20;
    group.file_offset = 4 + g;
    group.total_compressed_size = 99999;
    group.ordinal = static_cast<int16_t>(g);
    ColumnChunk full;
    full.file_path = "other.parquet";
    full.file_offset = 77;
    ColumnMetaData& md = full.meta_data.emplace();
    md.type = Type::kByteArray;
    md.encodings = {Encoding::kPlain, Encoding::kRle, Encoding::kRleDictionary,
                    Encoding::kDeltaByteArray};
    md.path_in_schema = {"s"};
    md.codec = Codec::kZstd;
    md.num_values = 1000;
    md.total_uncompressed_size = 5000000000LL;
    md.total_compressed_size = 300;
    md.key_value_metadata = {{"k1", "v1"}, {"k2", std::nullopt}};
    md.data_page_offset = 4;
    md.index_page_offset = 8;
    md.dictionary_page_offset = 1;
    md.statistics = FullStatistics();
    group.columns.push_back(full);
    ColumnChunk minimal;  // no file_path, no optional metadata fields
    ColumnMetaData& mm = minimal.meta_data.emplace();
    mm.type = Type::kInt32;
    mm.encodings = {Encoding::kPlain};
    mm.path_in_schema = {"list", "element"};
    mm.codec = Codec::kUncompressed;
    mm.data_page_offset = 1234;
    group.columns.push_back(minimal);
    group.columns.push_back(ColumnChunk{});  // no meta_data at all
    m.row_groups.push_back(group);
  }
  m.key_value_metadata = {{"pantry.version", "1"}, {"empty", ""}, {"novalue", std::nullopt}};
  m.created_by = "pantry version 0.1.0";
  m.column_orders_type_defined = std::vector<bool>{true, false, true};
  return m;
}

std::vector<PageHeader> SamplePageHeaders() {
  std::vector<PageHeader> headers;
  PageHeader v1;
  v1.type = PageType::kDataPage;
  v1.uncompressed_page_size = 100000;
  v1.compressed_page_size = 5000;
  v1.crc = -123456789;
  DataPageHeader& d = v1.data_page_header.emplace();
  d.num_values = 4096;
  d.encoding = Encoding::kRleDictionary;
  d.definition_level_encoding = Encoding::kRle;
  d.repetition_level_encoding = Encoding::kBitPacked;
  d.statistics = FullStatistics();
  headers.push_back(v1);

  PageHeader dict;
  dict.type = PageType::kDictionaryPage;
  dict.uncompressed_page_size = 10;
  dict.compressed_page_size = 12;
  dict.dictionary_page_header.emplace();
  dict.dictionary_page_header->num_values = 3;
  dict.dictionary_page_header->encoding = Encoding::kPlainDictionary;
  dict.dictionary_page_header->is_sorted = true;
  headers.push_back(dict);

  PageHeader v2;
  v2.type = PageType::kDataPageV2;
  v2.uncompressed_page_size = 0;
  v2.compressed_page_size = 0;
  DataPageHeaderV2& h = v2.data_page_header_v2.emplace();
  h.num_values = 10;
  h.num_nulls = 2;
  h.num_rows = 9;
  h.encoding = Encoding::kDeltaBinaryPacked;
  h.definition_levels_byte_length = 3;
  h.repetition_levels_byte_length = 4;
  h.is_compressed = false;
  h.statistics = Statistics{};
  headers.push_back(v2);

  PageHeader index;  // index pages have no modelled header
  index.type = PageType::kIndexPage;
  index.uncompressed_page_size = 1;
  index.compressed_page_size = 1;
  headers.push_back(index);
  return headers;
}

std::string Serialize(const FileMetaData& m) {
  std::string out;
  SerializeFileMetaData(m, &out);
  return out;
}

std::string Serialize(const PageHeader& h) {
  std::string out;
  SerializePageHeader(h, &out);
  return out;
}

// ---------------------------------------------------------------------------
// Round trips.

TEST(FileMetaData, EveryFieldRoundTrips) {
  const FileMetaData m = FullFileMetaData();
  const std::string bytes = Serialize(m);
  absl::StatusOr<FileMetaData> parsed = ParseFileMetaData(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ExpectFileMetaDataEq(*parsed, m);
  EXPECT_EQ(Serialize(*parsed), bytes);
}

TEST(FileMetaData, SerializeAppendsToExistingBytes) {
  std::string out = "PAR1";
  SerializeFileMetaData(FullFileMetaData(), &out);
  EXPECT_EQ(out.substr(0, 4), "PAR1");
  EXPECT_EQ(out.substr(4), Serialize(FullFileMetaData()));
}

TEST(FileMetaData, BytesAfterTheStructAreIgnored) {
  std::string bytes = Serialize(FullFileMetaData());
  bytes += std::string(28, '\x5a');  // e.g. a plaintext-footer signature
  absl::StatusOr<FileMetaData> parsed = ParseFileMetaData(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->num_rows, 123456789012LL);
}

TEST(PageHeader, EachKindRoundTrips) {
  for (const PageHeader& h : SamplePageHeaders()) {
    SCOPED_TRACE(static_cast<int>(h.type));
    std::string bytes = Serialize(h);
    const size_t header_size = bytes.size();
    bytes += "page data that follows the header";
    size_t consumed = 0;
    absl::StatusOr<PageHeader> parsed = ParsePageHeader(bytes, &consumed);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(consumed, header_size);
    ExpectPageHeaderEq(*parsed, h);
  }
}

TEST(PageHeader, IsCompressedDefaultsToTrueWhenAbsent) {
  std::string bytes;
  CompactWriter w(&bytes);
  w.WriteStructBegin();
  w.WriteI32Field(1, 3);
  w.WriteI32Field(2, 1);
  w.WriteI32Field(3, 1);
  w.WriteFieldHeader(8, CompactType::kStruct);
  w.WriteStructBegin();
  for (int16_t id = 1; id <= 6; ++id) w.WriteI32Field(id, 0);
  w.WriteStructEnd();
  w.WriteStructEnd();
  size_t consumed = 0;
  absl::StatusOr<PageHeader> parsed = ParsePageHeader(bytes, &consumed);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->data_page_header_v2->is_compressed);
}

// ---------------------------------------------------------------------------
// Byte-exact encodings checked by hand against parquet.thrift and the
// compact protocol spec.

TEST(PageHeader, DataPageSerializesToTheSpecBytes) {
  PageHeader h;
  h.type = PageType::kDataPage;
  h.uncompressed_page_size = 100;
  h.compressed_page_size = 50;
  DataPageHeader& d = h.data_page_header.emplace();
  d.num_values = 10;
  d.encoding = Encoding::kPlain;
  d.definition_level_encoding = Encoding::kRle;
  d.repetition_level_encoding = Encoding::kRle;
  EXPECT_EQ(Serialize(h), Bytes({
                              0x15, 0x00,        // 1: type DATA_PAGE (i32 0)
                              0x15, 0xc8, 0x01,  // 2: uncompressed_page_size 100
                              0x15, 0x64,        // 3: compressed_page_size 50
                              0x2c,              // 5: data_page_header (delta 2, struct)
                              0x15, 0x14,        //   1: num_values 10
                              0x15, 0x00,        //   2: encoding PLAIN
                              0x15, 0x06,        //   3: definition_level_encoding RLE
                              0x15, 0x06,        //   4: repetition_level_encoding RLE
                              0x00,              //   stop
                              0x00,              // stop
                          }));
}

TEST(PageHeader, V2IsCompressedFalseIsTheBoolFalseTypeNibble) {
  PageHeader h;
  h.type = PageType::kDataPageV2;
  DataPageHeaderV2& v2 = h.data_page_header_v2.emplace();
  v2.is_compressed = false;
  EXPECT_EQ(Serialize(h),
            Bytes({
                0x15, 0x06,  // 1: type DATA_PAGE_V2 (3)
                0x15, 0x00,  // 2
                0x15, 0x00,  // 3
                0x5c,        // 8: data_page_header_v2 (delta 5, struct)
                0x15, 0x00, 0x15, 0x00, 0x15, 0x00, 0x15, 0x00, 0x15, 0x00, 0x15, 0x00,  //   1..6
                0x12,  //   7: is_compressed false (type 2)
                0x00, 0x00,
            }));
}

TEST(FileMetaData, MinimalFileSerializesToTheSpecBytes) {
  FileMetaData m;
  m.version = 1;
  SchemaElement root;
  root.name = "schema";
  root.num_children = 1;
  SchemaElement x;
  x.name = "x";
  x.type = Type::kInt64;
  x.repetition_type = Repetition::kRequired;
  m.schema = {root, x};
  m.num_rows = 0;
  EXPECT_EQ(Serialize(m), Bytes({
                              0x15, 0x02,  // 1: version 1
                              0x19, 0x2c,  // 2: schema, list of 2 structs
                              0x48, 0x06, 's',  'c', 'h', 'e', 'm', 'a',  // 4: name
                              0x15, 0x02,                                 // 5: num_children 1
                              0x00, 0x15, 0x04,                           // 1: type INT64 (2)
                              0x25, 0x00,        // 3: repetition_type REQUIRED
                              0x18, 0x01, 'x',   // 4: name
                              0x00, 0x16, 0x00,  // 3: num_rows 0 (i64)
                              0x19, 0x0c,        // 4: row_groups, empty list of structs
                              0x00,
                          }));
}

TEST(FileMetaData, TimestampLogicalTypeAndColumnOrdersMatchTheSpecBytes) {
  FileMetaData m;
  SchemaElement ts;
  ts.name = "t";
  LogicalType& lt = ts.logical_type.emplace();
  lt.kind = LogicalType::Kind::kTimestamp;
  lt.is_adjusted_to_utc = true;
  lt.unit = TimeUnit::kMicros;
  m.schema = {ts};
  m.column_orders_type_defined = std::vector<bool>{true};
  EXPECT_EQ(Serialize(m), Bytes({
                              0x15, 0x02,        // 1: version 1
                              0x19, 0x1c,        // 2: schema, list of 1 struct
                              0x48, 0x01, 't',   //   4: name
                              0x6c,              //   10: logicalType (delta 6, struct)
                              0x8c,              //     8: TIMESTAMP
                              0x11,              //       1: isAdjustedToUTC true
                              0x1c,              //       2: unit
                              0x2c, 0x00,        //         2: MICROS {}
                              0x00,              //       end unit
                              0x00,              //     end TimestampType
                              0x00,              //   end LogicalType
                              0x00,              // end SchemaElement
                              0x16, 0x00,        // 3: num_rows
                              0x19, 0x0c,        // 4: row_groups []
                              0x39, 0x1c,        // 7: column_orders (delta 3), 1 struct
                              0x1c, 0x00, 0x00,  //   1: TYPE_ORDER {}, end union
                              0x00,
                          }));
}

TEST(FileMetaData, IntegerLogicalTypeBitWidthIsAnI8Byte) {
  FileMetaData m;
  SchemaElement e;
  e.name = "i";
  LogicalType& lt = e.logical_type.emplace();
  lt.kind = LogicalType::Kind::kInteger;
  lt.bit_width = 16;
  lt.is_signed = false;
  m.schema = {e};
  const std::string bytes = Serialize(m);
  // 10: logicalType, 10: INTEGER (delta 10, struct), 1: bitWidth i8 16,
  // 2: isSigned false.
  EXPECT_THAT(bytes, HasSubstr(Bytes({0x6c, 0xac, 0x13, 0x10, 0x12, 0x00, 0x00, 0x00})));
}

// ---------------------------------------------------------------------------
// Compatibility with other writers.

// Writes a FileMetaData by hand with fields Pantry does not model, at every
// level, including nested structs, lists and maps, and long-form headers.
std::string FileMetaDataWithUnknownFields() {
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  w.WriteI32Field(1, 1);
  w.WriteFieldHeader(2, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, 2);
  {  // root
    w.WriteStructBegin();
    w.WriteFieldHeader(99, CompactType::kList);  // list<list<i32>>
    w.WriteListHeader(CompactType::kList, 2);
    w.WriteListHeader(CompactType::kI32, 1);
    w.WriteI32(5);
    w.WriteListHeader(CompactType::kI32, 0);
    w.WriteBinaryField(4, "root");  // backwards: long form
    w.WriteI32Field(5, 1);
    w.WriteStructEnd();
  }
  {  // leaf with a logical type from the future and SchemaElement field 11
    w.WriteStructBegin();
    w.WriteI32Field(1, 6);
    w.WriteI32Field(3, 1);
    w.WriteBinaryField(4, "v");
    w.WriteFieldHeader(10, CompactType::kStruct);
    w.WriteStructBegin();
    w.WriteFieldHeader(16, CompactType::kStruct);  // VARIANT { 1: i8 }
    w.WriteStructBegin();
    w.WriteI8Field(1, 1);
    w.WriteStructEnd();
    w.WriteStructEnd();
    w.WriteI32Field(11, 3);  // vector_length
    w.WriteStructEnd();
  }
  w.WriteI64Field(3, 42);
  w.WriteFieldHeader(4, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, 1);
  {  // RowGroup
    w.WriteStructBegin();
    w.WriteFieldHeader(1, CompactType::kList);
    w.WriteListHeader(CompactType::kStruct, 1);
    {  // ColumnChunk
      w.WriteStructBegin();
      w.WriteI64Field(2, 0);
      w.WriteFieldHeader(3, CompactType::kStruct);
      {  // ColumnMetaData
        w.WriteStructBegin();
        w.WriteI32Field(1, 6);
        w.WriteFieldHeader(2, CompactType::kList);
        w.WriteListHeader(CompactType::kI32, 1);
        w.WriteI32(0);
        w.WriteFieldHeader(3, CompactType::kList);
        w.WriteListHeader(CompactType::kBinary, 1);
        w.WriteBinary("v");
        w.WriteI32Field(4, 1);
        w.WriteI64Field(5, 42);
        w.WriteI64Field(6, 100);
        w.WriteI64Field(7, 90);
        w.WriteI64Field(9, 4);
        w.WriteFieldHeader(12, CompactType::kStruct);
        w.WriteStructBegin();
        w.WriteI64Field(3, 0);
        w.WriteI64Field(9, 7);  // nan_count
        w.WriteStructEnd();
        w.WriteFieldHeader(13, CompactType::kList);  // encoding_stats
        w.WriteListHeader(CompactType::kStruct, 1);
        w.WriteStructBegin();
        w.WriteI32Field(1, 0);
        w.WriteI32Field(2, 0);
        w.WriteI32Field(3, 1);
        w.WriteStructEnd();
        w.WriteI64Field(14, 1000);  // bloom_filter_offset
        w.WriteI32Field(15, 64);
        w.WriteFieldHeader(16, CompactType::kStruct);  // size_statistics
        w.WriteStructBegin();
        w.WriteI64Field(1, 10);
        w.WriteFieldHeader(2, CompactType::kList);
        w.WriteListHeader(CompactType::kI64, 2);
        w.WriteI64(1);
        w.WriteI64(2);
        w.WriteStructEnd();
        w.WriteStructEnd();
      }
      w.WriteI64Field(4, 1);  // offset_index_offset
      w.WriteI32Field(5, 2);
      w.WriteFieldHeader(8, CompactType::kStruct);  // crypto_metadata union
      w.WriteStructBegin();
      w.WriteFieldHeader(1, CompactType::kStruct);
      w.WriteStructBegin();
      w.WriteStructEnd();
      w.WriteStructEnd();
      w.WriteBinaryField(9, "encrypted");
      w.WriteStructEnd();
    }
    w.WriteI64Field(2, 100);
    w.WriteI64Field(3, 42);
    w.WriteFieldHeader(4, CompactType::kList);  // sorting_columns
    w.WriteListHeader(CompactType::kStruct, 1);
    w.WriteStructBegin();
    w.WriteI32Field(1, 0);
    w.WriteBoolField(2, true);
    w.WriteBoolField(3, false);
    w.WriteStructEnd();
    w.WriteStructEnd();
  }
  w.WriteBinaryField(6, "someone else");
  w.WriteFieldHeader(7, CompactType::kList);  // IEEE_754_TOTAL_ORDER
  w.WriteListHeader(CompactType::kStruct, 1);
  w.WriteStructBegin();
  w.WriteFieldHeader(2, CompactType::kStruct);
  w.WriteStructBegin();
  w.WriteStructEnd();
  w.WriteStructEnd();
  w.WriteFieldHeader(8, CompactType::kStruct);  // encryption_algorithm
  w.WriteStructBegin();
  w.WriteFieldHeader(1, CompactType::kStruct);
  w.WriteStructBegin();
  w.WriteBinaryField(1, "aad");
  w.WriteBoolField(3, true);
  w.WriteStructEnd();
  w.WriteStructEnd();
  w.WriteBinaryField(9, "key");
  w.WriteFieldHeader(200, CompactType::kMap);  // map<binary, list<struct>>
  w.WriteMapHeader(CompactType::kBinary, CompactType::kList, 1);
  w.WriteBinary("k");
  w.WriteListHeader(CompactType::kStruct, 1);
  w.WriteStructBegin();
  w.WriteDoubleField(1, 3.5);
  w.WriteFieldHeader(2, CompactType::kSet);
  w.WriteSetHeader(CompactType::kBool, 1);
  w.WriteBool(true);
  w.WriteStructEnd();
  w.WriteBoolField(201, false);
  w.WriteStructEnd();
  return out;
}

TEST(FileMetaData, UnknownFieldsAtEveryLevelAreSkipped) {
  absl::StatusOr<FileMetaData> m = ParseFileMetaData(FileMetaDataWithUnknownFields());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->version, 1);
  ASSERT_EQ(m->schema.size(), 2u);
  EXPECT_EQ(m->schema[0].name, "root");
  EXPECT_EQ(m->schema[0].num_children, 1);
  EXPECT_EQ(m->schema[1].name, "v");
  EXPECT_EQ(m->schema[1].type, Type::kByteArray);
  ASSERT_TRUE(m->schema[1].logical_type.has_value());
  EXPECT_EQ(m->schema[1].logical_type->kind, LogicalType::Kind::kOther);
  EXPECT_EQ(m->schema[1].logical_type->other_id, 16);
  EXPECT_EQ(m->num_rows, 42);
  ASSERT_EQ(m->row_groups.size(), 1u);
  const RowGroup& g = m->row_groups[0];
  EXPECT_EQ(g.total_byte_size, 100);
  EXPECT_EQ(g.num_rows, 42);
  ASSERT_EQ(g.columns.size(), 1u);
  ASSERT_TRUE(g.columns[0].meta_data.has_value());
  const ColumnMetaData& md = *g.columns[0].meta_data;
  EXPECT_EQ(md.codec, Codec::kSnappy);
  EXPECT_THAT(md.path_in_schema, ElementsAre("v"));
  EXPECT_EQ(md.num_values, 42);
  EXPECT_EQ(md.data_page_offset, 4);
  ASSERT_TRUE(md.statistics.has_value());
  EXPECT_EQ(md.statistics->null_count, 0);
  EXPECT_EQ(m->created_by, "someone else");
  EXPECT_EQ(m->column_orders_type_defined, std::vector<bool>{false});
}

TEST(FileMetaData, FieldsInAnyOrderWithLongFormHeadersParse) {
  // Fields written backwards force the long form for every header but the first.
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  w.WriteBinaryField(6, "backwards");
  w.WriteFieldHeader(4, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, 0);
  w.WriteI64Field(3, 7);
  w.WriteFieldHeader(2, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, 1);
  w.WriteStructBegin();
  w.WriteBinaryField(4, "root");
  w.WriteStructEnd();
  w.WriteI32Field(1, 1);
  w.WriteStructEnd();
  ASSERT_EQ(out[0], '\x68');   // short form: delta 6, binary
  ASSERT_EQ(out[11], '\x09');  // long form: delta 0, list
  absl::StatusOr<FileMetaData> m = ParseFileMetaData(out);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->created_by, "backwards");
  EXPECT_EQ(m->num_rows, 7);
  EXPECT_EQ(m->version, 1);
  ASSERT_EQ(m->schema.size(), 1u);
  EXPECT_EQ(m->schema[0].name, "root");
}

TEST(FileMetaData, UnknownTimeUnitMakesTheLogicalTypeOther) {
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  w.WriteI32Field(1, 1);
  w.WriteFieldHeader(2, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, 1);
  w.WriteStructBegin();
  w.WriteBinaryField(4, "t");
  w.WriteFieldHeader(10, CompactType::kStruct);
  w.WriteStructBegin();
  w.WriteFieldHeader(8, CompactType::kStruct);  // TIMESTAMP
  w.WriteStructBegin();
  w.WriteBoolField(1, true);
  w.WriteFieldHeader(2, CompactType::kStruct);
  w.WriteStructBegin();
  w.WriteFieldHeader(9, CompactType::kStruct);  // a unit from the future
  w.WriteStructBegin();
  w.WriteStructEnd();
  w.WriteStructEnd();
  w.WriteStructEnd();
  w.WriteStructEnd();
  w.WriteStructEnd();
  w.WriteI64Field(3, 0);
  w.WriteFieldHeader(4, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, 0);
  w.WriteStructEnd();
  absl::StatusOr<FileMetaData> m = ParseFileMetaData(out);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(m->schema[0].logical_type.has_value());
  EXPECT_EQ(m->schema[0].logical_type->kind, LogicalType::Kind::kOther);
  EXPECT_EQ(m->schema[0].logical_type->other_id, 8);
}

// ---------------------------------------------------------------------------
// Hostile and broken input.

TEST(FileMetaData, EveryTruncationIsDataLoss) {
  const std::string bytes = Serialize(FullFileMetaData());
  for (size_t len = 0; len < bytes.size(); ++len) {
    const std::string prefix = bytes.substr(0, len);  // exact size for ASan
    absl::StatusOr<FileMetaData> m = ParseFileMetaData(prefix);
    ASSERT_FALSE(m.ok()) << "prefix " << len;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss) << "prefix " << len;
    EXPECT_THAT(m.status().message(), HasSubstr("at byte")) << m.status();
  }
}

TEST(FileMetaData, EveryTruncationOfForeignMetadataIsDataLoss) {
  const std::string bytes = FileMetaDataWithUnknownFields();
  for (size_t len = 0; len < bytes.size(); ++len) {
    const std::string prefix = bytes.substr(0, len);
    EXPECT_EQ(ParseFileMetaData(prefix).status().code(), absl::StatusCode::kDataLoss)
        << "prefix " << len;
  }
}

TEST(PageHeader, EveryTruncationIsDataLoss) {
  for (const PageHeader& h : SamplePageHeaders()) {
    const std::string bytes = Serialize(h);
    for (size_t len = 0; len < bytes.size(); ++len) {
      const std::string prefix = bytes.substr(0, len);
      size_t consumed = 12345;
      absl::StatusOr<PageHeader> parsed = ParsePageHeader(prefix, &consumed);
      EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss) << "prefix " << len;
      EXPECT_EQ(consumed, 12345u);
    }
  }
}

TEST(FileMetaData, EverySingleByteCorruptionNeverCrashes) {
  const std::string bytes = Serialize(FullFileMetaData());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int x : {0x01, 0x80, 0xff}) {
      std::string corrupt = bytes;
      corrupt[i] = static_cast<char>(corrupt[i] ^ x);
      absl::StatusOr<FileMetaData> m = ParseFileMetaData(corrupt);
      if (!m.ok()) {
        EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss);
      }
    }
  }
}

TEST(FileMetaData, HugeSchemaListSizeIsDataLossWithoutAllocating) {
  // schema: list of 2^31 - 1 structs, followed by a handful of bytes. A
  // reserve() of that many SchemaElements would abort under ASan.
  const std::string bytes =
      Bytes({0x15, 0x02, 0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0x48, 0x01, 'a', 0x00});
  absl::StatusOr<FileMetaData> m = ParseFileMetaData(bytes);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(m.status().message(), HasSubstr("FileMetaData.schema"));
  EXPECT_THAT(m.status().message(), HasSubstr("exceeds"));
}

TEST(FileMetaData, ManyTinyRowGroupsAreBoundedByTheInput) {
  // A valid list of 2^31 - 1 empty structs would need that many bytes; the
  // size check fails before anything is allocated for it.
  std::string bytes =
      Bytes({0x15, 0x02, 0x19, 0x0c, 0x16, 0x00, 0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07});
  bytes.append(1000, '\0');
  EXPECT_EQ(ParseFileMetaData(bytes).status().code(), absl::StatusCode::kDataLoss);
}

TEST(FileMetaData, ExcessiveNestingInAnUnknownFieldIsDataLoss) {
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  w.WriteI32Field(1, 1);
  for (int i = 0; i < 200; ++i) {
    w.WriteFieldHeader(50, CompactType::kStruct);
    w.WriteStructBegin();
  }
  for (int i = 0; i < 200; ++i) w.WriteStructEnd();
  w.WriteStructEnd();
  absl::StatusOr<FileMetaData> m = ParseFileMetaData(out);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(m.status().message(), HasSubstr("nesting deeper than"));
}

// Writes a PageHeader field by field, leaving out `omit`, for required-field tests.
std::string DataPageHeaderBytes(int omit, int omit_inner = 0) {
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  if (omit != 1) w.WriteI32Field(1, 0);
  if (omit != 2) w.WriteI32Field(2, 10);
  if (omit != 3) w.WriteI32Field(3, 10);
  if (omit != 5) {
    w.WriteFieldHeader(5, CompactType::kStruct);
    w.WriteStructBegin();
    for (int16_t id = 1; id <= 4; ++id) {
      if (id != omit_inner) w.WriteI32Field(id, 0);
    }
    w.WriteStructEnd();
  }
  w.WriteStructEnd();
  return out;
}

TEST(PageHeader, MissingRequiredFieldIsDataLossNamingIt) {
  size_t consumed;
  ASSERT_TRUE(ParsePageHeader(DataPageHeaderBytes(0), &consumed).ok());
  const std::pair<int, const char*> cases[] = {
      {1, "type"}, {2, "uncompressed_page_size"}, {3, "compressed_page_size"}};
  for (const auto& [omit, name] : cases) {
    absl::StatusOr<PageHeader> h = ParsePageHeader(DataPageHeaderBytes(omit), &consumed);
    EXPECT_EQ(h.status().code(), absl::StatusCode::kDataLoss) << name;
    EXPECT_THAT(h.status().message(), HasSubstr(absl::StrCat("PageHeader.", name)));
    EXPECT_THAT(h.status().message(), HasSubstr("required field"));
  }
  const char* inner[] = {"", "num_values", "encoding", "definition_level_encoding",
                         "repetition_level_encoding"};
  for (int omit = 1; omit <= 4; ++omit) {
    absl::StatusOr<PageHeader> h = ParsePageHeader(DataPageHeaderBytes(0, omit), &consumed);
    EXPECT_EQ(h.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(h.status().message(),
                HasSubstr(absl::StrCat("PageHeader.data_page_header.", inner[omit])));
    EXPECT_THAT(h.status().message(), HasSubstr("of DataPageHeader is missing"));
  }
}

TEST(PageHeader, DataPageWithoutItsHeaderIsDataLoss) {
  size_t consumed;
  absl::StatusOr<PageHeader> h = ParsePageHeader(DataPageHeaderBytes(5), &consumed);
  EXPECT_EQ(h.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(h.status().message(), HasSubstr("data_page_header"));
}

TEST(PageHeader, NegativeSizesAndCountsAreDataLoss) {
  PageHeader base = SamplePageHeaders()[0];
  {
    PageHeader h = base;
    h.compressed_page_size = -1;
    size_t consumed;
    absl::StatusOr<PageHeader> p = ParsePageHeader(Serialize(h), &consumed);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(p.status().message(), HasSubstr("PageHeader.compressed_page_size: -1 is negative"));
  }
  {
    PageHeader h = base;
    h.uncompressed_page_size = -5;
    size_t consumed;
    EXPECT_EQ(ParsePageHeader(Serialize(h), &consumed).status().code(),
              absl::StatusCode::kDataLoss);
  }
  {
    PageHeader h = base;
    h.data_page_header->num_values = -2;
    size_t consumed;
    absl::StatusOr<PageHeader> p = ParsePageHeader(Serialize(h), &consumed);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(p.status().message(), HasSubstr("data_page_header.num_values"));
  }
  {
    PageHeader h = SamplePageHeaders()[2];
    h.data_page_header_v2->num_nulls = -1;
    size_t consumed;
    EXPECT_EQ(ParsePageHeader(Serialize(h), &consumed).status().code(),
              absl::StatusCode::kDataLoss);
  }
}

TEST(FileMetaData, MissingRequiredFieldsAreDataLossNamingStructAndField) {
  // The serializer always writes required fields, so these are hand-written.
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  w.WriteI32Field(1, 1);
  w.WriteFieldHeader(2, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, 1);
  w.WriteStructBegin();
  w.WriteI32Field(5, 0);  // num_children but no name
  w.WriteStructEnd();
  w.WriteI64Field(3, 0);
  w.WriteFieldHeader(4, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, 0);
  w.WriteStructEnd();
  absl::StatusOr<FileMetaData> m = ParseFileMetaData(out);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(m.status().message(), HasSubstr("FileMetaData.schema[0].name"));
  EXPECT_THAT(m.status().message(), HasSubstr("of SchemaElement is missing"));

  // FileMetaData without row_groups / num_rows / schema / version.
  for (int omit = 1; omit <= 4; ++omit) {
    std::string bytes;
    CompactWriter fw(&bytes);
    fw.WriteStructBegin();
    if (omit != 1) fw.WriteI32Field(1, 1);
    if (omit != 2) {
      fw.WriteFieldHeader(2, CompactType::kList);
      fw.WriteListHeader(CompactType::kStruct, 0);
    }
    if (omit != 3) fw.WriteI64Field(3, 0);
    if (omit != 4) {
      fw.WriteFieldHeader(4, CompactType::kList);
      fw.WriteListHeader(CompactType::kStruct, 0);
    }
    fw.WriteStructEnd();
    absl::StatusOr<FileMetaData> f = ParseFileMetaData(bytes);
    EXPECT_EQ(f.status().code(), absl::StatusCode::kDataLoss) << omit;
    EXPECT_THAT(f.status().message(), HasSubstr("of FileMetaData is missing"));
  }
}

TEST(FileMetaData, ColumnMetaDataMissingCodecIsDataLoss) {
  std::string bytes = Serialize(FullFileMetaData());
  // The first ColumnMetaData's codec (field 4, i32 ZSTD: 0x15 0x0c) follows
  // its path_in_schema list ["s"] (0x18 0x01 's'). Giving the codec header a
  // delta of 15 turns it into unknown field 18 of the same length; the
  // fields after it shift to unknown ids too and are skipped.
  const std::string codec = Bytes({0x18, 0x01, 's', 0x15, 0x0c});
  const size_t at = bytes.find(codec);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] = '\xf5';
  absl::StatusOr<FileMetaData> parsed = ParseFileMetaData(bytes);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(parsed.status().message(),
              HasSubstr("FileMetaData.row_groups[0].columns[0].meta_data.codec: required field 4 "
                        "of ColumnMetaData is missing"));
}

TEST(FileMetaData, NegativeNumChildrenIsDataLoss) {
  FileMetaData m = FullFileMetaData();
  m.schema[0].num_children = -1;
  absl::StatusOr<FileMetaData> parsed = ParseFileMetaData(Serialize(m));
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(parsed.status().message(), HasSubstr("FileMetaData.schema[0].num_children"));
}

TEST(FileMetaData, NegativeColumnNumValuesIsDataLoss) {
  FileMetaData m = FullFileMetaData();
  m.row_groups[1].columns[0].meta_data->num_values = -1;
  absl::StatusOr<FileMetaData> parsed = ParseFileMetaData(Serialize(m));
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(parsed.status().message(),
              HasSubstr("FileMetaData.row_groups[1].columns[0].meta_data.num_values"));
}

TEST(FileMetaData, FieldOfTheWrongTypeIsDataLossNamingIt) {
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  w.WriteBinaryField(1, "one");  // version must be i32
  w.WriteStructEnd();
  absl::StatusOr<FileMetaData> m = ParseFileMetaData(out);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(m.status().message(), HasSubstr("FileMetaData.version: expected i32, found binary"));
}

TEST(FileMetaData, ErrorDeepInsideNamesThePath) {
  const std::string bytes = Serialize(FullFileMetaData());
  // Cut inside the first column's statistics: just after the "zzz" max_value.
  const size_t at = bytes.find("zzz");
  ASSERT_NE(at, std::string::npos);
  absl::StatusOr<FileMetaData> m = ParseFileMetaData(bytes.substr(0, at + 3));
  EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(m.status().message(),
              HasSubstr("FileMetaData.row_groups[0].columns[0].meta_data.statistics"));
  EXPECT_THAT(m.status().message(), HasSubstr(absl::StrCat("at byte ", at + 3)));
}

TEST(FileMetaData, EmptyLogicalTypeUnionIsDataLoss) {
  std::string out;
  CompactWriter w(&out);
  w.WriteStructBegin();
  w.WriteI32Field(1, 1);
  w.WriteFieldHeader(2, CompactType::kList);
  w.WriteListHeader(CompactType::kStruct, 1);
  w.WriteStructBegin();
  w.WriteBinaryField(4, "x");
  w.WriteFieldHeader(10, CompactType::kStruct);
  w.WriteStructBegin();
  w.WriteStructEnd();
  w.WriteStructEnd();
  w.WriteStructEnd();
  absl::StatusOr<FileMetaData> m = ParseFileMetaData(out);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(m.status().message(), HasSubstr("FileMetaData.schema[0].logicalType"));
}

TEST(FileMetaData, EmptyInputIsDataLoss) {
  EXPECT_EQ(ParseFileMetaData("").status().code(), absl::StatusCode::kDataLoss);
  size_t consumed;
  EXPECT_EQ(ParsePageHeader("", &consumed).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace pantry::parquet
