#include "server/parquet/compression.h"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <lz4.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"

namespace pantry::parquet {
namespace {

// Marks "no level given": each codec then uses its own default.
constexpr int kDefaultLevel = std::numeric_limits<int>::min();

constexpr int kGzipDefaultLevel = Z_DEFAULT_COMPRESSION;
constexpr int kZstdDefaultLevel = 1;
// Arrow's default: close to GZIP's ratio at a fraction of the cost.
constexpr int kBrotliDefaultQuality = 8;
// Input per Hadoop LZ4 frame. Hadoop's reader decompresses frame by frame
// into a 256 KiB buffer by default; 128 KiB leaves room for LZ4's expansion
// of incompressible data.
constexpr size_t kHadoopLz4FrameSize = 128 * 1024;

bool IsKnown(Codec codec) {
  switch (codec) {
    case Codec::kUncompressed:
    case Codec::kSnappy:
    case Codec::kGzip:
    case Codec::kLzo:
    case Codec::kBrotli:
    case Codec::kLz4:
    case Codec::kZstd:
    case Codec::kLz4Raw:
      return true;
  }
  return false;
}

absl::Status WrongSize(absl::string_view codec, size_t got, size_t want) {
  return absl::DataLossError(
      absl::StrCat(codec, ": page decompresses to ", got, " bytes, the header says ", want));
}

// ---------------------------------------------------------------------------
// Decompression

absl::Status DecompressSnappy(absl::string_view in, uint8_t* out, size_t out_size) {
  size_t length = 0;
  // Checking the declared length first means RawUncompress can never be
  // asked to write past out_size.
  if (!snappy::GetUncompressedLength(in.data(), in.size(), &length)) {
    return absl::DataLossError("SNAPPY: corrupt page (bad length header)");
  }
  if (length != out_size) return WrongSize("SNAPPY", length, out_size);
  if (!snappy::RawUncompress(in.data(), in.size(), reinterpret_cast<char*>(out))) {
    return absl::DataLossError("SNAPPY: corrupt page");
  }
  return absl::OkStatus();
}

absl::Status DecompressGzip(absl::string_view in, uint8_t* out, size_t out_size) {
  if (in.size() > UINT_MAX || out_size > UINT_MAX) {
    return absl::InvalidArgumentError("GZIP: page larger than 4 GiB");
  }
  z_stream stream{};
  // 32 + MAX_WBITS detects gzip or zlib headers, so zlib-format pages from
  // old writers read too.
  if (inflateInit2(&stream, 32 + MAX_WBITS) != Z_OK) {
    return absl::InternalError("GZIP: inflateInit2 failed");
  }
  struct End {
    z_stream* s;
    ~End() { inflateEnd(s); }
  } end{&stream};
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream.avail_in = static_cast<uInt>(in.size());
  stream.next_out = out;
  stream.avail_out = static_cast<uInt>(out_size);
  for (;;) {
    const int ret = inflate(&stream, Z_NO_FLUSH);
    if (ret == Z_STREAM_END) {
      if (stream.avail_in == 0) break;
      // The spec asks readers to accept several gzip members in one page.
      if (inflateReset(&stream) != Z_OK) return absl::InternalError("GZIP: inflateReset failed");
      continue;
    }
    if (ret == Z_OK) continue;  // progress was made
    if (ret == Z_BUF_ERROR) {
      if (stream.avail_out == 0) {
        return absl::DataLossError(absl::StrCat("GZIP: page decompresses to more than the ",
                                                out_size, " bytes the header says"));
      }
      return absl::DataLossError("GZIP: corrupt page (stream truncated)");
    }
    if (ret == Z_MEM_ERROR) return absl::ResourceExhaustedError("GZIP: out of memory");
    return absl::DataLossError(absl::StrCat("GZIP: corrupt page (",
                                            stream.msg != nullptr ? stream.msg : zError(ret), ")"));
  }
  const size_t produced = out_size - stream.avail_out;
  if (produced != out_size) return WrongSize("GZIP", produced, out_size);
  return absl::OkStatus();
}

absl::Status DecompressBrotli(absl::string_view in, uint8_t* out, size_t out_size) {
  BrotliDecoderState* state = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  if (state == nullptr) return absl::ResourceExhaustedError("BROTLI: out of memory");
  struct Destroy {
    BrotliDecoderState* s;
    ~Destroy() { BrotliDecoderDestroyInstance(s); }
  } destroy{state};
  size_t available_in = in.size();
  const uint8_t* next_in = reinterpret_cast<const uint8_t*>(in.data());
  size_t available_out = out_size;
  uint8_t* next_out = out;
  // The streaming call tells "too much output" from "truncated" from
  // "corrupt", which the one-shot call folds into one error.
  const BrotliDecoderResult result = BrotliDecoderDecompressStream(
      state, &available_in, &next_in, &available_out, &next_out, nullptr);
  switch (result) {
    case BROTLI_DECODER_RESULT_SUCCESS:
      break;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
      return absl::DataLossError(absl::StrCat("BROTLI: page decompresses to more than the ",
                                              out_size, " bytes the header says"));
    case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
      return absl::DataLossError("BROTLI: corrupt page (stream truncated)");
    default:
      return absl::DataLossError(
          absl::StrCat("BROTLI: corrupt page (",
                       BrotliDecoderErrorString(BrotliDecoderGetErrorCode(state)), ")"));
  }
  if (available_in != 0) {
    return absl::DataLossError(
        absl::StrCat("BROTLI: corrupt page (", available_in, " bytes after the stream)"));
  }
  const size_t produced = out_size - available_out;
  if (produced != out_size) return WrongSize("BROTLI", produced, out_size);
  return absl::OkStatus();
}

absl::Status DecompressZstd(absl::string_view in, uint8_t* out, size_t out_size) {
  const size_t result = ZSTD_decompress(out, out_size, in.data(), in.size());
  if (ZSTD_isError(result)) {
    return absl::DataLossError(absl::StrCat("ZSTD: corrupt page or larger than the ", out_size,
                                            " bytes the header says (", ZSTD_getErrorName(result),
                                            ")"));
  }
  if (result != out_size) return WrongSize("ZSTD", result, out_size);
  return absl::OkStatus();
}

absl::Status DecompressLz4Raw(absl::string_view in, uint8_t* out, size_t out_size,
                              absl::string_view name) {
  if (in.size() > INT_MAX || out_size > INT_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": page larger than 2 GiB"));
  }
  const int result = LZ4_decompress_safe(in.data(), reinterpret_cast<char*>(out),
                                         static_cast<int>(in.size()), static_cast<int>(out_size));
  if (result < 0) {
    return absl::DataLossError(absl::StrCat(name, ": corrupt page or larger than the ", out_size,
                                            " bytes the header says"));
  }
  if (static_cast<size_t>(result) != out_size) {
    return WrongSize(name, static_cast<size_t>(result), out_size);
  }
  return absl::OkStatus();
}

uint32_t LoadBigEndian32(const char* p) {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

void StoreBigEndian32(uint32_t v, char* p) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

// Hadoop's block framing: frames of [uncompressed size][chunk]... where each
// chunk is [compressed size][LZ4 block] and a frame's chunks add up to its
// uncompressed size (Arrow and parquet-mr write one chunk per frame). True
// only when the framing accounts for every input byte and every output byte.
bool TryDecompressHadoopLz4(absl::string_view in, uint8_t* out, size_t out_size) {
  const char* p = in.data();
  size_t left = in.size();
  size_t produced = 0;
  while (left > 0) {
    if (left < 4) return false;
    const size_t frame_size = LoadBigEndian32(p);
    p += 4;
    left -= 4;
    if (frame_size > out_size - produced) return false;
    const size_t frame_end = produced + frame_size;
    do {
      if (left < 4) return false;
      const size_t chunk = LoadBigEndian32(p);
      p += 4;
      left -= 4;
      if (chunk > left || chunk > INT_MAX) return false;
      const int result =
          LZ4_decompress_safe(p, reinterpret_cast<char*>(out + produced), static_cast<int>(chunk),
                              static_cast<int>(std::min<size_t>(frame_end - produced, INT_MAX)));
      // A chunk that yields nothing inside a non-empty frame would loop.
      if (result < 0 || (result == 0 && frame_end > produced)) return false;
      produced += static_cast<size_t>(result);
      p += chunk;
      left -= chunk;
    } while (produced < frame_end);
  }
  return produced == out_size;
}

// ---------------------------------------------------------------------------
// Compression. Each appends at out->size(); the caller trims on error.

absl::Status CompressSnappy(absl::string_view in, std::string* out) {
  const size_t at = out->size();
  out->resize(at + snappy::MaxCompressedLength(in.size()));
  size_t length = 0;
  snappy::RawCompress(in.data(), in.size(), out->data() + at, &length);
  out->resize(at + length);
  return absl::OkStatus();
}

absl::Status CompressGzip(absl::string_view in, int level, std::string* out) {
  if (level == kDefaultLevel) level = kGzipDefaultLevel;
  if (level < -1 || level > 9) {
    return absl::InvalidArgumentError(absl::StrCat("GZIP: level ", level, " is outside -1..9"));
  }
  if (in.size() > UINT_MAX / 2) {
    return absl::InvalidArgumentError("GZIP: input larger than 2 GiB");
  }
  z_stream stream{};
  // 16 + MAX_WBITS: a gzip wrapper, as the spec requires (not zlib).
  if (deflateInit2(&stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("GZIP: deflateInit2 failed");
  }
  struct End {
    z_stream* s;
    ~End() { deflateEnd(s); }
  } end{&stream};
  const size_t bound = deflateBound(&stream, static_cast<uLong>(in.size()));
  const size_t at = out->size();
  out->resize(at + bound);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream.avail_in = static_cast<uInt>(in.size());
  stream.next_out = reinterpret_cast<Bytef*>(out->data() + at);
  stream.avail_out = static_cast<uInt>(bound);
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) {
    return absl::InternalError("GZIP: deflate did not finish within its bound");
  }
  out->resize(at + (bound - stream.avail_out));
  return absl::OkStatus();
}

absl::Status CompressBrotli(absl::string_view in, int level, std::string* out) {
  if (level == kDefaultLevel) level = kBrotliDefaultQuality;
  if (level < BROTLI_MIN_QUALITY || level > BROTLI_MAX_QUALITY) {
    return absl::InvalidArgumentError(absl::StrCat("BROTLI: quality ", level, " is outside ",
                                                   BROTLI_MIN_QUALITY, "..", BROTLI_MAX_QUALITY));
  }
  // The bound holds for every quality: the encoder falls back to stored
  // meta-blocks rather than exceed it.
  const size_t bound = BrotliEncoderMaxCompressedSize(in.size());
  if (bound == 0) return absl::InvalidArgumentError("BROTLI: input too large");
  const size_t at = out->size();
  out->resize(at + bound);
  size_t length = bound;
  if (!BrotliEncoderCompress(level, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                             reinterpret_cast<const uint8_t*>(in.data()), &length,
                             reinterpret_cast<uint8_t*>(out->data() + at))) {
    return absl::InternalError("BROTLI: compression failed");
  }
  out->resize(at + length);
  return absl::OkStatus();
}

absl::Status CompressZstd(absl::string_view in, int level, std::string* out) {
  if (level == kDefaultLevel) level = kZstdDefaultLevel;
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    return absl::InvalidArgumentError(absl::StrCat("ZSTD: level ", level, " is outside ",
                                                   ZSTD_minCLevel(), "..", ZSTD_maxCLevel()));
  }
  const size_t bound = ZSTD_compressBound(in.size());
  if (ZSTD_isError(bound)) return absl::InvalidArgumentError("ZSTD: input too large");
  const size_t at = out->size();
  out->resize(at + bound);
  const size_t length = ZSTD_compress(out->data() + at, bound, in.data(), in.size(), level);
  if (ZSTD_isError(length)) {
    return absl::InternalError(absl::StrCat("ZSTD: ", ZSTD_getErrorName(length)));
  }
  out->resize(at + length);
  return absl::OkStatus();
}

// Appends one bare LZ4 block of `in` (at most LZ4_MAX_INPUT_SIZE bytes).
absl::Status AppendLz4Block(absl::string_view in, absl::string_view name, std::string* out) {
  if (in.size() > LZ4_MAX_INPUT_SIZE) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": input larger than ", LZ4_MAX_INPUT_SIZE, " bytes"));
  }
  const int bound = LZ4_compressBound(static_cast<int>(in.size()));
  const size_t at = out->size();
  out->resize(at + static_cast<size_t>(bound));
  const int length =
      LZ4_compress_default(in.data(), out->data() + at, static_cast<int>(in.size()), bound);
  if (length <= 0) return absl::InternalError(absl::StrCat(name, ": compression failed"));
  out->resize(at + static_cast<size_t>(length));
  return absl::OkStatus();
}

absl::Status CompressHadoopLz4(absl::string_view in, std::string* out) {
  // An empty input still gets one frame, as Arrow writes it.
  size_t offset = 0;
  do {
    const absl::string_view frame = in.substr(offset, kHadoopLz4FrameSize);
    const size_t header = out->size();
    out->resize(header + 8);
    const absl::Status status = AppendLz4Block(frame, "LZ4", out);
    if (!status.ok()) return status;
    const size_t chunk = out->size() - header - 8;
    StoreBigEndian32(static_cast<uint32_t>(frame.size()), out->data() + header);
    StoreBigEndian32(static_cast<uint32_t>(chunk), out->data() + header + 4);
    offset += frame.size();
  } while (offset < in.size());
  return absl::OkStatus();
}

absl::Status CompressAppending(Codec codec, absl::string_view in, int level, std::string* out) {
  switch (codec) {
    case Codec::kUncompressed:
      out->append(in.data(), in.size());
      return absl::OkStatus();
    case Codec::kSnappy:
      return CompressSnappy(in, out);
    case Codec::kGzip:
      return CompressGzip(in, level, out);
    case Codec::kBrotli:
      return CompressBrotli(in, level, out);
    case Codec::kLz4:
      return CompressHadoopLz4(in, out);
    case Codec::kZstd:
      return CompressZstd(in, level, out);
    case Codec::kLz4Raw:
      return AppendLz4Block(in, "LZ4_RAW", out);
    case Codec::kLzo:
      break;
  }
  return absl::UnimplementedError(
      absl::StrCat("compression codec ", CodecName(codec), " is not supported"));
}

}  // namespace

absl::Status Decompress(Codec codec, absl::string_view in, uint8_t* out, size_t out_size) {
  if (codec == Codec::kLzo || !IsKnown(codec)) {
    return absl::UnimplementedError(
        absl::StrCat("compression codec ", CodecName(codec), " is not supported"));
  }
  // Libraries get a valid pointer even for an empty output.
  uint8_t placeholder = 0;
  if (out == nullptr) {
    if (out_size != 0) return absl::InvalidArgumentError("Decompress: null output buffer");
    out = &placeholder;
  }
  // Nothing to decompress: some writers store empty pages with no codec
  // framing at all.
  if (in.empty() && out_size == 0) return absl::OkStatus();
  switch (codec) {
    case Codec::kUncompressed:
      if (in.size() != out_size) return WrongSize("UNCOMPRESSED", in.size(), out_size);
      std::memcpy(out, in.data(), out_size);
      return absl::OkStatus();
    case Codec::kSnappy:
      return DecompressSnappy(in, out, out_size);
    case Codec::kGzip:
      return DecompressGzip(in, out, out_size);
    case Codec::kBrotli:
      return DecompressBrotli(in, out, out_size);
    case Codec::kLz4:
      // Old parquet-cpp wrote bare LZ4 blocks under this codec; Arrow reads
      // both, and so do we.
      if (TryDecompressHadoopLz4(in, out, out_size)) return absl::OkStatus();
      return DecompressLz4Raw(in, out, out_size, "LZ4");
    case Codec::kZstd:
      return DecompressZstd(in, out, out_size);
    case Codec::kLz4Raw:
      return DecompressLz4Raw(in, out, out_size, "LZ4_RAW");
    case Codec::kLzo:
      break;
  }
  return absl::UnimplementedError(
      absl::StrCat("compression codec ", CodecName(codec), " is not supported"));
}

absl::Status Compress(Codec codec, absl::string_view in, std::string* out) {
  return Compress(codec, in, kDefaultLevel, out);
}

absl::Status Compress(Codec codec, absl::string_view in, int level, std::string* out) {
  const size_t at = out->size();
  absl::Status status = CompressAppending(codec, in, level, out);
  if (!status.ok()) out->resize(at);
  return status;
}

}  // namespace pantry::parquet
