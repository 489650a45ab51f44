#include "server/transform/aggregate.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "server/value/encoding.h"

namespace pantry::transform {
namespace {

// --- bytes ------------------------------------------------------------------

uint64_t Load64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void PutFixed64(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool GetFixed64(absl::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = Load64(in->data());
  in->remove_prefix(8);
  return true;
}

void PutDouble(double d, std::string* out) { PutFixed64(std::bit_cast<uint64_t>(d), out); }

bool GetDouble(absl::string_view* in, double* d) {
  uint64_t v;
  if (!GetFixed64(in, &v)) return false;
  *d = std::bit_cast<double>(v);
  return true;
}

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(absl::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

void PutSigned(int64_t v, std::string* out) {
  PutVarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63), out);
}

bool GetSigned(absl::string_view* in, int64_t* v) {
  uint64_t u;
  if (!GetVarint(in, &u)) return false;
  *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

void PutString(absl::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s.data(), s.size());
}

bool GetString(absl::string_view* in, std::string* s) {
  uint64_t n;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  s->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

// --- numbers ----------------------------------------------------------------

bool IsFloating(ValueType t) { return t == ValueType::kFloat || t == ValueType::kDouble; }

int64_t AsInt(const Value& v) {
  switch (v.type()) {
    case ValueType::kInt32: return v.get<int32_t>();
    case ValueType::kBool: return v.get<bool>() ? 1 : 0;
    default: return v.get<int64_t>();  // INT64, UNIX_TIMESTAMP
  }
}

double AsDouble(const Value& v) {
  switch (v.type()) {
    case ValueType::kFloat: return v.get<float>();
    case ValueType::kDouble: return v.get<double>();
    default: return static_cast<double>(AsInt(v));
  }
}

// Neumaier's compensated sum: (sum, compensation) += x.
void CompensatedAdd(double x, double* sum, double* comp) {
  const double t = *sum + x;
  if (std::fabs(*sum) >= std::fabs(x)) {
    *comp += (*sum - t) + x;
  } else {
    *comp += (x - t) + *sum;
  }
  *sum = t;
}

// --- HyperLogLog --------------------------------------------------------------
//
// 2^12 registers (standard error about 1.6%), a 64-bit hash of each value's
// encoding, the raw estimate with linear counting below 2.5 m. A state is
// sparse (sorted (index << 8 | rank) words packed 4 bytes each) until it
// would be larger than the dense form's quarter, then dense (one byte per
// register). Both forms hold the same registers, so the estimate depends on
// the values only, never on how the states were merged.
constexpr int kHllBits = 12;
constexpr size_t kHllRegisters = size_t{1} << kHllBits;
constexpr size_t kHllSparseMax = kHllRegisters / 16;  // words
constexpr uint64_t kHllSeed = 0x9e3779b97f4a7c15ULL;
constexpr uint8_t kHllEmpty = 0, kHllSparse = 1, kHllDense = 2;

struct HllView {
  // registers_: [mode][payload]
  static uint8_t Mode(const std::vector<uint8_t>& r) { return r.empty() ? kHllEmpty : r[0]; }
  static size_t SparseWords(const std::vector<uint8_t>& r) { return (r.size() - 1) / 4; }
  static uint32_t Word(const std::vector<uint8_t>& r, size_t i) {
    uint32_t w;
    std::memcpy(&w, r.data() + 1 + 4 * i, 4);
    return w;
  }
};

void HllToDense(std::vector<uint8_t>* r) {
  std::vector<uint8_t> dense(1 + kHllRegisters, 0);
  dense[0] = kHllDense;
  if (HllView::Mode(*r) == kHllSparse) {
    for (size_t i = 0, n = HllView::SparseWords(*r); i < n; ++i) {
      const uint32_t w = HllView::Word(*r, i);
      dense[1 + (w >> 8)] = static_cast<uint8_t>(w & 0xff);
    }
  }
  r->swap(dense);
}

void HllSet(uint32_t index, uint8_t rank, std::vector<uint8_t>* r) {
  if (HllView::Mode(*r) == kHllEmpty) r->assign(1, kHllSparse);
  if (HllView::Mode(*r) == kHllDense) {
    uint8_t& reg = (*r)[1 + index];
    reg = std::max(reg, rank);
    return;
  }
  // Sparse: binary search by index.
  size_t lo = 0, hi = HllView::SparseWords(*r);
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if ((HllView::Word(*r, mid) >> 8) < index) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < HllView::SparseWords(*r) && (HllView::Word(*r, lo) >> 8) == index) {
    if ((HllView::Word(*r, lo) & 0xff) < rank) {
      const uint32_t w = (index << 8) | rank;
      std::memcpy(r->data() + 1 + 4 * lo, &w, 4);
    }
    return;
  }
  if (HllView::SparseWords(*r) + 1 > kHllSparseMax) {
    HllToDense(r);
    HllSet(index, rank, r);
    return;
  }
  const uint32_t w = (index << 8) | rank;
  uint8_t bytes[4];
  std::memcpy(bytes, &w, 4);
  r->insert(r->begin() + 1 + 4 * static_cast<std::ptrdiff_t>(lo), bytes, bytes + 4);
}

void HllAdd(absl::string_view encoding, std::vector<uint8_t>* r) {
  const uint64_t h = Hash64(encoding, kHllSeed);
  const uint32_t index = static_cast<uint32_t>(h >> (64 - kHllBits));
  const uint64_t rest = h << kHllBits;
  const int rank = rest == 0 ? 64 - kHllBits + 1 : std::countl_zero(rest) + 1;
  HllSet(index, static_cast<uint8_t>(rank), r);
}

void HllMerge(const std::vector<uint8_t>& from, std::vector<uint8_t>* into) {
  switch (HllView::Mode(from)) {
    case kHllEmpty: return;
    case kHllSparse:
      for (size_t i = 0, n = HllView::SparseWords(from); i < n; ++i) {
        const uint32_t w = HllView::Word(from, i);
        HllSet(w >> 8, static_cast<uint8_t>(w & 0xff), into);
      }
      return;
    default:
      if (HllView::Mode(*into) != kHllDense) HllToDense(into);
      for (size_t j = 0; j < kHllRegisters; ++j) {
        (*into)[1 + j] = std::max((*into)[1 + j], from[1 + j]);
      }
  }
}

int64_t HllEstimate(const std::vector<uint8_t>& r) {
  const double m = static_cast<double>(kHllRegisters);
  double sum = 0;
  size_t zeros = kHllRegisters;
  if (HllView::Mode(r) == kHllSparse) {
    const size_t n = HllView::SparseWords(r);
    for (size_t i = 0; i < n; ++i) sum += std::ldexp(1.0, -static_cast<int>(HllView::Word(r, i) & 0xff));
    zeros -= n;
    sum += static_cast<double>(zeros);
  } else if (HllView::Mode(r) == kHllDense) {
    zeros = 0;
    for (size_t j = 0; j < kHllRegisters; ++j) {
      const uint8_t reg = r[1 + j];
      if (reg == 0) ++zeros;
      sum += std::ldexp(1.0, -static_cast<int>(reg));
    }
  } else {
    return 0;
  }
  const double alpha = 0.7213 / (1 + 1.079 / m);
  double estimate = alpha * m * m / sum;
  if (estimate <= 2.5 * m && zeros > 0) estimate = m * std::log(m / static_cast<double>(zeros));
  return std::llround(estimate);
}

void EncodeHll(const std::vector<uint8_t>& r, std::string* out) {
  const uint8_t mode = HllView::Mode(r);
  out->push_back(static_cast<char>(mode));
  if (mode == kHllSparse) {
    const size_t n = HllView::SparseWords(r);
    PutVarint(n, out);
    for (size_t i = 0; i < n; ++i) PutVarint(HllView::Word(r, i), out);
  } else if (mode == kHllDense) {
    out->append(reinterpret_cast<const char*>(r.data() + 1), kHllRegisters);
  }
}

bool DecodeHll(absl::string_view* in, std::vector<uint8_t>* r) {
  if (in->empty()) return false;
  const uint8_t mode = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  r->clear();
  if (mode == kHllEmpty) return true;
  if (mode == kHllSparse) {
    uint64_t n;
    if (!GetVarint(in, &n) || n > kHllSparseMax) return false;
    r->push_back(kHllSparse);
    uint32_t previous = 0;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t w;
      if (!GetVarint(in, &w) || w > UINT32_MAX || (w >> 8) >= kHllRegisters) return false;
      if (i > 0 && (w >> 8) <= (previous >> 8)) return false;
      previous = static_cast<uint32_t>(w);
      const uint32_t word = previous;
      uint8_t bytes[4];
      std::memcpy(bytes, &word, 4);
      r->insert(r->end(), bytes, bytes + 4);
    }
    return true;
  }
  if (mode != kHllDense || in->size() < kHllRegisters) return false;
  r->assign(1, kHllDense);
  r->insert(r->end(), in->begin(), in->begin() + kHllRegisters);
  in->remove_prefix(kHllRegisters);
  return true;
}

// --- latest values ------------------------------------------------------------

using Latest = std::vector<std::pair<EventKey, std::string>>;

// Merges `from` into `into` (both newest first), keeping at most `n`.
void MergeLatest(const Latest& from, size_t n, Latest* into) {
  Latest merged;
  merged.reserve(std::min(n, from.size() + into->size()));
  size_t i = 0, j = 0;
  while (merged.size() < n && (i < into->size() || j < from.size())) {
    if (j == from.size() || (i < into->size() && from[j].first < (*into)[i].first)) {
      merged.push_back(std::move((*into)[i++]));
    } else if (i == into->size() || (*into)[i].first < from[j].first) {
      merged.push_back(from[j++]);
    } else {  // the same event in both
      merged.push_back(std::move((*into)[i++]));
      ++j;
    }
  }
  into->swap(merged);
}

Value DecodeOrNull(absl::string_view encoding, ValueType type) {
  absl::StatusOr<Value> v = DecodeValue(encoding);
  if (!v.ok()) return Value::Null(type);
  if (v->type() != type) {
    absl::StatusOr<Value> cast = v->CastTo(type);
    return cast.ok() ? *std::move(cast) : Value::Null(type);
  }
  return *std::move(v);
}

Value ListOf(ValueType element, const Latest& latest) {
  std::vector<Value> values;
  for (const auto& [key, encoding] : latest) values.push_back(DecodeOrNull(encoding, element));
  switch (element) {
    case ValueType::kInt32: {
      std::vector<int32_t> v;
      for (const Value& x : values) v.push_back(x.is_null() ? 0 : x.get<int32_t>());
      return Value::Int32List(std::move(v));
    }
    case ValueType::kInt64:
    case ValueType::kUnixTimestamp: {
      std::vector<int64_t> v;
      for (const Value& x : values) v.push_back(x.is_null() ? 0 : x.get<int64_t>());
      return element == ValueType::kInt64 ? Value::Int64List(std::move(v))
                                          : Value::UnixTimestampList(std::move(v));
    }
    case ValueType::kFloat: {
      std::vector<float> v;
      for (const Value& x : values) v.push_back(x.is_null() ? 0 : x.get<float>());
      return Value::FloatList(std::move(v));
    }
    case ValueType::kDouble: {
      std::vector<double> v;
      for (const Value& x : values) v.push_back(x.is_null() ? 0 : x.get<double>());
      return Value::DoubleList(std::move(v));
    }
    case ValueType::kBool: {
      std::vector<bool> v;
      for (const Value& x : values) v.push_back(!x.is_null() && x.get<bool>());
      return Value::BoolList(std::move(v));
    }
    case ValueType::kString:
    case ValueType::kBytes: {
      std::vector<std::string> v;
      for (Value& x : values) v.push_back(x.is_null() ? std::string() : x.get<std::string>());
      return element == ValueType::kString ? Value::StringList(std::move(v))
                                           : Value::BytesList(std::move(v));
    }
    default: return Value::Null(static_cast<ValueType>(static_cast<uint8_t>(element) + 10));
  }
}

uint32_t SpecId(const TileSpec& spec, absl::string_view column_name) {
  // The column's type too: a state of another type is another spec (read
  // as missing until healed, never misread).
  const std::string text =
      absl::StrCat(static_cast<int>(spec.function), "|", column_name, "|",
                   static_cast<int>(spec.column_type), "|", spec.n, "|", spec.hop);
  return static_cast<uint32_t>(Hash64(text, 0x7469'6c65));  // "tile"
}

}  // namespace

// MurmurHash64A's mixing, with an explicit little-endian load so that the
// hash is the same on every machine.
uint64_t Hash64(absl::string_view bytes, uint64_t seed) {
  constexpr uint64_t m = 0xc6a4a7935bd1e995ULL;
  constexpr int r = 47;
  uint64_t h = seed ^ (static_cast<uint64_t>(bytes.size()) * m);
  const char* p = bytes.data();
  const size_t blocks = bytes.size() / 8;
  for (size_t i = 0; i < blocks; ++i, p += 8) {
    uint64_t k = Load64(p);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const size_t tail = bytes.size() & 7;
  if (tail != 0) {
    uint64_t k = 0;
    for (size_t i = tail; i-- > 0;) k = (k << 8) | static_cast<uint8_t>(p[i]);
    h ^= k;
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

void EventIdBuilder::AddValue(const Value& v) { EncodeValue(v, &bytes_); }

void EventIdBuilder::AddTime(Micros t) { PutFixed64(static_cast<uint64_t>(t), &bytes_); }

uint64_t EventIdBuilder::Finish() const { return Hash64(bytes_, 0x6576'656e'7473ULL); }

Micros AggregationPlan::Horizon() const { return longest_window + largest_hop; }

AggregationPlan MakePlan(const FeatureView& view, Micros allowed_lateness) {
  AggregationPlan plan;
  plan.allowed_lateness = allowed_lateness;
  const std::vector<Feature>& columns = view.written_columns();
  for (const Aggregation& a : view.aggregations) {
    TileSpec spec;
    spec.function = a.function;
    spec.column = a.column.empty() ? -1 : view.WrittenColumnIndex(a.column);
    spec.column_type = a.column_type;
    spec.n = a.n;
    spec.hop = a.hop;
    spec.id = SpecId(spec, a.column);
    int index = -1;
    for (size_t k = 0; k < plan.specs.size(); ++k) {
      if (plan.specs[k].id == spec.id) index = static_cast<int>(k);
    }
    if (index < 0) {
      index = static_cast<int>(plan.specs.size());
      plan.specs.push_back(spec);
    }
    AggregationPlan::Output out;
    out.spec = index;
    out.window = a.window;
    out.dtype = a.dtype;
    plan.outputs.push_back(out);
    plan.longest_window = std::max(plan.longest_window, a.window);
    plan.largest_hop = std::max(plan.largest_hop, a.hop);
    if (std::find(plan.hops.begin(), plan.hops.end(), a.hop) == plan.hops.end()) {
      plan.hops.push_back(a.hop);
    }
    if (spec.column >= 0 &&
        std::find(plan.used_columns.begin(), plan.used_columns.end(), spec.column) ==
            plan.used_columns.end()) {
      plan.used_columns.push_back(spec.column);
    }
  }
  std::sort(plan.hops.begin(), plan.hops.end());
  std::sort(plan.used_columns.begin(), plan.used_columns.end());
  for (int c : plan.used_columns) {
    plan.used_column_ids.push_back(FeatureId(columns[static_cast<size_t>(c)].name));
    plan.used_column_types.push_back(columns[static_cast<size_t>(c)].dtype);
  }
  plan.specs_of_hop.resize(plan.hops.size());
  plan.longest_window_of_hop.assign(plan.hops.size(), 0);
  for (size_t k = 0; k < plan.specs.size(); ++k) {
    TileSpec& spec = plan.specs[k];
    spec.hop_set = static_cast<int>(std::find(plan.hops.begin(), plan.hops.end(), spec.hop) -
                                    plan.hops.begin());
    spec.local = static_cast<int>(plan.specs_of_hop[spec.hop_set].size());
    plan.specs_of_hop[spec.hop_set].push_back(static_cast<int>(k));
    spec.slot = spec.column < 0
                    ? -1
                    : static_cast<int>(std::find(plan.used_columns.begin(), plan.used_columns.end(),
                                                 spec.column) -
                                       plan.used_columns.begin());
  }
  plan.outputs_of_hop.resize(plan.hops.size());
  for (size_t o = 0; o < plan.outputs.size(); ++o) {
    AggregationPlan::Output& out = plan.outputs[o];
    out.hop_set = plan.specs[static_cast<size_t>(out.spec)].hop_set;
    plan.outputs_of_hop[static_cast<size_t>(out.hop_set)].push_back(static_cast<int>(o));
    Micros& longest = plan.longest_window_of_hop[out.hop_set];
    longest = std::max(longest, out.window);
  }
  return plan;
}

// --- State --------------------------------------------------------------------

void State::Add(const TileSpec& spec, const Value& value, const EventKey& key) {
  if (spec.function == AggFunction::kCount) {
    if (spec.column < 0 || !value.is_null()) ++n_;
    return;
  }
  if (value.is_null()) return;
  const bool floating = IsFloating(spec.column_type);
  switch (spec.function) {
    case AggFunction::kSum:
      ++n_;
      if (floating) {
        CompensatedAdd(AsDouble(value), &a_, &b_);
      } else {
        i_ = static_cast<int64_t>(static_cast<uint64_t>(i_) + static_cast<uint64_t>(AsInt(value)));
      }
      return;
    case AggFunction::kMean:
      ++n_;
      CompensatedAdd(AsDouble(value), &a_, &b_);
      return;
    case AggFunction::kStddev: {
      ++n_;
      const double x = AsDouble(value);
      const double d = x - a_;
      a_ += d / static_cast<double>(n_);
      b_ += d * (x - a_);
      return;
    }
    case AggFunction::kMin:
    case AggFunction::kMax: {
      const bool is_min = spec.function == AggFunction::kMin;
      if (floating) {
        const double x = AsDouble(value);
        if (std::isnan(x)) return;
        if (n_ == 0 || (is_min ? x < a_ : x > a_)) a_ = x;
      } else {
        const int64_t x = AsInt(value);
        if (n_ == 0 || (is_min ? x < i_ : x > i_)) i_ = x;
      }
      n_ = 1;
      return;
    }
    case AggFunction::kLast:
      if (latest_.empty()) {
        latest_.emplace_back(key, EncodeValue(value));
      } else if (latest_[0].first < key) {
        latest_[0].first = key;
        latest_[0].second = EncodeValue(value);
      }
      n_ = 1;
      return;
    case AggFunction::kLastN: {
      const size_t n = static_cast<size_t>(std::max(spec.n, 1));
      if (latest_.size() == n && !(latest_.back().first < key)) return;
      auto at = latest_.begin();
      while (at != latest_.end() && key < at->first) ++at;
      if (at != latest_.end() && at->first == key) return;
      latest_.insert(at, {key, EncodeValue(value)});
      if (latest_.size() > n) latest_.pop_back();
      n_ = static_cast<int64_t>(latest_.size());
      return;
    }
    case AggFunction::kApproxCountDistinct:
      ++n_;
      HllAdd(EncodeValue(value), &registers_);
      return;
    case AggFunction::kCount: return;
  }
}

void State::Merge(const TileSpec& spec, const State& other) {
  if (other.n_ == 0) return;
  const bool floating = IsFloating(spec.column_type);
  switch (spec.function) {
    case AggFunction::kCount: n_ += other.n_; return;
    case AggFunction::kSum:
    case AggFunction::kMean:
      n_ += other.n_;
      if (spec.function == AggFunction::kSum && !floating) {
        i_ = static_cast<int64_t>(static_cast<uint64_t>(i_) + static_cast<uint64_t>(other.i_));
      } else {
        CompensatedAdd(other.a_, &a_, &b_);
        b_ += other.b_;
      }
      return;
    case AggFunction::kStddev: {
      if (n_ == 0) {
        n_ = other.n_;
        a_ = other.a_;
        b_ = other.b_;
        return;
      }
      const double na = static_cast<double>(n_), nb = static_cast<double>(other.n_);
      const double n = na + nb;
      const double d = other.a_ - a_;
      a_ += d * nb / n;
      b_ += other.b_ + d * d * na * nb / n;
      n_ += other.n_;
      return;
    }
    case AggFunction::kMin:
    case AggFunction::kMax: {
      const bool is_min = spec.function == AggFunction::kMin;
      if (floating) {
        if (n_ == 0 || (is_min ? other.a_ < a_ : other.a_ > a_)) a_ = other.a_;
      } else {
        if (n_ == 0 || (is_min ? other.i_ < i_ : other.i_ > i_)) i_ = other.i_;
      }
      n_ = 1;
      return;
    }
    case AggFunction::kLast:
      if (latest_.empty() || latest_[0].first < other.latest_[0].first) {
        latest_.assign(other.latest_.begin(), other.latest_.begin() + 1);
      }
      n_ = 1;
      return;
    case AggFunction::kLastN:
      MergeLatest(other.latest_, static_cast<size_t>(std::max(spec.n, 1)), &latest_);
      n_ = static_cast<int64_t>(latest_.size());
      return;
    case AggFunction::kApproxCountDistinct:
      n_ += other.n_;
      HllMerge(other.registers_, &registers_);
      return;
  }
}

Value State::Finalize(const TileSpec& spec, ValueType dtype) const {
  if (spec.function == AggFunction::kCount) return Value::Int64(n_);
  if (n_ == 0) return Value::Null(dtype);
  const bool floating = IsFloating(spec.column_type);
  switch (spec.function) {
    case AggFunction::kSum:
      return floating ? Value::Double(a_ + b_) : Value::Int64(i_);
    case AggFunction::kMean: return Value::Double((a_ + b_) / static_cast<double>(n_));
    case AggFunction::kStddev:
      return Value::Double(std::sqrt(std::max(0.0, b_ / static_cast<double>(n_))));
    case AggFunction::kMin:
    case AggFunction::kMax:
      if (floating) return Value::Double(a_);
      return dtype == ValueType::kUnixTimestamp ? Value::UnixTimestamp(i_) : Value::Int64(i_);
    case AggFunction::kLast: return DecodeOrNull(latest_[0].second, dtype);
    case AggFunction::kLastN: return ListOf(ElementType(dtype), latest_);
    case AggFunction::kApproxCountDistinct: return Value::Int64(HllEstimate(registers_));
    case AggFunction::kCount: break;
  }
  return Value::Null(dtype);
}

void State::Encode(const TileSpec& spec, std::string* out) const {
  PutVarint(static_cast<uint64_t>(n_), out);
  if (n_ == 0) return;
  const bool floating = IsFloating(spec.column_type);
  switch (spec.function) {
    case AggFunction::kCount: return;
    case AggFunction::kSum:
    case AggFunction::kMean:
      if (spec.function == AggFunction::kSum && !floating) {
        PutSigned(i_, out);
      } else {
        PutDouble(a_, out);
        PutDouble(b_, out);
      }
      return;
    case AggFunction::kStddev:
      PutDouble(a_, out);
      PutDouble(b_, out);
      return;
    case AggFunction::kMin:
    case AggFunction::kMax:
      if (floating) {
        PutDouble(a_, out);
      } else {
        PutSigned(i_, out);
      }
      return;
    case AggFunction::kLast:
    case AggFunction::kLastN:
      PutVarint(latest_.size(), out);
      for (const auto& [key, encoding] : latest_) {
        PutSigned(key.time, out);
        PutFixed64(key.id, out);
        PutString(encoding, out);
      }
      return;
    case AggFunction::kApproxCountDistinct: EncodeHll(registers_, out); return;
  }
}

bool State::Decode(const TileSpec& spec, absl::string_view* in) {
  *this = State();
  uint64_t n;
  if (!GetVarint(in, &n) || n > static_cast<uint64_t>(INT64_MAX)) return false;
  n_ = static_cast<int64_t>(n);
  if (n_ == 0) return true;
  const bool floating = IsFloating(spec.column_type);
  switch (spec.function) {
    case AggFunction::kCount: return true;
    case AggFunction::kSum:
    case AggFunction::kMean:
      if (spec.function == AggFunction::kSum && !floating) return GetSigned(in, &i_);
      return GetDouble(in, &a_) && GetDouble(in, &b_);
    case AggFunction::kStddev: return GetDouble(in, &a_) && GetDouble(in, &b_);
    case AggFunction::kMin:
    case AggFunction::kMax: return floating ? GetDouble(in, &a_) : GetSigned(in, &i_);
    case AggFunction::kLast:
    case AggFunction::kLastN: {
      uint64_t count;
      if (!GetVarint(in, &count) || count > 1000) return false;
      latest_.resize(count);
      for (auto& [key, encoding] : latest_) {
        if (!GetSigned(in, &key.time) || !GetFixed64(in, &key.id) || !GetString(in, &encoding)) {
          return false;
        }
      }
      return true;
    }
    case AggFunction::kApproxCountDistinct: return DecodeHll(in, &registers_);
  }
  return false;
}

// --- EntityState ----------------------------------------------------------------

namespace {

const Value& NullValue() {
  static const Value* null = new Value(Value::Null(ValueType::kInt64));
  return *null;
}

// The value an event holds for `spec` (a null for a count of events).
const Value& ValueFor(const TileSpec& spec, const EntityState::RawEvent& e) {
  if (spec.slot < 0 || static_cast<size_t>(spec.slot) >= e.values.size()) return NullValue();
  return e.values[static_cast<size_t>(spec.slot)];
}

bool KeyLess(const EntityState::RawEvent& a, const EntityState::RawEvent& b) {
  return a.key < b.key;
}

}  // namespace

EntityState::EntityState(const AggregationPlan* plan) : plan_(plan) {
  sets_.resize(plan->hops.size());
  for (size_t h = 0; h < sets_.size(); ++h) {
    sets_[h].complete_from.assign(plan->specs_of_hop[h].size(), kNoTimestamp);
  }
}

void EntityState::AddToTile(size_t h, const RawEvent& e) {
  const Micros hop = plan_->hops[h];
  const int64_t index = FloorTo(e.key.time, hop) / hop;
  std::vector<Tile>& tiles = sets_[h].tiles;
  auto it = tiles.end();
  if (tiles.empty() || tiles.back().index < index) {
    Tile t;
    t.index = index;
    t.states.resize(plan_->specs_of_hop[h].size());
    tiles.push_back(std::move(t));
    it = tiles.end() - 1;
  } else {
    it = std::lower_bound(tiles.begin(), tiles.end(), index,
                          [](const Tile& t, int64_t i) { return t.index < i; });
    if (it == tiles.end() || it->index != index) {
      Tile t;
      t.index = index;
      t.states.resize(plan_->specs_of_hop[h].size());
      it = tiles.insert(it, std::move(t));
    }
  }
  const std::vector<int>& specs = plan_->specs_of_hop[h];
  for (size_t k = 0; k < specs.size(); ++k) {
    const TileSpec& spec = plan_->specs[static_cast<size_t>(specs[k])];
    it->states[k].Add(spec, ValueFor(spec, e), e.key);
  }
}

void EntityState::Fold(Micros now) {
  if (newest_ == kNoTimestamp) return;
  const Micros target = std::min(newest_ - plan_->allowed_lateness, now);
  const Micros next = boundary_ == kNoTimestamp ? target : std::max(boundary_, target);
  Micros lowest = next;  // the lowest fold line of any hop: raw events below it are all folded
  for (size_t h = 0; h < sets_.size(); ++h) {
    const Micros hop = plan_->hops[h];
    const Micros from = boundary_ == kNoTimestamp ? kNoTimestamp : FloorTo(boundary_, hop);
    const Micros to = FloorTo(next, hop);
    lowest = std::min(lowest, to);
    if (from != kNoTimestamp && to <= from) continue;
    for (const RawEvent& e : raw_) {
      if (e.key.time >= to) break;
      if (from == kNoTimestamp || e.key.time >= from) AddToTile(h, e);
    }
  }
  boundary_ = next;
  auto keep = std::find_if(raw_.begin(), raw_.end(),
                           [&](const RawEvent& e) { return e.key.time >= lowest; });
  raw_.erase(raw_.begin(), keep);
}

void EntityState::Prune(Micros now) {
  for (size_t h = 0; h < sets_.size(); ++h) {
    const Micros hop = plan_->hops[h];
    // One hop of slack for readers whose clock is a little behind.
    const int64_t first =
        WindowStart(now, plan_->longest_window_of_hop[h], hop) / hop - 1;
    std::vector<Tile>& tiles = sets_[h].tiles;
    auto keep = std::find_if(tiles.begin(), tiles.end(),
                             [&](const Tile& t) { return t.index >= first; });
    if (keep != tiles.begin()) {
      sets_[h].pruned_before = std::max(sets_[h].pruned_before, (keep - 1)->index * hop + hop);
    }
    tiles.erase(tiles.begin(), keep);
  }
}

EntityState::ApplyStats EntityState::Apply(std::vector<RawEvent> events, Micros now) {
  ApplyStats stats;
  std::sort(events.begin(), events.end(), KeyLess);
  // Also anything before the fold boundary, which cannot be recognised as a
  // duplicate any more (only after allowed_lateness was raised is it later
  // than newest - allowed_lateness).
  const Micros late_before =
      newest_ == kNoTimestamp ? kNoTimestamp
                              : std::max(newest_ - plan_->allowed_lateness,
                                         boundary_ == kNoTimestamp ? kNoTimestamp : boundary_);
  for (RawEvent& e : events) {
    if (late_before != kNoTimestamp && e.key.time < late_before) {
      ++stats.late;
      continue;
    }
    auto at = std::lower_bound(raw_.begin(), raw_.end(), e, KeyLess);
    if (at != raw_.end() && at->key == e.key) {
      ++stats.duplicate;
      continue;
    }
    newest_ = newest_ == kNoTimestamp ? e.key.time : std::max(newest_, e.key.time);
    raw_.insert(at, std::move(e));
    ++stats.applied;
  }
  Fold(now);
  Prune(now);
  return stats;
}

void EntityState::Read(Micros t, std::vector<Value>* values, std::vector<bool>* present) const {
  values->clear();
  present->clear();
  for (const AggregationPlan::Output& out : plan_->outputs) {
    const TileSpec& spec = plan_->specs[static_cast<size_t>(out.spec)];
    const Micros hop = plan_->hops[static_cast<size_t>(out.hop_set)];
    const TileSet& set = sets_[static_cast<size_t>(out.hop_set)];
    const Micros start = WindowStart(t, out.window, hop);
    const Micros complete_from = set.complete_from[static_cast<size_t>(spec.local)];
    // A window longer than when tiles were dropped reaches before them.
    if ((complete_from != kNoTimestamp && start < complete_from) ||
        (set.pruned_before != kNoTimestamp && start < set.pruned_before)) {
      values->push_back(Value::Null(out.dtype));
      present->push_back(false);
      continue;
    }
    State acc;
    const int64_t first = start / hop;  // start is a multiple of hop
    auto tile = std::lower_bound(set.tiles.begin(), set.tiles.end(), first,
                                 [](const Tile& x, int64_t i) { return x.index < i; });
    for (; tile != set.tiles.end(); ++tile) {
      acc.Merge(spec, tile->states[static_cast<size_t>(spec.local)]);
    }
    const Micros folded = boundary_ == kNoTimestamp ? kNoTimestamp : FloorTo(boundary_, hop);
    const Micros raw_from = folded == kNoTimestamp ? start : std::max(start, folded);
    for (const RawEvent& e : raw_) {
      if (e.key.time > t) break;
      if (e.key.time >= raw_from) acc.Add(spec, ValueFor(spec, e), e.key);
    }
    values->push_back(acc.Finalize(spec, out.dtype));
    present->push_back(true);
  }
}

bool EntityState::Heal(std::vector<RawEvent> history, Micros fold_boundary, Micros now) {
  for (Micros hop : plan_->hops) {
    const Micros was = fold_boundary == kNoTimestamp ? kNoTimestamp : FloorTo(fold_boundary, hop);
    const Micros is = boundary_ == kNoTimestamp ? kNoTimestamp : FloorTo(boundary_, hop);
    if (was != is) return false;
  }
  SortAndDedupe(&history);
  EntityState healed(plan_);
  healed.boundary_ = boundary_;
  healed.newest_ = newest_;
  if (!history.empty()) {
    const Micros last = history.back().key.time;
    healed.newest_ = newest_ == kNoTimestamp ? last : std::max(newest_, last);
  }
  Micros lowest = kNoTimestamp;
  for (size_t h = 0; h < plan_->hops.size(); ++h) {
    if (boundary_ == kNoTimestamp) break;
    const Micros to = FloorTo(boundary_, plan_->hops[h]);
    lowest = lowest == kNoTimestamp ? to : std::min(lowest, to);
    for (const RawEvent& e : history) {
      if (e.key.time >= to) break;
      healed.AddToTile(h, e);
    }
  }
  // Raw: what this state holds raw, and the history's events at or after
  // the lowest fold line (late ones included: healing brings them in).
  std::vector<RawEvent> raw = raw_;
  for (RawEvent& e : history) {
    if (lowest == kNoTimestamp || e.key.time >= lowest) raw.push_back(std::move(e));
  }
  SortAndDedupe(&raw);
  healed.raw_ = std::move(raw);
  healed.Fold(now);
  healed.Prune(now);
  newest_ = healed.newest_;
  boundary_ = healed.boundary_;
  raw_ = std::move(healed.raw_);
  sets_ = std::move(healed.sets_);
  return true;
}

Micros EntityState::Expiry(Micros now) const {
  if (newest_ == kNoTimestamp) return 0;
  const Micros useful_until = std::max(newest_, boundary_ == kNoTimestamp ? newest_ : boundary_) +
                              plan_->Horizon() + plan_->largest_hop;
  return std::max(useful_until - now, 60 * kMicrosPerSecond);
}

// Layout (all integers varints unless said; "signed" ones zigzag):
//   1 byte  format (1)
//   1 byte  flags: 1 newest set, 2 boundary set
//   signed newest, signed boundary (when set)
//   raw events: count; each: signed time, 8 bytes id, column count, and per
//     column its 4-byte id (FeatureId of the name) and its value encoding
//   tile sets: count; each: hop (micros), signed pruned_before (tiles before
//     it were dropped; kNoTimestamp: none), spec count, per spec its 4-byte id
//     and signed complete_from (kNoTimestamp: complete), tile count, and per
//     tile its signed index delta and per spec its state's byte length and
//     bytes
std::string EntityState::Encode() const {
  std::string out;
  out.push_back(1);
  out.push_back(static_cast<char>((newest_ != kNoTimestamp ? 1 : 0) |
                                  (boundary_ != kNoTimestamp ? 2 : 0)));
  if (newest_ != kNoTimestamp) PutSigned(newest_, &out);
  if (boundary_ != kNoTimestamp) PutSigned(boundary_, &out);
  PutVarint(raw_.size(), &out);
  for (const RawEvent& e : raw_) {
    PutSigned(e.key.time, &out);
    PutFixed64(e.key.id, &out);
    PutVarint(e.values.size(), &out);
    for (size_t c = 0; c < e.values.size(); ++c) {
      const uint32_t id = plan_->used_column_ids[c];
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((id >> (8 * i)) & 0xff));
      EncodeValue(e.values[c], &out);
    }
  }
  PutVarint(sets_.size(), &out);
  std::string state;
  for (size_t h = 0; h < sets_.size(); ++h) {
    PutVarint(static_cast<uint64_t>(plan_->hops[h]), &out);
    PutSigned(sets_[h].pruned_before, &out);
    const std::vector<int>& specs = plan_->specs_of_hop[h];
    PutVarint(specs.size(), &out);
    for (size_t k = 0; k < specs.size(); ++k) {
      const uint32_t id = plan_->specs[static_cast<size_t>(specs[k])].id;
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((id >> (8 * i)) & 0xff));
      PutSigned(sets_[h].complete_from[k], &out);
    }
    PutVarint(sets_[h].tiles.size(), &out);
    int64_t previous = 0;
    for (const Tile& t : sets_[h].tiles) {
      PutSigned(t.index - previous, &out);
      previous = t.index;
      for (size_t k = 0; k < specs.size(); ++k) {
        state.clear();
        t.states[k].Encode(plan_->specs[static_cast<size_t>(specs[k])], &state);
        PutString(state, &out);
      }
    }
  }
  return out;
}

absl::Status EntityState::Decode(absl::string_view bytes) {
  const absl::Status corrupt = absl::DataLossError("aggregation state is truncated or corrupt");
  *this = EntityState(plan_);
  absl::string_view in = bytes;
  if (in.size() < 2) return corrupt;
  if (in[0] != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("aggregation state of format ", static_cast<int>(in[0]),
                     ", which this pantryd does not read"));
  }
  const uint8_t flags = static_cast<uint8_t>(in[1]);
  in.remove_prefix(2);
  if ((flags & 1) && !GetSigned(&in, &newest_)) return corrupt;
  if ((flags & 2) && !GetSigned(&in, &boundary_)) return corrupt;
  auto get_id = [&](uint32_t* id) {
    if (in.size() < 4) return false;
    *id = 0;
    for (int i = 3; i >= 0; --i) *id = (*id << 8) | static_cast<uint8_t>(in[i]);
    in.remove_prefix(4);
    return true;
  };
  uint64_t raw_count;
  if (!GetVarint(&in, &raw_count) || raw_count > in.size()) return corrupt;
  raw_.resize(raw_count);
  for (RawEvent& e : raw_) {
    uint64_t columns;
    if (!GetSigned(&in, &e.key.time) || !GetFixed64(&in, &e.key.id) ||
        !GetVarint(&in, &columns) || columns > in.size()) {
      return corrupt;
    }
    // Nulls for the columns the event lacks (added to the view since).
    e.values.clear();
    for (ValueType type : plan_->used_column_types) e.values.push_back(Value::Null(type));
    for (uint64_t c = 0; c < columns; ++c) {
      uint32_t id;
      if (!get_id(&id)) return corrupt;
      absl::StatusOr<size_t> size = EncodedValueSize(in);
      if (!size.ok()) return corrupt;
      const auto slot = std::find(plan_->used_column_ids.begin(), plan_->used_column_ids.end(), id);
      if (slot != plan_->used_column_ids.end()) {
        absl::StatusOr<Value> v = DecodeValue(in.substr(0, *size));
        if (!v.ok()) return corrupt;
        e.values[static_cast<size_t>(slot - plan_->used_column_ids.begin())] = *std::move(v);
      }
      in.remove_prefix(*size);
    }
  }
  uint64_t set_count;
  if (!GetVarint(&in, &set_count) || set_count > in.size()) return corrupt;
  std::vector<bool> seen_hop(plan_->hops.size(), false);
  for (uint64_t s = 0; s < set_count; ++s) {
    uint64_t hop, spec_count;
    Micros pruned_before;
    if (!GetVarint(&in, &hop) || !GetSigned(&in, &pruned_before) ||
        !GetVarint(&in, &spec_count) || spec_count > in.size()) {
      return corrupt;
    }
    const auto h_it = std::find(plan_->hops.begin(), plan_->hops.end(), static_cast<Micros>(hop));
    const int h = h_it == plan_->hops.end() ? -1 : static_cast<int>(h_it - plan_->hops.begin());
    if (h >= 0) sets_[static_cast<size_t>(h)].pruned_before = pruned_before;
    // Stored spec k -> local index in the plan's hop set, or -1.
    std::vector<int> local(spec_count, -1);
    std::vector<bool> stored(h < 0 ? 0 : plan_->specs_of_hop[static_cast<size_t>(h)].size(), false);
    for (uint64_t k = 0; k < spec_count; ++k) {
      uint32_t id;
      Micros complete_from;
      if (!get_id(&id) || !GetSigned(&in, &complete_from)) return corrupt;
      if (h < 0) continue;
      const std::vector<int>& specs = plan_->specs_of_hop[static_cast<size_t>(h)];
      for (size_t j = 0; j < specs.size(); ++j) {
        if (plan_->specs[static_cast<size_t>(specs[j])].id == id) {
          local[k] = static_cast<int>(j);
          stored[j] = true;
          sets_[static_cast<size_t>(h)].complete_from[j] = complete_from;
        }
      }
    }
    uint64_t tile_count;
    if (!GetVarint(&in, &tile_count) || tile_count > in.size()) return corrupt;
    int64_t index = 0;
    for (uint64_t t = 0; t < tile_count; ++t) {
      int64_t delta;
      if (!GetSigned(&in, &delta)) return corrupt;
      index += delta;
      Tile tile;
      tile.index = index;
      if (h >= 0) tile.states.resize(plan_->specs_of_hop[static_cast<size_t>(h)].size());
      for (uint64_t k = 0; k < spec_count; ++k) {
        uint64_t size;
        if (!GetVarint(&in, &size) || size > in.size()) return corrupt;
        absl::string_view state = in.substr(0, size);
        in.remove_prefix(size);
        if (local[k] < 0) continue;
        const TileSpec& spec = plan_->specs[static_cast<size_t>(
            plan_->specs_of_hop[static_cast<size_t>(h)][static_cast<size_t>(local[k])])];
        if (!tile.states[static_cast<size_t>(local[k])].Decode(spec, &state) || !state.empty()) {
          return corrupt;
        }
      }
      if (h >= 0) sets_[static_cast<size_t>(h)].tiles.push_back(std::move(tile));
    }
    if (h >= 0) {
      seen_hop[static_cast<size_t>(h)] = true;
      // Specs the stored state did not have know only what is folded from now on.
      for (size_t j = 0; j < stored.size(); ++j) {
        if (!stored[j] && boundary_ != kNoTimestamp) {
          sets_[static_cast<size_t>(h)].complete_from[j] =
              FloorTo(boundary_, plan_->hops[static_cast<size_t>(h)]);
        }
      }
    }
  }
  for (size_t h = 0; h < seen_hop.size(); ++h) {
    if (seen_hop[h] || boundary_ == kNoTimestamp) continue;
    for (Micros& from : sets_[h].complete_from) from = FloorTo(boundary_, plan_->hops[h]);
  }
  if (!in.empty()) return corrupt;
  return absl::OkStatus();
}

size_t SortAndDedupe(absl::Span<EntityState::RawEvent> events) {
  std::sort(events.begin(), events.end(), KeyLess);
  return static_cast<size_t>(
      std::unique(events.begin(), events.end(),
                  [](const EntityState::RawEvent& a, const EntityState::RawEvent& b) {
                    return a.key == b.key;
                  }) -
      events.begin());
}

void SortAndDedupe(std::vector<EntityState::RawEvent>* events) {
  std::sort(events->begin(), events->end(), KeyLess);
  events->erase(std::unique(events->begin(), events->end(),
                            [](const EntityState::RawEvent& a, const EntityState::RawEvent& b) {
                              return a.key == b.key;
                            }),
                events->end());
}

void EvaluateAt(const AggregationPlan& plan, absl::Span<const EntityState::RawEvent> events,
                absl::Span<const Micros> times,
                absl::FunctionRef<void(size_t, size_t, Value)> emit) {
  for (size_t h = 0; h < plan.hops.size(); ++h) {
    const Micros hop = plan.hops[h];
    const std::vector<int>& specs = plan.specs_of_hop[h];
    const std::vector<int>& outputs = plan.outputs_of_hop[h];
    std::vector<EntityState::Tile> tiles;
    // Per spec of the hop, its outputs by window, shortest first: windows
    // of one spec end together, so each is the previous one and older
    // tiles, and a walk back from the newest tile serves them all.
    std::vector<std::vector<int>> by_window(specs.size());
    for (int o : outputs) {
      by_window[static_cast<size_t>(plan.specs[static_cast<size_t>(plan.outputs[static_cast<size_t>(o)].spec)].local)]
          .push_back(o);
    }
    for (std::vector<int>& v : by_window) {
      std::sort(v.begin(), v.end(), [&](int a, int b) {
        return plan.outputs[static_cast<size_t>(a)].window < plan.outputs[static_cast<size_t>(b)].window;
      });
    }
    size_t next = 0;
    for (size_t i = 0; i < times.size(); ++i) {
      const Micros t = times[i];
      for (; next < events.size() && events[next].key.time <= t; ++next) {
        const EntityState::RawEvent& e = events[next];
        const int64_t index = FloorTo(e.key.time, hop) / hop;
        if (tiles.empty() || tiles.back().index != index) {
          EntityState::Tile tile;
          tile.index = index;
          tile.states.resize(specs.size());
          tiles.push_back(std::move(tile));
        }
        for (size_t k = 0; k < specs.size(); ++k) {
          const TileSpec& spec = plan.specs[static_cast<size_t>(specs[k])];
          tiles.back().states[k].Add(spec, ValueFor(spec, e), e.key);
        }
      }
      for (size_t k = 0; k < specs.size(); ++k) {
        const TileSpec& spec = plan.specs[static_cast<size_t>(specs[k])];
        State acc;
        size_t x = tiles.size();
        for (int o : by_window[k]) {
          const AggregationPlan::Output& out = plan.outputs[static_cast<size_t>(o)];
          const int64_t from = WindowStart(t, out.window, hop) / hop;
          for (; x > 0 && tiles[x - 1].index >= from; --x) acc.Merge(spec, tiles[x - 1].states[k]);
          emit(i, static_cast<size_t>(o), acc.Finalize(spec, out.dtype));
        }
      }
    }
  }
}

}  // namespace pantry::transform
