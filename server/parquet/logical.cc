#include "server/parquet/logical.h"

#include <cmath>
#include <limits>

namespace pantry::parquet {

double Pow10(int scale) {
  // Literals, so each is the double nearest to its power of ten (std::pow
  // is not correctly rounded for every exponent).
  static constexpr double kPowers[] = {
      1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11, 1e12,
      1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25,
      1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38};
  if (scale >= 0 && scale <= 38) return kPowers[scale];
  return std::pow(10.0, scale);
}

double DecimalToDouble(int64_t unscaled, int scale) {
  return static_cast<double>(unscaled) / Pow10(scale);
}

double DecimalBytesToDouble(absl::string_view b, int scale) {
  double v = 0;
  if (b.empty()) {
    v = 0;
  } else if (b.size() <= 16) {
    // Exactly rounded up to 16 bytes.
    __int128 x = static_cast<int8_t>(b[0]) < 0 ? -1 : 0;
    for (char c : b) x = (x << 8) | static_cast<uint8_t>(c);
    v = static_cast<double>(x);
  } else {
    const bool negative = static_cast<int8_t>(b[0]) < 0;
    long double x = 0;
    for (char c : b) x = x * 256 + static_cast<uint8_t>(negative ? ~c : c);
    v = static_cast<double>(negative ? -(x + 1) : x);
  }
  return v / Pow10(scale);
}

int64_t ToMicros(int64_t value, TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kMillis: {
      int64_t us;
      if (__builtin_mul_overflow(value, int64_t{1000}, &us)) {
        return value < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
      }
      return us;
    }
    case TimeUnit::kMicros:
      return value;
    case TimeUnit::kNanos: {
      int64_t q = value / 1000;
      if (value % 1000 < 0) --q;
      return q;
    }
  }
  return value;
}

}  // namespace pantry::parquet
