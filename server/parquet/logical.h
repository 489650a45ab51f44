// Conversions of Parquet's logical values that several readers share:
// timestamps to a common unit and decimals to doubles.
#pragma once

#include <cstdint>

#include "absl/strings/string_view.h"
#include "server/parquet/metadata.h"

namespace pantry::parquet {

// The double nearest to 10^scale (exact literals up to 10^38).
double Pow10(int scale);

// An unscaled decimal as a double: unscaled / 10^scale in double arithmetic.
double DecimalToDouble(int64_t unscaled, int scale);
// The same for a big-endian two's complement unscaled value (byte arrays).
double DecimalBytesToDouble(absl::string_view big_endian, int scale);

// A timestamp of `unit`s since the epoch in microseconds, floored; saturates
// at the int64 limits.
int64_t ToMicros(int64_t value, TimeUnit unit);

}  // namespace pantry::parquet
