// Parquet value and level encodings (apache/parquet-format Encodings.md):
// the RLE / bit-packed hybrid, the deprecated BIT_PACKED levels,
// DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and
// BYTE_STREAM_SPLIT. PLAIN lives with the page reader.
//
// Decoders read from a caller-owned buffer and never read outside
// [data, data + size): every count and length taken from the data is checked
// against the bytes available before anything is read or allocated. Corrupt or
// truncated input yields absl::DataLoss naming the byte offset (within `data`)
// where decoding failed; a caller error (a bit width out of range for the
// output type) yields absl::InvalidArgument. Nothing here throws.
//
// Encoders append to a std::string and never fail; their preconditions are
// stated per function.
//
// Thread safety: the free functions are thread-safe; an RleBitPackedDecoder
// is a plain value that one thread uses at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "server/parquet/byte_arrays.h"

namespace pantry::parquet {

// Number of bits needed to represent every value in 0..max_value (0 for 0,
// 1 for 1, 2 for 2..3, ..., 64 for values >= 2^63).
int BitWidthOf(uint64_t max_value);

// Decoder of the RLE / bit-packed hybrid used for repetition and definition
// levels, dictionary indices and RLE booleans. It sees only the encoded runs:
// callers strip the 4-byte length prefix of v1 levels and the 1-byte bit width
// of dictionary indices themselves.
//
// The decoder does not own `data`, which must outlive it. Decoded values
// always fit in `bit_width` bits (RLE run values are masked to it).
//
// Leniency, for writers seen in the wild: the bytes of the last bit-packed
// run may stop short of its declared group count, as long as every value
// actually requested is covered by the data (Arrow reads these too); and with
// bit width 0 the runs may be missing altogether (the values are all 0).
class RleBitPackedDecoder {
 public:
  // `bit_width` must be in 0..32; the Decode calls report InvalidArgument
  // otherwise.
  RleBitPackedDecoder(const uint8_t* data, size_t size, int bit_width);

  // Decodes exactly `n` values into out[0..n). Repeated calls continue where
  // the previous one stopped. Returns DataLoss (naming the byte offset within
  // `data`) when the data ends before `n` values (see the leniency above) or
  // a run header is malformed (bad varint, zero-length run); after an error
  // every further call returns the same error. InvalidArgument when the bit
  // width does not fit the output type: uint32_t takes 0..32, int16_t
  // (levels) 0..16, uint8_t (booleans, small dictionary indices) 0..8.
  absl::Status Decode(uint32_t* out, size_t n);
  absl::Status Decode(int16_t* out, size_t n);
  absl::Status Decode(uint8_t* out, size_t n);

  // Bytes of `data` consumed so far: the end of the last run whose header was
  // read (for a bit-packed run cut short, the end of the data).
  size_t position() const { return pos_; }

 private:
  template <typename T>
  absl::Status DecodeImpl(T* out, size_t n);
  absl::Status ReadRunHeader();
  absl::Status Fail(absl::Status status);

  const uint8_t* data_;
  size_t size_;
  int bit_width_;
  size_t pos_ = 0;  // offset of the next run header
  absl::Status error_;

  // Current RLE run.
  size_t rle_left_ = 0;
  uint32_t rle_value_ = 0;

  // Current bit-packed run: `lit_left_` values backed by data start at byte
  // `lit_offset_`; `lit_missing_` more were declared but the data ended first.
  size_t lit_offset_ = 0;
  size_t lit_left_ = 0;
  size_t lit_missing_ = 0;

  // One unpacked group, for requests that end inside a group.
  uint32_t group_[8] = {};
  int group_pos_ = 0;
  int group_end_ = 0;
};

// Appends the hybrid encoding of values[0..n) with `bit_width` (0..32; at
// most 16 for int16_t and 8 for uint8_t), without a length prefix. Groups of
// 8 equal values aligned to the current group boundary start an RLE run that
// lasts as long as the value repeats; everything else goes into bit-packed
// runs of at most 63 groups (one header byte), the final group padded with
// zeros; a trailing partial group of equal values with no bit-packed run open
// becomes a short RLE run. This matches parquet-mr's and Arrow's encoders.
// Precondition: every value fits in `bit_width` bits (excess bits are
// dropped).
void EncodeRleBitPacked(const uint32_t* values, size_t n, int bit_width, std::string* out);
void EncodeRleBitPacked(const int16_t* values, size_t n, int bit_width, std::string* out);
void EncodeRleBitPacked(const uint8_t* values, size_t n, int bit_width, std::string* out);

// Deprecated BIT_PACKED levels: `n` values of `bit_width` (0..16) bits packed
// back to back from the most significant bit of each byte, no runs. On success
// *consumed = ceil(n * bit_width / 8). DataLoss when `size` is smaller than
// that; InvalidArgument for a bit width outside 0..16.
absl::Status DecodeBitPackedLegacy(const uint8_t* data, size_t size, int bit_width, size_t n,
                                   int16_t* out, size_t* consumed);

// DELTA_BINARY_PACKED. Decodes the first `n` values of the stream into
// out[0..n). The header's value count may exceed `n` (the rest is skipped,
// not decoded) but not fall short of it. On success *consumed is the length
// of the whole encoded stream: the end of the last miniblock holding one of
// the header's values (unused miniblocks of the last block carry a bit width
// byte, any value, but no data), which is where a following section starts.
// DataLoss when the header is invalid (block size not a positive multiple of
// 128 up to 2^31, miniblock count not dividing it into multiples of 32), a bit
// width exceeds the type's width (32 for INT32, 64 for INT64), the stream
// holds fewer than `n` values or the data ends early. Arithmetic wraps around
// in two's complement as the spec requires; INT32 values come out right
// whether the writer computed deltas in 32 or in 64 bits. An empty buffer
// decodes as an empty stream when `n` is 0.
absl::Status DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t n, int32_t* out,
                                     size_t* consumed);
absl::Status DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t n, int64_t* out,
                                     size_t* consumed);
// Appends values[0..n) as DELTA_BINARY_PACKED with blocks of 128 values in 4
// miniblocks of 32; padding bits and unused bit width bytes are zero. INT32
// deltas are computed in the 32-bit domain, so no miniblock uses more than 32
// bits.
void EncodeDeltaBinaryPacked(const int64_t* values, size_t n, std::string* out);
void EncodeDeltaBinaryPacked(const int32_t* values, size_t n, std::string* out);

// DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY: decode the first `n` values
// of the page and append them to *out. On any error *out is left unchanged.
// DataLoss when the data is corrupt or truncated: a negative length, lengths
// summing past the end of the data, a prefix longer than the previous value,
// or (DELTA_BYTE_ARRAY) values that would expand to more than 2^31 - 1 bytes
// in total. Memory used is O(n + size of the output); the caller bounds `n`
// (the page's value count), and it must not exceed the count in the data.
absl::Status DecodeDeltaLengthByteArray(const uint8_t* data, size_t size, size_t n,
                                        ByteArrays* out);
absl::Status DecodeDeltaByteArray(const uint8_t* data, size_t size, size_t n, ByteArrays* out);
// Append the encoding of every value in `values`. Precondition: each value is
// shorter than 2^31 bytes.
void EncodeDeltaLengthByteArray(const ByteArrays& values, std::string* out);
void EncodeDeltaByteArray(const ByteArrays& values, std::string* out);

// BYTE_STREAM_SPLIT of `n` values of `width` bytes each (4 for FLOAT/INT32, 8
// for DOUBLE/INT64, the type length for FIXED_LEN_BYTE_ARRAY). The page holds
// exactly `n` values: `size` must equal n * width (else DataLoss). Writes
// n * width bytes to `out` (caller-allocated). InvalidArgument for width < 1.
absl::Status DecodeByteStreamSplit(const uint8_t* data, size_t size, size_t n, int width,
                                   uint8_t* out);
// Appends the n * width bytes of values[0..n*width) split into `width`
// streams. Precondition: width >= 1.
void EncodeByteStreamSplit(const uint8_t* values, size_t n, int width, std::string* out);

}  // namespace pantry::parquet
