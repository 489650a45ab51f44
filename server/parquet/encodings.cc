#include "server/parquet/encodings.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/common/status.h"

namespace pantry::parquet {
namespace {

// Bit unpacking loads little-endian words straight from the page.
static_assert(std::endian::native == std::endian::little,
              "Pantry's Parquet codec needs little endian");

// ---------------------------------------------------------------------------
// LSB-first bit unpacking (the hybrid's and DELTA_BINARY_PACKED's order).

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// The W (< 8) bytes of a narrow group as one word. Byte loads combined in
// registers: a partial memcpy into a stack word would stall store forwarding.
template <int... B>
inline uint64_t LoadNarrowGroup(const uint8_t* in, std::integer_sequence<int, B...>) {
  return ((uint64_t{in[B]} << (8 * B)) | ...);
}

// Value I of a group of 8 packed at width W >= 8. The group is W >= 8 bytes,
// so every value is one unaligned 8-byte load that stays inside the group
// (shifted back from the group's end for the last values), plus one byte for
// widths of 58 and more at odd offsets. Positions are compile-time constants.
template <typename T, int W, int I>
inline T ExtractWide(const uint8_t* in) {
  constexpr int kBit = I * W;
  constexpr int kByte = kBit / 8;
  constexpr int kShift = kBit % 8;
  uint64_t word;
  if constexpr (kByte + 8 <= W) {
    word = Load64(in + kByte) >> kShift;
    // The value's last byte is at most in[W - 1], so in[kByte + 8] is inside.
    if constexpr (kShift + W > 64) word |= uint64_t{in[kByte + 8]} << (64 - kShift);
  } else {
    constexpr int kFrom = W - 8;
    word = Load64(in + kFrom) >> (kBit - 8 * kFrom);
  }
  if constexpr (W < 64) word &= (uint64_t{1} << W) - 1;
  return static_cast<T>(word);
}

// One group of 8 values of width W from its W bytes.
template <typename T, int W, int... I>
inline void UnpackGroup(const uint8_t* in, T* out, std::integer_sequence<int, I...>) {
  if constexpr (W < 8) {
    const uint64_t word = LoadNarrowGroup(in, std::make_integer_sequence<int, W>());
    ((out[I] = static_cast<T>((word >> (I * W)) & ((uint64_t{1} << W) - 1))), ...);
  } else {
    ((out[I] = ExtractWide<T, W, I>(in)), ...);
  }
}

// Unpacks `groups` groups of 8 values of width W: reads groups * W bytes.
template <typename T, int W>
void UnpackGroups(const uint8_t* in, size_t groups, T* out) {
  if constexpr (W == 0) {
    std::fill_n(out, groups * 8, T{0});
  } else {
    for (size_t g = 0; g < groups; ++g) {
      UnpackGroup<T, W>(in, out, std::make_integer_sequence<int, 8>());
      in += W;
      out += 8;
    }
  }
}

template <typename T>
using UnpackFn = void (*)(const uint8_t*, size_t, T*);

template <typename T, int... W>
constexpr std::array<UnpackFn<T>, sizeof...(W)> MakeUnpackTable(std::integer_sequence<int, W...>) {
  return {&UnpackGroups<T, W>...};
}

// Widest bit width each output type takes.
template <typename T>
constexpr int kMaxWidthFor = static_cast<int>(sizeof(T) * 8);

// Dispatches once per batch (not per value) to the unpacker specialised for
// `width`, which must be in 0..kMaxWidthFor<T>.
template <typename T>
inline void Unpack(int width, const uint8_t* in, size_t groups, T* out) {
  static constexpr auto kTable =
      MakeUnpackTable<T>(std::make_integer_sequence<int, kMaxWidthFor<T> + 1>());
  kTable[width](in, groups, out);
}

// ---------------------------------------------------------------------------
// LSB-first bit packing for the encoders.

class BitWriter {
 public:
  explicit BitWriter(char* dst) : p_(dst) {}

  // Appends the low `w` (0..64) bits of v; v must fit in them.
  void Put(uint64_t v, int w) {
    if (w > 32) {
      Put32(v & 0xffffffffu, 32);
      Put32(v >> 32, w - 32);
    } else {
      Put32(v, w);
    }
  }

  // Writes the last partial byte, zero padded.
  void Finish() {
    if (bits_ > 0) *p_++ = static_cast<char>(acc_);
    acc_ = 0;
    bits_ = 0;
  }

 private:
  // Fewer than 8 bits are pending before each call, so 39 bits fit in acc_.
  void Put32(uint64_t v, int w) {
    acc_ |= v << bits_;
    bits_ += w;
    while (bits_ >= 8) {
      *p_++ = static_cast<char>(acc_);
      acc_ >>= 8;
      bits_ -= 8;
    }
  }

  char* p_;
  uint64_t acc_ = 0;
  int bits_ = 0;
};

// ---------------------------------------------------------------------------
// Varints.

// Reads a ULEB128 that must fit in U at data[*pos], advancing *pos. False when
// the data ends inside it or it overflows U.
template <typename U>
bool ReadUleb(const uint8_t* data, size_t size, size_t* pos, U* value) {
  constexpr int kBits = sizeof(U) * 8;
  U result = 0;
  for (int shift = 0; shift < kBits; shift += 7) {
    if (*pos >= size) return false;
    const uint8_t byte = data[(*pos)++];
    const U bits = byte & 0x7f;
    // The last byte may only carry the bits that are left.
    if (kBits - shift < 7 && (bits >> (kBits - shift)) != 0) return false;
    result |= bits << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

void PutUleb(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

uint64_t ZigZagEncode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

uint64_t ZigZagDecode(uint64_t v) { return (v >> 1) ^ (0 - (v & 1)); }

// ---------------------------------------------------------------------------
// RLE / bit-packed hybrid encoder.

// Packs 8 values (already masked to `bit_width`) into bit_width bytes at dst.
void PackGroup(const uint32_t* values, int bit_width, char* dst) {
  BitWriter writer(dst);
  for (int i = 0; i < 8; ++i) writer.Put(values[i], bit_width);
}

template <typename T>
void EncodeRleImpl(const T* values, size_t n, int bit_width, std::string* out) {
  const uint32_t mask = bit_width >= 32 ? 0xffffffffu : (uint32_t{1} << bit_width) - 1;
  auto value = [&](size_t i) { return static_cast<uint32_t>(values[i]) & mask; };
  const int value_bytes = (bit_width + 7) / 8;
  // Longest run the spec allows in one header.
  constexpr size_t kMaxRun = (size_t{1} << 31) - 1;
  // At most 63 groups per bit-packed run, so its header is one byte, as
  // parquet-mr and Arrow write it.
  constexpr size_t kMaxGroupsPerRun = 63;

  auto put_rle = [&](uint32_t v, size_t count) {
    while (count > 0) {
      const size_t run = std::min(count, kMaxRun);
      PutUleb(static_cast<uint64_t>(run) << 1, out);
      for (int b = 0; b < value_bytes; ++b) out->push_back(static_cast<char>(v >> (8 * b)));
      count -= run;
    }
  };

  // Pending bit-packed values are values[lit_start, lit_start + lit_count):
  // every RLE run flushes them first, so they are contiguous.
  size_t lit_start = 0;
  size_t lit_count = 0;
  auto flush_literals = [&]() {
    while (lit_count > 0) {
      const size_t groups = std::min((lit_count + 7) / 8, kMaxGroupsPerRun);
      PutUleb((static_cast<uint64_t>(groups) << 1) | 1, out);
      const size_t at = out->size();
      out->resize(at + groups * static_cast<size_t>(bit_width));
      for (size_t g = 0; g < groups; ++g) {
        uint32_t group[8] = {};  // the final group is padded with zeros
        const size_t take = std::min<size_t>(8, lit_count);
        for (size_t i = 0; i < take; ++i) group[i] = value(lit_start + i);
        PackGroup(group, bit_width, out->data() + at + g * bit_width);
        lit_start += take;
        lit_count -= take;
      }
    }
  };

  auto all_equal = [&](size_t begin, size_t end) {
    const uint32_t first = value(begin);
    for (size_t i = begin + 1; i < end; ++i) {
      if (value(i) != first) return false;
    }
    return true;
  };

  size_t i = 0;
  while (i < n) {
    const size_t left = n - i;
    if (left >= 8 && all_equal(i, i + 8)) {
      const uint32_t v = value(i);
      size_t j = i + 8;
      while (j < n && value(j) == v) ++j;
      flush_literals();
      put_rle(v, j - i);
      i = j;
    } else if (left < 8 && lit_count == 0 && all_equal(i, n)) {
      // A short tail with no bit-packed run open is cheaper as a run.
      put_rle(value(i), left);
      i = n;
    } else {
      if (lit_count == 0) lit_start = i;
      const size_t take = std::min<size_t>(8, left);
      lit_count += take;
      i += take;
    }
  }
  flush_literals();
}

// ---------------------------------------------------------------------------
// DELTA_BINARY_PACKED.

struct DeltaHeader {
  uint64_t block_size = 0;
  uint64_t miniblocks = 0;
  uint64_t values_per_miniblock = 0;
  uint64_t total = 0;
  uint64_t first_zigzag = 0;
  size_t body = 0;  // offset of the first block
};

absl::Status DeltaError(absl::string_view what, size_t offset, absl::string_view detail) {
  return absl::DataLossError(absl::StrCat(what, ": at byte ", offset, ": ", detail));
}

absl::Status ReadDeltaHeader(const uint8_t* data, size_t size, size_t base, absl::string_view what,
                             DeltaHeader* h) {
  size_t pos = 0;
  const auto read = [&](uint64_t* v, absl::string_view field) -> absl::Status {
    const size_t at = pos;
    if (!ReadUleb(data, size, &pos, v)) {
      return DeltaError(what, base + at,
                        absl::StrCat("header ", field, " is truncated or malformed"));
    }
    return absl::OkStatus();
  };
  PANTRY_RETURN_IF_ERROR(read(&h->block_size, "block size"));
  PANTRY_RETURN_IF_ERROR(read(&h->miniblocks, "miniblock count"));
  PANTRY_RETURN_IF_ERROR(read(&h->total, "value count"));
  PANTRY_RETURN_IF_ERROR(read(&h->first_zigzag, "first value"));
  // The cap keeps miniblock byte counts far from overflow; real writers use
  // 128 to a few thousand.
  if (h->block_size == 0 || h->block_size % 128 != 0 || h->block_size > (uint64_t{1} << 31)) {
    return DeltaError(
        what, base,
        absl::StrCat("block size ", h->block_size, " is not a multiple of 128 in 128..2^31"));
  }
  if (h->miniblocks == 0 || h->block_size % h->miniblocks != 0 ||
      (h->block_size / h->miniblocks) % 32 != 0) {
    return DeltaError(what, base,
                      absl::StrCat("miniblock count ", h->miniblocks, " does not split block size ",
                                   h->block_size, " into miniblocks of a multiple of 32 values"));
  }
  h->values_per_miniblock = h->block_size / h->miniblocks;
  h->body = pos;
  return absl::OkStatus();
}

// Adds the `count` unpacked deltas of one miniblock (width w) to the running
// value and stores each result.
template <typename T>
void DecodeMiniblock(const uint8_t* in, int w, size_t count, std::make_unsigned_t<T> min_delta,
                     std::make_unsigned_t<T>* last, T* out) {
  using U = std::make_unsigned_t<T>;
  U value = *last;
  if (w == 0) {
    for (size_t i = 0; i < count; ++i) {
      value += min_delta;
      out[i] = static_cast<T>(value);
    }
  } else {
    constexpr size_t kChunk = 64;
    U buffer[kChunk];
    while (count > 0) {
      const size_t take = std::min(count, kChunk);
      const size_t groups = (take + 7) / 8;
      // The miniblock holds a multiple of 32 values, so whole groups stay
      // inside its (already bounds-checked) bytes.
      Unpack<U>(w, in, groups, buffer);
      for (size_t i = 0; i < take; ++i) {
        value += min_delta + buffer[i];
        out[i] = static_cast<T>(value);
      }
      in += groups * static_cast<size_t>(w);
      out += take;
      count -= take;
    }
  }
  *last = value;
}

// Decodes the first `n` values into out (n may be 0, out then unused) and
// walks the rest of the stream to find its end. `base` and `what` only shape
// error messages.
template <typename T>
absl::Status DecodeDeltaImpl(const uint8_t* data, size_t size, size_t base, absl::string_view what,
                             size_t n, T* out, size_t* consumed, uint64_t* total) {
  using U = std::make_unsigned_t<T>;
  constexpr int kMaxWidth = static_cast<int>(sizeof(T) * 8);
  if (size == 0 && n == 0) {
    *consumed = 0;
    *total = 0;
    return absl::OkStatus();
  }
  DeltaHeader h;
  PANTRY_RETURN_IF_ERROR(ReadDeltaHeader(data, size, base, what, &h));
  if (h.total < n) {
    return DeltaError(what, base,
                      absl::StrCat("the stream holds ", h.total, " values, ", n, " requested"));
  }
  size_t pos = h.body;
  // Truncating to U keeps the writer's value: the zigzag of a sign-extended
  // INT32 is the zigzag of the INT32.
  U last = static_cast<U>(ZigZagDecode(h.first_zigzag));
  size_t produced = 0;
  if (n > 0) out[produced++] = static_cast<T>(last);
  uint64_t remaining = h.total == 0 ? 0 : h.total - 1;
  // Every block consumes at least one byte, so a huge declared count ends in
  // an error at the end of the data, not a long loop.
  while (remaining > 0) {
    const size_t block_at = pos;
    uint64_t min_delta_zigzag = 0;
    if (!ReadUleb(data, size, &pos, &min_delta_zigzag)) {
      return DeltaError(what, base + block_at,
                        absl::StrCat("block min delta is truncated or malformed (", remaining,
                                     " values still to decode)"));
    }
    // Truncation to U is the 2^32 wraparound the spec asks for with INT32.
    const U min_delta = static_cast<U>(ZigZagDecode(min_delta_zigzag));
    if (size - pos < h.miniblocks) {
      return DeltaError(what, base + pos,
                        absl::StrCat("block needs ", h.miniblocks, " bit width bytes, only ",
                                     size - pos, " remain"));
    }
    const uint8_t* widths = data + pos;
    pos += h.miniblocks;
    // Miniblocks past the last value carry a bit width byte of any value and
    // no data, so the loop stops at the last value.
    for (uint64_t mb = 0; mb < h.miniblocks && remaining > 0; ++mb) {
      const int w = widths[mb];
      if (w > kMaxWidth) {
        return DeltaError(what, base + static_cast<size_t>(widths - data) + mb,
                          absl::StrCat("miniblock bit width ", w, " exceeds ", kMaxWidth));
      }
      const size_t bytes = static_cast<size_t>(h.values_per_miniblock * w / 8);
      if (size - pos < bytes) {
        return DeltaError(
            what, base + pos,
            absl::StrCat("miniblock needs ", bytes, " bytes, only ", size - pos, " remain"));
      }
      const uint64_t in_miniblock = std::min(h.values_per_miniblock, remaining);
      const size_t wanted = static_cast<size_t>(std::min<uint64_t>(in_miniblock, n - produced));
      if (wanted > 0) {
        DecodeMiniblock<T>(data + pos, w, wanted, min_delta, &last, out + produced);
        produced += wanted;
      }
      remaining -= in_miniblock;
      pos += bytes;
    }
  }
  *consumed = pos;
  *total = h.total;
  return absl::OkStatus();
}

template <typename T>
absl::Status DecodeDeltaChecked(const uint8_t* data, size_t size, size_t n, T* out,
                                size_t* consumed) {
  uint64_t total = 0;
  return DecodeDeltaImpl<T>(data, size, 0, "DELTA_BINARY_PACKED", n, out, consumed, &total);
}

template <typename T>
void EncodeDeltaImpl(const T* values, size_t n, std::string* out) {
  using U = std::make_unsigned_t<T>;
  constexpr size_t kBlock = 128;
  constexpr size_t kMiniblocks = 4;
  constexpr size_t kPerMiniblock = kBlock / kMiniblocks;
  PutUleb(kBlock, out);
  PutUleb(kMiniblocks, out);
  PutUleb(n, out);
  PutUleb(ZigZagEncode(n > 0 ? static_cast<int64_t>(values[0]) : 0), out);
  U deltas[kBlock];
  for (size_t start = 1; start < n; start += kBlock) {
    const size_t count = std::min(kBlock, n - start);
    // Unsigned subtraction wraps as the spec requires, in T's own width.
    for (size_t i = 0; i < count; ++i) {
      deltas[i] = static_cast<U>(values[start + i]) - static_cast<U>(values[start + i - 1]);
    }
    T min_delta = static_cast<T>(deltas[0]);
    for (size_t i = 1; i < count; ++i) min_delta = std::min(min_delta, static_cast<T>(deltas[i]));
    for (size_t i = 0; i < count; ++i) deltas[i] -= static_cast<U>(min_delta);
    PutUleb(ZigZagEncode(min_delta), out);
    int widths[kMiniblocks] = {};
    for (size_t mb = 0; mb < kMiniblocks; ++mb) {
      const size_t first = mb * kPerMiniblock;
      if (first >= count) break;
      U max = 0;
      for (size_t i = first; i < std::min(count, first + kPerMiniblock); ++i) {
        max = std::max(max, deltas[i]);
      }
      widths[mb] = BitWidthOf(max);
    }
    for (size_t mb = 0; mb < kMiniblocks; ++mb) out->push_back(static_cast<char>(widths[mb]));
    for (size_t mb = 0; mb < kMiniblocks; ++mb) {
      const size_t first = mb * kPerMiniblock;
      if (first >= count) break;
      const int w = widths[mb];
      const size_t at = out->size();
      out->resize(at + kPerMiniblock * w / 8);
      BitWriter writer(out->data() + at);
      for (size_t i = 0; i < kPerMiniblock; ++i) {
        writer.Put(first + i < count ? deltas[first + i] : 0, w);  // zero padding
      }
      writer.Finish();
    }
  }
}

// ---------------------------------------------------------------------------
// DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY.

// A decoded run of lengths: lengths[0..n) and where the bytes they describe
// start. Lengths are checked non-negative and to fit in the data.
struct LengthPrefixed {
  std::vector<int32_t> lengths;
  size_t bytes_at = 0;       // offset in the section of the first value's bytes
  uint64_t total_bytes = 0;  // sum of lengths[0..n)
};

// Decodes `n` lengths (DELTA_BINARY_PACKED INT32) at data[0..size). The
// stream is walked once before anything is allocated, so `n` is checked
// against the count the data holds first.
absl::Status DecodeLengths(const uint8_t* data, size_t size, size_t base, absl::string_view what,
                           size_t n, std::vector<int32_t>* lengths, size_t* consumed) {
  uint64_t total = 0;
  PANTRY_RETURN_IF_ERROR(
      DecodeDeltaImpl<int32_t>(data, size, base, what, 0, nullptr, consumed, &total));
  if (total < n) {
    return DeltaError(what, base,
                      absl::StrCat("the stream holds ", total, " values, ", n, " requested"));
  }
  lengths->resize(n);
  return DecodeDeltaImpl<int32_t>(data, size, base, what, n, lengths->data(), consumed, &total);
}

absl::Status DecodeLengthPrefixed(const uint8_t* data, size_t size, size_t base,
                                  absl::string_view what, size_t n, LengthPrefixed* result) {
  size_t consumed = 0;
  PANTRY_RETURN_IF_ERROR(DecodeLengths(data, size, base, what, n, &result->lengths, &consumed));
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    const int32_t len = result->lengths[i];
    if (len < 0) {
      return absl::DataLossError(absl::StrCat(what, ": value ", i, " has negative length ", len));
    }
    total += static_cast<uint64_t>(len);
  }
  if (total > size - consumed) {
    return absl::DataLossError(absl::StrCat(what, ": lengths sum to ", total, " bytes but only ",
                                            size - consumed, " remain after byte ",
                                            base + consumed));
  }
  result->bytes_at = consumed;
  result->total_bytes = total;
  return absl::OkStatus();
}

// Largest total a DELTA_BYTE_ARRAY page may expand to. Shared prefixes let a
// small page describe enormous values (a decompression bomb); no real page
// comes near this, and Arrow rejects the same.
constexpr uint64_t kMaxExpandedBytes = std::numeric_limits<int32_t>::max();

// Length of the longest common prefix of a and b.
size_t CommonPrefix(absl::string_view a, absl::string_view b) {
  const size_t limit = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < limit && a[i] == b[i]) ++i;
  return i;
}

void AppendLengthPrefixed(const std::vector<int32_t>& lengths, const ByteArrays& values,
                          const std::vector<size_t>& skip, std::string* out) {
  EncodeDeltaBinaryPacked(lengths.data(), lengths.size(), out);
  for (size_t i = 0; i < values.size(); ++i) {
    const absl::string_view v = values.Get(i);
    const size_t from = skip.empty() ? 0 : skip[i];
    out->append(v.data() + from, v.size() - from);
  }
}

// ---------------------------------------------------------------------------
// BYTE_STREAM_SPLIT.

template <int W>
void JoinStreams(const uint8_t* data, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    for (int k = 0; k < W; ++k) out[i * W + k] = data[k * n + i];
  }
}

template <int W>
void SplitStreams(const uint8_t* values, size_t n, char* out) {
  for (size_t i = 0; i < n; ++i) {
    for (int k = 0; k < W; ++k) out[k * n + i] = static_cast<char>(values[i * W + k]);
  }
}

}  // namespace

int BitWidthOf(uint64_t max_value) { return 64 - std::countl_zero(max_value); }

// ---------------------------------------------------------------------------
// RleBitPackedDecoder

RleBitPackedDecoder::RleBitPackedDecoder(const uint8_t* data, size_t size, int bit_width)
    : data_(data), size_(size), bit_width_(bit_width) {}

absl::Status RleBitPackedDecoder::Fail(absl::Status status) {
  error_ = status;
  return status;
}

absl::Status RleBitPackedDecoder::ReadRunHeader() {
  const size_t header_at = pos_;
  uint32_t header = 0;
  if (!ReadUleb(data_, size_, &pos_, &header)) {
    return Fail(absl::DataLossError(absl::StrCat("RLE/bit-packed data: run header at byte ",
                                                 header_at, " is truncated or malformed")));
  }
  const uint32_t count = header >> 1;
  if (count == 0) {
    return Fail(absl::DataLossError(absl::StrCat("RLE/bit-packed data: run header at byte ",
                                                 header_at, " declares an empty run")));
  }
  if ((header & 1) != 0) {
    const size_t values = size_t{count} * 8;
    const size_t bytes = size_t{count} * static_cast<size_t>(bit_width_);
    const size_t available = size_ - pos_;
    lit_offset_ = pos_;
    if (bytes <= available) {
      lit_left_ = values;
      lit_missing_ = 0;
      pos_ += bytes;
    } else {
      // Some writers cut the padding of the last run; keep what is there and
      // fail only if a value beyond it is requested. bit_width_ > 0 here.
      lit_left_ = available * 8 / static_cast<size_t>(bit_width_);
      lit_missing_ = values - lit_left_;
      pos_ = size_;
    }
  } else {
    const size_t value_bytes = static_cast<size_t>(bit_width_ + 7) / 8;
    if (size_ - pos_ < value_bytes) {
      return Fail(absl::DataLossError(absl::StrCat("RLE/bit-packed data: RLE run at byte ",
                                                   header_at, " ends before its value")));
    }
    uint32_t v = 0;
    if (value_bytes > 0) std::memcpy(&v, data_ + pos_, value_bytes);
    pos_ += value_bytes;
    // Masking keeps the contract that values fit the bit width, so callers
    // indexing tables of 2^bit_width entries need no check.
    rle_value_ = bit_width_ >= 32 ? v : v & ((uint32_t{1} << bit_width_) - 1);
    rle_left_ = count;
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status RleBitPackedDecoder::DecodeImpl(T* out, size_t n) {
  if (!error_.ok()) return error_;
  if (bit_width_ < 0 || bit_width_ > kMaxWidthFor<T> || bit_width_ > 32) {
    return absl::InvalidArgumentError(absl::StrCat("RLE/bit-packed decoder: bit width ", bit_width_,
                                                   " does not fit a ", sizeof(T) * 8,
                                                   "-bit output"));
  }
  while (n > 0) {
    if (rle_left_ > 0) {
      const size_t k = std::min(n, rle_left_);
      std::fill_n(out, k, static_cast<T>(rle_value_));
      out += k;
      n -= k;
      rle_left_ -= k;
    } else if (group_pos_ < group_end_) {
      const size_t k = std::min(n, static_cast<size_t>(group_end_ - group_pos_));
      for (size_t i = 0; i < k; ++i) out[i] = static_cast<T>(group_[group_pos_ + i]);
      group_pos_ += static_cast<int>(k);
      out += k;
      n -= k;
    } else if (lit_left_ >= 8 && n >= 8) {
      // Whole groups straight from the page into the caller's buffer; the run
      // header check guarantees their bytes are present.
      const size_t groups = std::min(n, lit_left_) / 8;
      Unpack<T>(bit_width_, data_ + lit_offset_, groups, out);
      lit_offset_ += groups * static_cast<size_t>(bit_width_);
      lit_left_ -= groups * 8;
      out += groups * 8;
      n -= groups * 8;
    } else if (lit_left_ > 0) {
      // The request ends inside a group (or the run was cut short): unpack one
      // group from a zero-padded copy and serve it from group_.
      uint8_t bytes[32] = {};
      const size_t available = std::min(static_cast<size_t>(bit_width_), size_ - lit_offset_);
      if (available > 0) std::memcpy(bytes, data_ + lit_offset_, available);
      Unpack<uint32_t>(bit_width_, bytes, 1, group_);
      lit_offset_ += available;
      group_pos_ = 0;
      group_end_ = static_cast<int>(std::min<size_t>(8, lit_left_));
      lit_left_ -= static_cast<size_t>(group_end_);
    } else if (lit_missing_ > 0) {
      return Fail(absl::DataLossError(
          absl::StrCat("RLE/bit-packed data: bit-packed run ends at byte ", size_,
                       " (the end of the data), ", lit_missing_, " of its values missing")));
    } else if (pos_ >= size_ && bit_width_ == 0) {
      // Zero bits can only hold 0, so nothing is lost when a writer leaves
      // out the runs of a zero-width stream (some do, for one-entry
      // dictionaries).
      std::fill_n(out, n, T{0});
      n = 0;
    } else if (pos_ >= size_) {
      return Fail(absl::DataLossError(absl::StrCat("RLE/bit-packed data ends at byte ", pos_,
                                                   " with ", n, " values still to decode")));
    } else {
      PANTRY_RETURN_IF_ERROR(ReadRunHeader());
    }
  }
  return absl::OkStatus();
}

absl::Status RleBitPackedDecoder::Decode(uint32_t* out, size_t n) { return DecodeImpl(out, n); }
absl::Status RleBitPackedDecoder::Decode(int16_t* out, size_t n) { return DecodeImpl(out, n); }
absl::Status RleBitPackedDecoder::Decode(uint8_t* out, size_t n) { return DecodeImpl(out, n); }

void EncodeRleBitPacked(const uint32_t* values, size_t n, int bit_width, std::string* out) {
  EncodeRleImpl(values, n, bit_width, out);
}
void EncodeRleBitPacked(const int16_t* values, size_t n, int bit_width, std::string* out) {
  EncodeRleImpl(values, n, bit_width, out);
}
void EncodeRleBitPacked(const uint8_t* values, size_t n, int bit_width, std::string* out) {
  EncodeRleImpl(values, n, bit_width, out);
}

// ---------------------------------------------------------------------------
// BIT_PACKED (deprecated)

absl::Status DecodeBitPackedLegacy(const uint8_t* data, size_t size, int bit_width, size_t n,
                                   int16_t* out, size_t* consumed) {
  if (bit_width < 0 || bit_width > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("BIT_PACKED levels: bit width ", bit_width, " is outside 0..16"));
  }
  const size_t w = static_cast<size_t>(bit_width);
  // n * w cannot overflow once n is below size * 8 (the most values any width
  // >= 1 could fit), which is checked first.
  if (w > 0 && n / 8 > size) {
    return absl::DataLossError(absl::StrCat("BIT_PACKED levels: ", n, " values of ", w,
                                            " bits need more than the ", size, " bytes present"));
  }
  const size_t bytes = (n * w + 7) / 8;
  if (bytes > size) {
    return absl::DataLossError(absl::StrCat("BIT_PACKED levels: ", n, " values of ", w,
                                            " bits need ", bytes, " bytes, only ", size,
                                            " present"));
  }
  if (w == 0) {
    std::fill_n(out, n, int16_t{0});
  } else {
    // MSB first: a value of up to 16 bits at any bit offset lies inside a
    // 3-byte big-endian window.
    const uint32_t mask = (uint32_t{1} << w) - 1;
    size_t bit = 0;
    for (size_t i = 0; i < n; ++i, bit += w) {
      const size_t byte = bit / 8;
      uint32_t window = uint32_t{data[byte]} << 16;
      if (byte + 1 < size) window |= uint32_t{data[byte + 1]} << 8;
      if (byte + 2 < size) window |= data[byte + 2];
      const int shift = 24 - static_cast<int>(bit % 8) - static_cast<int>(w);
      out[i] = static_cast<int16_t>((window >> shift) & mask);
    }
  }
  *consumed = bytes;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// DELTA_BINARY_PACKED

absl::Status DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t n, int32_t* out,
                                     size_t* consumed) {
  // Some writers (DuckDB) compute INT32 deltas in 64 bits, giving miniblocks
  // up to 33 bits wide. Decoding in 64 bits and truncating reads those and
  // gives the same values as 32-bit wraparound for every other stream.
  std::vector<int64_t> wide(n);
  PANTRY_RETURN_IF_ERROR(DecodeDeltaChecked(data, size, n, wide.data(), consumed));
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>(wide[i]);
  return absl::OkStatus();
}

absl::Status DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t n, int64_t* out,
                                     size_t* consumed) {
  return DecodeDeltaChecked(data, size, n, out, consumed);
}

void EncodeDeltaBinaryPacked(const int64_t* values, size_t n, std::string* out) {
  EncodeDeltaImpl(values, n, out);
}

void EncodeDeltaBinaryPacked(const int32_t* values, size_t n, std::string* out) {
  EncodeDeltaImpl(values, n, out);
}

// ---------------------------------------------------------------------------
// DELTA_LENGTH_BYTE_ARRAY

absl::Status DecodeDeltaLengthByteArray(const uint8_t* data, size_t size, size_t n,
                                        ByteArrays* out) {
  if (n == 0 && size == 0) return absl::OkStatus();
  LengthPrefixed values;
  PANTRY_RETURN_IF_ERROR(
      DecodeLengthPrefixed(data, size, 0, "DELTA_LENGTH_BYTE_ARRAY", n, &values));
  out->Reserve(n, values.total_bytes);
  std::string* buffer = out->mutable_data();
  uint64_t end = buffer->size();
  if (values.total_bytes > 0) {
    buffer->append(reinterpret_cast<const char*>(data) + values.bytes_at,
                   static_cast<size_t>(values.total_bytes));
  }
  for (size_t i = 0; i < n; ++i) {
    end += static_cast<uint64_t>(values.lengths[i]);
    out->AppendOffset(end);
  }
  return absl::OkStatus();
}

void EncodeDeltaLengthByteArray(const ByteArrays& values, std::string* out) {
  std::vector<int32_t> lengths(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    lengths[i] = static_cast<int32_t>(values.Get(i).size());
  }
  AppendLengthPrefixed(lengths, values, {}, out);
}

// ---------------------------------------------------------------------------
// DELTA_BYTE_ARRAY

absl::Status DecodeDeltaByteArray(const uint8_t* data, size_t size, size_t n, ByteArrays* out) {
  if (n == 0 && size == 0) return absl::OkStatus();
  constexpr absl::string_view kWhat = "DELTA_BYTE_ARRAY";
  std::vector<int32_t> prefixes;
  size_t prefix_bytes = 0;
  PANTRY_RETURN_IF_ERROR(
      DecodeLengths(data, size, 0, "DELTA_BYTE_ARRAY prefix lengths", n, &prefixes, &prefix_bytes));
  LengthPrefixed suffixes;
  PANTRY_RETURN_IF_ERROR(DecodeLengthPrefixed(data + prefix_bytes, size - prefix_bytes,
                                              prefix_bytes, "DELTA_BYTE_ARRAY suffixes", n,
                                              &suffixes));
  // Validate every prefix and size the output before touching *out, so an
  // error leaves it unchanged and the buffer is allocated once.
  uint64_t previous = 0;
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    const int32_t prefix = prefixes[i];
    if (prefix < 0 || static_cast<uint64_t>(prefix) > previous) {
      return absl::DataLossError(absl::StrCat(kWhat, ": value ", i, " has prefix length ", prefix,
                                              " but the previous value is ", previous,
                                              " bytes long"));
    }
    previous = static_cast<uint64_t>(prefix) + static_cast<uint64_t>(suffixes.lengths[i]);
    total += previous;
    if (total > kMaxExpandedBytes) {
      return absl::DataLossError(absl::StrCat(kWhat, ": values expand to more than ",
                                              kMaxExpandedBytes, " bytes (first ", i + 1, " of ", n,
                                              ")"));
    }
  }
  out->Reserve(n, total);
  std::string* buffer = out->mutable_data();
  const size_t start = buffer->size();
  buffer->resize(start + static_cast<size_t>(total));
  char* dst = buffer->data() + start;
  const char* suffix = reinterpret_cast<const char*>(data) + prefix_bytes + suffixes.bytes_at;
  size_t at = 0;           // write position relative to start
  size_t previous_at = 0;  // where the previous value begins
  for (size_t i = 0; i < n; ++i) {
    const size_t prefix = static_cast<size_t>(prefixes[i]);
    const size_t suffix_len = static_cast<size_t>(suffixes.lengths[i]);
    // The prefix lies wholly before `at`, so the ranges never overlap.
    if (prefix > 0) std::memcpy(dst + at, dst + previous_at, prefix);
    if (suffix_len > 0) std::memcpy(dst + at + prefix, suffix, suffix_len);
    suffix += suffix_len;
    previous_at = at;
    at += prefix + suffix_len;
    out->AppendOffset(start + at);
  }
  return absl::OkStatus();
}

void EncodeDeltaByteArray(const ByteArrays& values, std::string* out) {
  const size_t n = values.size();
  std::vector<int32_t> prefixes(n);
  std::vector<int32_t> suffix_lengths(n);
  std::vector<size_t> skip(n);
  absl::string_view previous;
  for (size_t i = 0; i < n; ++i) {
    const absl::string_view v = values.Get(i);
    const size_t prefix = CommonPrefix(previous, v);
    prefixes[i] = static_cast<int32_t>(prefix);
    suffix_lengths[i] = static_cast<int32_t>(v.size() - prefix);
    skip[i] = prefix;
    previous = v;
  }
  EncodeDeltaBinaryPacked(prefixes.data(), n, out);
  AppendLengthPrefixed(suffix_lengths, values, skip, out);
}

// ---------------------------------------------------------------------------
// BYTE_STREAM_SPLIT

absl::Status DecodeByteStreamSplit(const uint8_t* data, size_t size, size_t n, int width,
                                   uint8_t* out) {
  if (width < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("BYTE_STREAM_SPLIT: value width ", width, " is not positive"));
  }
  const size_t w = static_cast<size_t>(width);
  if (size % w != 0 || size / w != n) {
    return absl::DataLossError(absl::StrCat("BYTE_STREAM_SPLIT: page holds ", size,
                                            " bytes, expected ", n, " values of ", w, " bytes"));
  }
  switch (width) {
    case 2:
      JoinStreams<2>(data, n, out);
      break;
    case 4:
      JoinStreams<4>(data, n, out);
      break;
    case 8:
      JoinStreams<8>(data, n, out);
      break;
    default:
      // Stream-major keeps the reads sequential for odd FLBA widths.
      for (size_t k = 0; k < w; ++k) {
        const uint8_t* stream = data + k * n;
        for (size_t i = 0; i < n; ++i) out[i * w + k] = stream[i];
      }
  }
  return absl::OkStatus();
}

void EncodeByteStreamSplit(const uint8_t* values, size_t n, int width, std::string* out) {
  const size_t w = static_cast<size_t>(width);
  const size_t at = out->size();
  out->resize(at + n * w);
  char* dst = out->data() + at;
  switch (width) {
    case 2:
      SplitStreams<2>(values, n, dst);
      break;
    case 4:
      SplitStreams<4>(values, n, dst);
      break;
    case 8:
      SplitStreams<8>(values, n, dst);
      break;
    default:
      for (size_t k = 0; k < w; ++k) {
        char* stream = dst + k * n;
        for (size_t i = 0; i < n; ++i) stream[i] = static_cast<char>(values[i * w + k]);
      }
  }
}

}  // namespace pantry::parquet
