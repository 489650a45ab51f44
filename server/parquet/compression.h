// Page compression codecs of Parquet (apache/parquet-format Compression.md):
// UNCOMPRESSED, SNAPPY, GZIP, BROTLI, LZ4 (the deprecated Hadoop-framed
// variant), ZSTD and LZ4_RAW, over the system libraries (snappy, zlib,
// brotli, lz4, zstd). LZO is not supported.
//
// Every call creates and frees its own library context, so the functions are
// thread-safe and keep no state between calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/parquet/metadata.h"

namespace pantry::parquet {

// Decompresses `in`, compressed with `codec`, into exactly `out_size` bytes
// at `out` (caller-allocated; may be null when out_size is 0). Details:
// - GZIP accepts gzip streams of one or more members, and zlib streams.
// - LZ4 reads Hadoop's framing (per block: big-endian 4-byte uncompressed and
//   compressed sizes, then LZ4 block data) and, like Arrow, falls back to a
//   bare LZ4 block when the framing does not account for the input exactly.
// - Empty input with out_size 0 is accepted for every codec.
// Returns DataLoss when the input is corrupt or does not decompress to
// exactly out_size bytes (the contents of out are then unspecified),
// Unimplemented for LZO and for codec numbers this code does not know (the
// message names the codec), InvalidArgument when a size exceeds what the
// library takes (LZ4: 2^31 - 1 bytes, zlib: 2^32 - 1 bytes).
absl::Status Decompress(Codec codec, absl::string_view in, uint8_t* out, size_t out_size);

// Appends the compressed form of `in` to *out. Default levels: GZIP 6
// (zlib's default), ZSTD 1, BROTLI quality 8; SNAPPY, LZ4, LZ4_RAW and
// UNCOMPRESSED have no level. GZIP writes a single gzip member; LZ4 writes
// Hadoop frames of at most 128 KiB of input each (readable by Hadoop's
// default 256 KiB buffer as well as by Arrow). Returns Unimplemented for LZO
// and unknown codecs, InvalidArgument for a level out of the codec's range
// (GZIP 0..9 or -1, ZSTD its library range, BROTLI 0..11) or an input too
// large for the library, Internal if the library fails anyway. On error *out
// is unchanged.
absl::Status Compress(Codec codec, absl::string_view in, std::string* out);
// As above with an explicit level; ignored by the codecs without levels.
absl::Status Compress(Codec codec, absl::string_view in, int level, std::string* out);

}  // namespace pantry::parquet
