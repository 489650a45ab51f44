#include "server/parquet/compression.h"

#include <zlib.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pantry::parquet {
namespace {

using ::testing::HasSubstr;

constexpr Codec kCodecs[] = {Codec::kUncompressed, Codec::kSnappy, Codec::kGzip,  Codec::kBrotli,
                             Codec::kLz4,          Codec::kZstd,   Codec::kLz4Raw};
constexpr Codec kCompressing[] = {Codec::kSnappy, Codec::kGzip, Codec::kBrotli,
                                  Codec::kLz4,    Codec::kZstd, Codec::kLz4Raw};

std::string Name(Codec c) { return std::to_string(static_cast<int>(c)); }

std::string Compressible(size_t n) {
  std::mt19937 rng(1);
  static const char* kWords[] = {"user_id", "merchant", "feature", "pantry", "0.125", "\n"};
  std::string s;
  while (s.size() < n) s += kWords[rng() % 6];
  s.resize(n);
  return s;
}

std::string Random(size_t n, uint32_t seed = 2) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string MustCompress(Codec codec, const std::string& in) {
  std::string out;
  const absl::Status st = Compress(codec, in, &out);
  EXPECT_TRUE(st.ok()) << Name(codec) << " " << st;
  return out;
}

absl::Status DecompressTo(Codec codec, const std::string& in, size_t size, std::string* out) {
  out->assign(size, '\0');
  // A heap copy of exactly the input, so ASan catches reads past it.
  std::vector<char> heap(in.begin(), in.end());
  return Decompress(codec, absl::string_view(heap.data(), heap.size()),
                    reinterpret_cast<uint8_t*>(out->data()), size);
}

TEST(Compression, RoundTripsEveryCodec) {
  const std::vector<std::string> inputs = {"", "a", "hello, parquet hello, parquet",
                                           Compressible(1 << 20), Random(1 << 20)};
  for (Codec codec : kCodecs) {
    for (const std::string& in : inputs) {
      SCOPED_TRACE(testing::Message() << "codec " << Name(codec) << " size " << in.size());
      const std::string compressed = MustCompress(codec, in);
      std::string out;
      const absl::Status st = DecompressTo(codec, compressed, in.size(), &out);
      ASSERT_TRUE(st.ok()) << st;
      EXPECT_TRUE(out == in);
    }
  }
}

TEST(Compression, CompressesCompressibleData) {
  const std::string in = Compressible(1 << 20);
  for (Codec codec : kCompressing) {
    EXPECT_LT(MustCompress(codec, in).size(), in.size() / 2) << Name(codec);
  }
}

TEST(Compression, AppendsAfterExistingBytes) {
  for (Codec codec : kCodecs) {
    std::string out = "prefix";
    ASSERT_TRUE(Compress(codec, "some page bytes", &out).ok());
    EXPECT_EQ(out.substr(0, 6), "prefix");
    std::string page;
    ASSERT_TRUE(DecompressTo(codec, out.substr(6), 15, &page).ok()) << Name(codec);
    EXPECT_EQ(page, "some page bytes");
  }
}

TEST(Compression, WrongOutputSizeIsDataLoss) {
  for (const std::string& in : {std::string("x"), Compressible(100000), Random(5000)}) {
    for (Codec codec : kCodecs) {
      SCOPED_TRACE(testing::Message() << "codec " << Name(codec) << " size " << in.size());
      const std::string compressed = MustCompress(codec, in);
      std::string out;
      absl::Status st = DecompressTo(codec, compressed, in.size() - 1, &out);
      EXPECT_TRUE(absl::IsDataLoss(st)) << st;
      st = DecompressTo(codec, compressed, in.size() + 1, &out);
      EXPECT_TRUE(absl::IsDataLoss(st)) << st;
      st = DecompressTo(codec, compressed, 0, &out);
      EXPECT_TRUE(absl::IsDataLoss(st)) << st;
    }
  }
}

TEST(Compression, TruncatedInputIsDataLoss) {
  const std::string in = Compressible(200000);
  for (Codec codec : kCompressing) {
    const std::string compressed = MustCompress(codec, in);
    for (size_t cut :
         {size_t{0}, size_t{1}, size_t{7}, compressed.size() / 2, compressed.size() - 1}) {
      std::string out;
      const absl::Status st = DecompressTo(codec, compressed.substr(0, cut), in.size(), &out);
      EXPECT_TRUE(absl::IsDataLoss(st)) << Name(codec) << " cut " << cut << " " << st;
    }
  }
}

TEST(Compression, GarbageInputIsDataLoss) {
  for (Codec codec : kCompressing) {
    for (uint32_t seed = 0; seed < 20; ++seed) {
      const std::string garbage = Random(1 + seed * 37, seed);
      std::string out;
      const absl::Status st = DecompressTo(codec, garbage, 4096, &out);
      EXPECT_TRUE(absl::IsDataLoss(st)) << Name(codec) << " seed " << seed << " " << st;
    }
  }
}

TEST(Compression, CorruptedBytesAreDetectedByChecksummedCodecs) {
  const std::string in = Compressible(50000);
  std::string gz = MustCompress(Codec::kGzip, in);
  gz[gz.size() / 2] = static_cast<char>(gz[gz.size() / 2] ^ 0x55);
  std::string out;
  EXPECT_TRUE(absl::IsDataLoss(DecompressTo(Codec::kGzip, gz, in.size(), &out)));
  std::string gz_trailer = MustCompress(Codec::kGzip, in);
  gz_trailer[gz_trailer.size() - 6] = static_cast<char>(gz_trailer[gz_trailer.size() - 6] ^ 1);
  EXPECT_TRUE(absl::IsDataLoss(DecompressTo(Codec::kGzip, gz_trailer, in.size(), &out)));
}

TEST(Compression, GzipReadsConcatenatedMembersAndZlibStreams) {
  const std::string gz = MustCompress(Codec::kGzip, "abc") + MustCompress(Codec::kGzip, "defgh");
  std::string out;
  ASSERT_TRUE(DecompressTo(Codec::kGzip, gz, 8, &out).ok());
  EXPECT_EQ(out, "abcdefgh");

  const std::string text = Compressible(10000);
  std::string zlib(compressBound(text.size()), '\0');
  uLongf length = zlib.size();
  ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(zlib.data()), &length,
                      reinterpret_cast<const Bytef*>(text.data()), text.size(), 6),
            Z_OK);
  zlib.resize(length);
  ASSERT_TRUE(DecompressTo(Codec::kGzip, zlib, text.size(), &out).ok());
  EXPECT_EQ(out, text);
}

TEST(Compression, GzipWritesAGzipMember) {
  const std::string gz = MustCompress(Codec::kGzip, "abc");
  ASSERT_GE(gz.size(), 18u);
  EXPECT_EQ(static_cast<uint8_t>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<uint8_t>(gz[1]), 0x8b);
}

uint32_t BigEndian(const std::string& s, size_t at) {
  return (uint32_t{static_cast<uint8_t>(s[at])} << 24) |
         (uint32_t{static_cast<uint8_t>(s[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[at + 2])} << 8) | static_cast<uint8_t>(s[at + 3]);
}

std::string BigEndianBytes(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

TEST(Compression, Lz4UsesHadoopFraming) {
  const std::string in = Compressible(300 * 1024);
  const std::string framed = MustCompress(Codec::kLz4, in);
  // Three frames: 128 KiB, 128 KiB, 44 KiB, each [raw size][compressed size][block].
  size_t at = 0;
  std::vector<uint32_t> raw_sizes;
  while (at < framed.size()) {
    ASSERT_LE(at + 8, framed.size());
    raw_sizes.push_back(BigEndian(framed, at));
    at += 8 + BigEndian(framed, at + 4);
  }
  EXPECT_EQ(at, framed.size());
  EXPECT_EQ(raw_sizes, (std::vector<uint32_t>{128 * 1024, 128 * 1024, 44 * 1024}));
  // Each frame's block is plain LZ4.
  std::string first;
  ASSERT_TRUE(
      DecompressTo(Codec::kLz4Raw, framed.substr(8, BigEndian(framed, 4)), 128 * 1024, &first)
          .ok());
  EXPECT_EQ(first, in.substr(0, 128 * 1024));
}

TEST(Compression, Lz4ReadsHadoopFramesWithSeveralChunks) {
  const std::string a = Compressible(1000);
  const std::string b = Random(700);
  const std::string ca = MustCompress(Codec::kLz4Raw, a);
  const std::string cb = MustCompress(Codec::kLz4Raw, b);
  const std::string framed = BigEndianBytes(1700) +
                             BigEndianBytes(static_cast<uint32_t>(ca.size())) + ca +
                             BigEndianBytes(static_cast<uint32_t>(cb.size())) + cb;
  std::string out;
  ASSERT_TRUE(DecompressTo(Codec::kLz4, framed, 1700, &out).ok());
  EXPECT_EQ(out, a + b);
}

TEST(Compression, Lz4FallsBackToARawBlock) {
  // Old parquet-cpp wrote bare LZ4 blocks under codec LZ4.
  const std::string in = Compressible(70000);
  const std::string raw = MustCompress(Codec::kLz4Raw, in);
  std::string out;
  ASSERT_TRUE(DecompressTo(Codec::kLz4, raw, in.size(), &out).ok());
  EXPECT_EQ(out, in);
}

TEST(Compression, AcceptsLevels) {
  const std::string in = Compressible(100000);
  for (auto [codec, level] : std::vector<std::pair<Codec, int>>{{Codec::kGzip, 1},
                                                                {Codec::kGzip, 9},
                                                                {Codec::kGzip, -1},
                                                                {Codec::kZstd, -5},
                                                                {Codec::kZstd, 19},
                                                                {Codec::kBrotli, 0},
                                                                {Codec::kBrotli, 11},
                                                                {Codec::kSnappy, 42}}) {
    std::string compressed;
    ASSERT_TRUE(Compress(codec, in, level, &compressed).ok()) << Name(codec) << " " << level;
    std::string out;
    ASSERT_TRUE(DecompressTo(codec, compressed, in.size(), &out).ok());
    EXPECT_TRUE(out == in);
  }
}

TEST(Compression, RejectsLevelsOutOfRange) {
  for (auto [codec, level] : std::vector<std::pair<Codec, int>>{{Codec::kGzip, 10},
                                                                {Codec::kGzip, -2},
                                                                {Codec::kZstd, 1000},
                                                                {Codec::kBrotli, 12},
                                                                {Codec::kBrotli, -1}}) {
    std::string out = "keep";
    const absl::Status st = Compress(codec, "data", level, &out);
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << Name(codec) << " " << level << " " << st;
    EXPECT_EQ(out, "keep");
  }
}

TEST(Compression, LzoAndUnknownCodecsAreUnimplemented) {
  std::string out;
  absl::Status st = Compress(Codec::kLzo, "data", &out);
  EXPECT_TRUE(absl::IsUnimplemented(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("LZO"));
  EXPECT_TRUE(out.empty());
  uint8_t buffer[4];
  st = Decompress(Codec::kLzo, "data", buffer, 4);
  EXPECT_TRUE(absl::IsUnimplemented(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("LZO"));
  st = Decompress(static_cast<Codec>(42), "data", buffer, 4);
  EXPECT_TRUE(absl::IsUnimplemented(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("42"));
  EXPECT_TRUE(absl::IsUnimplemented(Compress(static_cast<Codec>(42), "data", &out)));
}

TEST(Compression, EmptyInputAndOutputNeedNoBuffer) {
  for (Codec codec : kCodecs) {
    EXPECT_TRUE(Decompress(codec, "", nullptr, 0).ok()) << Name(codec);
    const std::string compressed = MustCompress(codec, "");
    EXPECT_TRUE(Decompress(codec, compressed, nullptr, 0).ok()) << Name(codec);
  }
  EXPECT_TRUE(absl::IsInvalidArgument(Decompress(Codec::kSnappy, "x", nullptr, 1)));
}

TEST(Compression, UncompressedChecksTheSize) {
  std::string out;
  EXPECT_TRUE(absl::IsDataLoss(DecompressTo(Codec::kUncompressed, "abc", 4, &out)));
  ASSERT_TRUE(DecompressTo(Codec::kUncompressed, "abc", 3, &out).ok());
  EXPECT_EQ(out, "abc");
}

}  // namespace
}  // namespace pantry::parquet
